// How the operator reaches the apiserver: its URL, one TLS connection pool, and the credentials of
// each request. The kubeconfig (or the pod's service account) is read here, by our own code, for
// the credentials a Deployment and a local cluster use: a token or token file, client certificates,
// basic auth, a CA. Why not client-node's KubeConfig: importing @kubernetes/client-node costs a
// process 85 MiB of RSS and 0.4 s before it can start (its generated models load with any part of
// it), more than half of what the operator may use at 10,000 pods (docs/architecture.md). What a
// kubeconfig may hold beyond that (exec plugins, auth providers, proxies, impersonation) is handed
// to client-node's KubeConfig, imported only then.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export interface PreparedRequest {
  headers: Record<string, string>;
  dispatcher: Dispatcher | undefined;
}

export interface KubeAccess {
  /** The apiserver's base URL, without a trailing slash. */
  readonly server: string;
  /** Where the credentials come from, for logs (never the credentials themselves). */
  readonly source: string;
  /** The credentials and the connection pool for one request to `url`. */
  prepare(url: URL, method: string): Promise<PreparedRequest>;
  /** Closes the connection pool (requests in flight, watches included, finish first). */
  close(): Promise<void>;
}

export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

// ---------------------------------------------------------------------------------------------
// The kubeconfig, as kubectl reads it (the keys this module uses; the rest is kept for the check
// of what it cannot do itself).

const Cluster = z.looseObject({
  server: z.string().min(1, 'a cluster needs a server'),
  'certificate-authority': z.string().optional(),
  'certificate-authority-data': z.string().optional(),
  'insecure-skip-tls-verify': z.boolean().optional(),
  'tls-server-name': z.string().optional(),
});
const User = z.looseObject({
  token: z.string().optional(),
  tokenFile: z.string().optional(),
  'client-certificate': z.string().optional(),
  'client-certificate-data': z.string().optional(),
  'client-key': z.string().optional(),
  'client-key-data': z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
});
const Context = z.looseObject({ cluster: z.string(), user: z.string().optional(), namespace: z.string().optional() });
export const KubeconfigFile = z.looseObject({
  clusters: z.array(z.looseObject({ name: z.string(), cluster: Cluster.nullish() })).nullish(),
  users: z.array(z.looseObject({ name: z.string(), user: User.nullish() })).nullish(),
  contexts: z.array(z.looseObject({ name: z.string(), context: Context.nullish() })).nullish(),
  'current-context': z.string().nullish(),
});

/** Keys that need client-node: credentials it computes, or a connection it shapes. */
const DELEGATED_USER_KEYS = ['exec', 'auth-provider', 'as', 'as-uid', 'as-groups', 'as-user-extra'];
const DELEGATED_CLUSTER_KEYS = ['proxy-url'];

interface ResolvedConfig {
  cluster: z.infer<typeof Cluster>;
  user: z.infer<typeof User>;
  /** Relative file names in the kubeconfig are relative to the file that named them: the cluster's and the user's may differ. */
  clusterDir: string;
  userDir: string;
  /** The context chosen: the argument, else the first current-context. */
  context: string;
  delegate: string | undefined;
}

/** Reads one or more kubeconfig files, merged as kubectl merges $KUBECONFIG (the first to name a thing wins). */
function readKubeconfig(paths: string[], context: string | undefined): ResolvedConfig {
  const clusters = new Map<string, { cluster: z.infer<typeof Cluster>; baseDir: string }>();
  const users = new Map<string, { user: z.infer<typeof User>; baseDir: string }>();
  const contexts = new Map<string, z.infer<typeof Context>>();
  let current = context;
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new KubeConfigError(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      throw new KubeConfigError(`kubeconfig ${path} is not YAML: ${(err as Error).message}`);
    }
    const parsed = KubeconfigFile.safeParse(raw);
    if (!parsed.success) throw new KubeConfigError(`kubeconfig ${path} is not a kubeconfig: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const baseDir = dirname(resolve(path));
    for (const c of parsed.data.clusters ?? []) if (c.cluster && !clusters.has(c.name)) clusters.set(c.name, { cluster: c.cluster, baseDir });
    for (const u of parsed.data.users ?? []) if (!users.has(u.name)) users.set(u.name, { user: u.user ?? {}, baseDir });
    for (const c of parsed.data.contexts ?? []) if (c.context && !contexts.has(c.name)) contexts.set(c.name, c.context);
    current ||= parsed.data['current-context'] ?? undefined;
  }
  const where = paths.join(':');
  if (!current) throw new KubeConfigError(`kubeconfig ${where} has no current-context`);
  const ctx = contexts.get(current);
  if (!ctx) throw new KubeConfigError(`kubeconfig ${where} has no context '${current}'`);
  const cluster = clusters.get(ctx.cluster);
  if (!cluster) throw new KubeConfigError(`kubeconfig ${where}: context '${current}' names cluster '${ctx.cluster}', which it does not have`);
  const user = ctx.user ? users.get(ctx.user) : undefined;
  if (ctx.user && !user) throw new KubeConfigError(`kubeconfig ${where}: context '${current}' names user '${ctx.user}', which it does not have`);
  const delegated = [
    ...DELEGATED_USER_KEYS.filter((k) => user?.user[k] !== undefined).map((k) => `user.${k}`),
    ...DELEGATED_CLUSTER_KEYS.filter((k) => cluster.cluster[k] !== undefined).map((k) => `cluster.${k}`),
  ];
  return {
    cluster: cluster.cluster,
    user: user?.user ?? {},
    clusterDir: cluster.baseDir,
    userDir: user?.baseDir ?? cluster.baseDir,
    context: current,
    delegate: delegated.length > 0 ? delegated.join(', ') : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Static credentials: one Agent, renewed every 5 minutes so that rotated CA and certificate files
// are read again (the old one closes once its requests are done); token files are re-read every
// minute, as client-go does for a projected service-account token.

const AGENT_MAX_AGE_MS = 5 * 60_000;
const TOKEN_FILE_MAX_AGE_MS = 60_000;

interface TlsMaterial {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  rejectUnauthorized: boolean;
  servername?: string | undefined;
}

class StaticAccess implements KubeAccess {
  readonly server: string;
  readonly source: string;
  private readonly tls: () => TlsMaterial;
  private readonly authorization: () => string | undefined;
  private agent: { agent: Agent; since: number } | undefined;

  constructor(server: string, source: string, tls: () => TlsMaterial, authorization: () => string | undefined) {
    this.server = server.replace(/\/+$/, '');
    this.source = source;
    this.tls = tls;
    this.authorization = authorization;
    this.dispatcher(); // reads the files now: a missing CA or key is an error at start, not at the first request
  }

  prepare(): Promise<PreparedRequest> {
    const auth = this.authorization();
    return Promise.resolve({ headers: auth ? { authorization: auth } : {}, dispatcher: this.dispatcher() });
  }

  private dispatcher(): Agent {
    if (this.agent && Date.now() - this.agent.since < AGENT_MAX_AGE_MS) return this.agent.agent;
    const old = this.agent?.agent;
    let t: TlsMaterial;
    try {
      t = this.tls();
    } catch (err) {
      // A file in the middle of its rotation: keep the connections we have, and read it again in a minute.
      if (!this.agent) throw err;
      this.agent.since = Date.now() - AGENT_MAX_AGE_MS + 60_000;
      return this.agent.agent;
    }
    // bodyTimeout 0: a watch may be quiet for minutes; the informer's watchdog decides when it is dead.
    const agent = new Agent({ bodyTimeout: 0, connect: { ...t, ...(t.servername ? { servername: t.servername } : {}) } });
    this.agent = { agent, since: Date.now() };
    old?.close().catch(() => undefined);
    return agent;
  }

  async close(): Promise<void> {
    await this.agent?.agent.close();
  }
}

/** A value inline (base64) or in a file (relative to the kubeconfig), read again at every call. */
function material(data: string | undefined, file: string | undefined, baseDir: string, what: string): (() => string) | undefined {
  if (data) {
    const text = Buffer.from(data, 'base64').toString('utf8');
    return () => text;
  }
  if (!file) return undefined;
  const path = resolve(baseDir, file);
  return () => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new KubeConfigError(`cannot read the ${what} ${path}: ${(err as Error).message}`);
    }
  };
}

function tokenFromFile(path: string): () => string {
  let cached: { token: string; at: number } | undefined;
  return () => {
    if (cached && Date.now() - cached.at < TOKEN_FILE_MAX_AGE_MS) return cached.token;
    try {
      cached = { token: readFileSync(path, 'utf8').trim(), at: Date.now() };
    } catch (err) {
      // A token file rotated under us: keep the last token until the file is back.
      if (!cached) throw new KubeConfigError(`cannot read the token file ${path}: ${(err as Error).message}`);
    }
    return cached.token;
  };
}

function staticFromKubeconfig(r: ResolvedConfig, source: string): KubeAccess {
  const { cluster, user, clusterDir, userDir } = r;
  const ca = material(cluster['certificate-authority-data'], cluster['certificate-authority'], clusterDir, 'certificate authority');
  const cert = material(user['client-certificate-data'], user['client-certificate'], userDir, 'client certificate');
  const key = material(user['client-key-data'], user['client-key'], userDir, 'client key');
  if (Boolean(cert) !== Boolean(key)) throw new KubeConfigError(`kubeconfig ${source}: a client certificate needs its key, and a key its certificate`);
  let authorization: () => string | undefined = () => undefined;
  if (user.token) {
    const header = `Bearer ${user.token}`;
    authorization = () => header;
  } else if (user.tokenFile) {
    const read = tokenFromFile(resolve(userDir, user.tokenFile));
    read(); // no token: an error at start (as client-go's clientcmd reads it), not at the first request
    authorization = () => `Bearer ${read()}`;
  } else if (user.username !== undefined || user.password !== undefined) {
    const header = `Basic ${Buffer.from(`${user.username ?? ''}:${user.password ?? ''}`).toString('base64')}`;
    authorization = () => header;
  }
  const tls = (): TlsMaterial => ({
    ca: ca?.(),
    cert: cert?.(),
    key: key?.(),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    servername: cluster['tls-server-name'],
  });
  return new StaticAccess(cluster.server, source, tls, authorization);
}

/** The pod's service account, as client-go's rest.InClusterConfig reads it. */
function inClusterAccess(): KubeAccess {
  const host = process.env.KUBERNETES_SERVICE_HOST ?? '';
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const token = tokenFromFile(`${SERVICE_ACCOUNT_DIR}/token`);
  token(); // no token: an error at start
  const ca = material(undefined, `${SERVICE_ACCOUNT_DIR}/ca.crt`, '/', 'certificate authority');
  return new StaticAccess(
    server,
    'in-cluster service account',
    () => ({ ca: ca?.(), rejectUnauthorized: true }),
    () => `Bearer ${token()}`,
  );
}

const inCluster = (): boolean => (process.env.KUBERNETES_SERVICE_HOST ?? '') !== '' && existsSync(`${SERVICE_ACCOUNT_DIR}/token`);

// ---------------------------------------------------------------------------------------------
// Delegated: client-node's KubeConfig computes each request's credentials and dispatcher.

type ClientNode = typeof import('@kubernetes/client-node');
let clientNode: Promise<ClientNode> | undefined;
const loadClientNode = (): Promise<ClientNode> => (clientNode ??= import('@kubernetes/client-node'));
let sharing: Promise<typeof import('./client-node.ts')> | undefined;
const loadSharing = (): Promise<typeof import('./client-node.ts')> => (sharing ??= import('./client-node.ts'));

class DelegatedAccess implements KubeAccess {
  readonly server: string;
  readonly source: string;
  private readonly kc: () => Promise<KubeConfig>;

  constructor(server: string, source: string, kc: () => Promise<KubeConfig>) {
    this.server = server.replace(/\/+$/, '');
    this.source = source;
    this.kc = kc;
  }

  async prepare(url: URL, method: string): Promise<PreparedRequest> {
    const [{ RequestContext, HttpMethod }, { reuseConnections }, kc] = await Promise.all([loadClientNode(), loadSharing(), this.kc()]);
    // client-node makes an Agent (a TLS connection) per request; the tools' fix shares one.
    reuseConnections(kc);
    const ctx = new RequestContext(url.toString(), HttpMethod[method as keyof typeof HttpMethod]);
    await kc.applySecurityAuthentication(ctx);
    return { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Access through a KubeConfig the caller already holds (the CLI, the simulator, tests). */
export function accessFromKubeConfig(kc: KubeConfig): KubeAccess {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError('kubeconfig has no current cluster');
  return new DelegatedAccess(cluster.server, `kubeconfig context ${kc.getCurrentContext()}`, () => Promise.resolve(kc));
}

// ---------------------------------------------------------------------------------------------

/**
 * The apiserver of `path` (a kubeconfig, or several joined by ':'), else of $KUBECONFIG, else the
 * pod's service account, else ~/.kube/config: controller-runtime's order. Throws KubeConfigError
 * with what is wrong.
 */
export function loadKubeAccess(path?: string, context?: string): KubeAccess {
  const explicit = path || process.env.KUBECONFIG || '';
  if (explicit === '' && inCluster() && !context) return inClusterAccess();
  const home = `${homedir()}/.kube/config`;
  const paths = explicit !== '' ? explicit.split(':').filter((p) => p !== '') : [home];
  if (explicit === '' && !existsSync(home)) throw new KubeConfigError(`no kubeconfig: not in a pod (no KUBERNETES_SERVICE_HOST and ${SERVICE_ACCOUNT_DIR}/token), no $KUBECONFIG, no ${home}`);
  const resolved = readKubeconfig(paths, context);
  const source = `kubeconfig ${paths.join(':')}`;
  if (!resolved.delegate) return staticFromKubeconfig(resolved, source);
  const kc = async (): Promise<KubeConfig> => {
    const { KubeConfig } = await loadClientNode();
    // Merged as readKubeconfig merged them, kubectl's way: the first file to name a cluster, user or
    // context wins, and so does the context chosen there. (client-node's loadFromDefault throws on a
    // name two files share, and lets the last current-context win: another context's credentials
    // sent to this server.)
    const merged = new KubeConfig();
    for (const p of paths) {
      const one = new KubeConfig();
      one.loadFromFile(p); // makes its relative file names absolute against its own directory
      for (const c of one.clusters) if (!merged.getCluster(c.name)) merged.addCluster(c);
      for (const u of one.users) if (!merged.getUser(u.name)) merged.addUser(u);
      for (const c of one.contexts) if (!merged.getContextObject(c.name)) merged.addContext(c);
    }
    merged.setCurrentContext(resolved.context);
    return merged;
  };
  let once: Promise<KubeConfig> | undefined;
  return new DelegatedAccess(resolved.cluster.server, `${source} (${resolved.delegate} through client-node)`, () => (once ??= kc()));
}
