// What the kubectl-like commands (checkpoint, restore, status) share: flags, the kubeconfig as kubectl
// finds it, one-line errors, output as json or yaml, and following an object's status until it ends.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { z } from 'zod';
import { GROUP, VERSION } from '../api/meta.ts';
import { accessFromKubeConfig } from '../kube/access.ts';
import { KubeHttpError, streamWatch } from '../kube/http.ts';

/** A failure the user can act on: one line on stderr and a non-zero exit (2 for usage errors). */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Runs a command body: a CliError is its one line on stderr and its exit code; anything else is a
 * bug or an outage, still one line (the stack only with DEBUG set).
 */
export async function runCli(err: Writable, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof CliError) {
      err.write(`cedana-operator ${e.message}\n`);
      return e.exitCode;
    }
    err.write(`cedana-operator: unexpected error: ${process.env.DEBUG ? String((e as Error).stack ?? e) : firstLine(e)}\n`);
    return 1;
  }
}

export const OUTPUTS = ['json', 'yaml'] as const;
export type Output = (typeof OUTPUTS)[number];

/** Flags every command takes, as kubectl spells them. */
export const COMMON_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_HELP = `  -n, --namespace NS     namespace (default: the kubeconfig context's, else "default")
      --kubeconfig PATH  kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME     kubeconfig context (default: the current one)
  -o, --output FORMAT    json or yaml: print the object instead of progress lines
  -h, --help             show this help`;

/**
 * node:util parseArgs, strict, with its errors turned into one usage line. `positionals` names the
 * expected arguments, in order; none may be missing and no more may be given.
 */
export function parseCommandArgs<O extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: string[], options: O, positionals: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs' messages name the flag: "Unknown option '--foo'", "Option '-n, --namespace <value>' argument missing"
    const message = (err instanceof Error ? err.message : String(err)).split(/\n|\. /)[0] ?? '';
    throw new CliError(`${command}: ${message.replace(/\.$/, '')} (see cedana-operator ${command} --help)`, 2);
  }
  const values = parsed.values as Partial<Record<keyof O, string | boolean>>;
  if (values.help === true) return { help: true as const, values, args: [] as string[] };
  if (parsed.positionals.length < positionals.length) {
    throw new CliError(`${command}: missing ${positionals.slice(parsed.positionals.length).join(' ')} (see cedana-operator ${command} --help)`, 2);
  }
  if (parsed.positionals.length > positionals.length) {
    throw new CliError(`${command}: unexpected argument '${parsed.positionals[positionals.length] ?? ''}' (see cedana-operator ${command} --help)`, 2);
  }
  const namespace = values.namespace;
  if (typeof namespace === 'string' && !isNamespaceName(namespace)) {
    throw new CliError(`${command}: '${namespace}' is not a namespace name (lowercase letters, digits and '-', at most 63 characters)`, 2);
  }
  const output = values.output;
  if (output !== undefined && !OUTPUTS.includes(output as Output)) {
    throw new CliError(`${command}: --output must be json or yaml, not '${String(output)}'`, 2);
  }
  return { help: false as const, values, args: parsed.positionals };
}

/** A namespace name is a DNS-1123 label. */
const isNamespaceName = (s: string): boolean => s.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s);

export const stringValue = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** Go-style duration for --timeout: 90s, 5m, 1h30m, 500ms. */
export function parseTimeout(command: string, raw: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  let total = 0;
  let end = 0;
  for (let m = re.exec(raw); m; m = re.exec(raw)) {
    total += Number(m[1]) * unit[m[2] as keyof typeof unit];
    end = re.lastIndex;
  }
  if (raw === '' || end !== raw.length || total <= 0) throw new CliError(`${command}: --timeout must be a duration like 90s, 5m or 1h (got '${raw}')`, 2);
  return total;
}

export interface KubeTarget {
  kc: KubeConfig;
  namespace: string;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  /** The apiserver's URL, for error messages. */
  server: string;
}

/**
 * The kubeconfig as kubectl finds it: --kubeconfig, else $KUBECONFIG (a list of files, merged), else
 * ~/.kube/config, else in-cluster; --context picks a context; the namespace is -n, else the
 * context's, else "default".
 */
export function kubeTarget(command: string, flags: { kubeconfig?: string | undefined; context?: string | undefined; namespace?: string | undefined }): KubeTarget {
  const kc = new KubeConfig();
  try {
    if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
    else if ((process.env.KUBECONFIG ?? '') !== '' || existsSync(join(homedir(), '.kube', 'config')) || process.env.KUBERNETES_SERVICE_HOST) kc.loadFromDefault();
    else throw new CliError(`${command}: no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config`);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${command}: cannot load the kubeconfig: ${firstLine(err)}`);
  }
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) throw new CliError(`${command}: the kubeconfig has no context '${flags.context}'`, 2);
    kc.setCurrentContext(flags.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new CliError(`${command}: the kubeconfig has no current context or cluster`);
  const namespace = flags.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  if (!isNamespaceName(namespace)) {
    throw new CliError(`${command}: '${namespace}' is not a namespace name (lowercase letters, digits and '-', at most 63 characters)`, 2);
  }
  return { kc, namespace, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi), server: cluster.server };
}

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';

/** The apiserver's Status message in an ApiException body (a JSON string or an object). */
function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() === '' ? undefined : body.trim().slice(0, 300);
    }
  }
  const message = (parsed as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : undefined;
}

/**
 * One line for a failed Kubernetes call. `what` names the object for a 404 ("pod team-a/x");
 * `access` what was being done for a 403 ("read pods in namespace team-a").
 */
export function describeKubeError(err: unknown, target: Pick<KubeTarget, 'server'>, what: string, access: string): string {
  let code: number | undefined;
  let message: string | undefined;
  if (err instanceof ApiException) {
    code = err.code;
    message = statusMessage(err.body);
  } else if (err instanceof KubeHttpError) {
    code = err.statusCode;
    // "GET /path: HTTP 404: <the Status message>"
    const said = err.message.replace(/^.*?HTTP \d+: /, '');
    message = statusMessage(said) ?? (said !== '' ? said : undefined);
  }
  // A 404 without an object's name in it: the resource itself is not served.
  if (code === 404 && message === 'the server could not find the requested resource') return `cannot ${access}: the apiserver does not serve it (are the cedana.ai CRDs installed?)`;
  if (code === 404) return `${what} not found`;
  if (code === 403) return `no access: cannot ${access}${message ? ` (${message})` : ''}`;
  if (code === 401) return `the apiserver at ${target.server} does not accept the kubeconfig's credentials${message ? `: ${message}` : ''}`;
  if (code !== undefined) return `the apiserver refused to ${access} (HTTP ${String(code)})${message ? `: ${message}` : ''}`;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return `cannot reach the apiserver at ${target.server}: ${firstLine(cause ?? err)}`;
}

export const statusCode = (err: unknown): number | undefined => (err instanceof ApiException ? err.code : err instanceof KubeHttpError ? err.statusCode : undefined);

/** Runs a Kubernetes call; any failure becomes a CliError with describeKubeError's line. */
export async function kubeCall<T>(command: string, target: Pick<KubeTarget, 'server'>, what: string, access: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new CliError(`${command}: ${describeKubeError(err, target, what, access)}`);
  }
}

/** An object as -o json|yaml prints it; without managedFields, as kubectl leaves them out by default. */
export function formatDocument(obj: unknown, output: Output): string {
  let doc = obj;
  const meta = (obj as { metadata?: unknown } | null)?.metadata;
  if (meta && typeof meta === 'object' && 'managedFields' in meta) {
    const { managedFields: _omit, ...rest } = meta as Record<string, unknown>;
    doc = { ...(obj as object), metadata: rest };
  }
  return output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc, { lineWidth: 0 });
}

/** Who the apiserver records as the writer of what the commands create. */
export const CLI_FIELD_MANAGER = 'cedana-operator-cli';

/** How long ago, the way kubectl prints ages: 45s, 3m20s, 12m, 5h10m, 3d. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${String(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${String(m)}m` : `${String(m)}m${String(s % 60)}s`;
  if (m < 60) return `${String(m)}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${String(h)}h` : `${String(h)}h${String(m % 60)}m`;
  return `${String(Math.floor(h / 24))}d`;
}

/** Columns padded to their widest cell, two spaces apart, as kubectl get prints them. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

export interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Progress of a status that moves. On a terminal one line, rewritten in place with the time spent;
 * otherwise a plain line for each change, so that logs and pipes read well.
 */
export class Progress {
  private readonly out: Writable;
  private readonly started = Date.now();
  private current = '';
  private timer: NodeJS.Timeout | undefined;
  constructor(out: Writable) {
    this.out = out;
    if (out.isTTY) {
      this.timer = setInterval(() => {
        this.render();
      }, 1000);
      this.timer.unref();
    }
  }

  update(line: string): void {
    if (line === this.current) return;
    this.current = line;
    if (this.out.isTTY) this.render();
    else this.out.write(`${line}\n`);
  }

  /** Ends the live line (a terminal keeps the last state on screen) and stops the clock. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.out.isTTY && this.current !== '') this.out.write('\n');
  }

  private render(): void {
    if (this.current === '') return;
    const line = `${this.current}  ${formatAge(Date.now() - this.started)}`;
    const width = this.out.columns ?? 0;
    const fitted = width > 1 && line.length >= width ? `${line.slice(0, width - 2)}…` : line;
    this.out.write(`\r\x1b[2K${fitted}`);
  }
}

export const crPath = (namespace: string, plural: string): string => `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural}`;

export interface FollowOptions<T> {
  target: KubeTarget;
  plural: string;
  name: string;
  schema: z.ZodType<T>;
  /** Called with every version of the object seen; returns true once it has reached its end. */
  onChange: (obj: T) => boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Follows one custom object until onChange says it is done: a GET, then a watch from that
 * resourceVersion, again after the watch ends or expires (410). Resolves to the last version seen
 * and whether it was the end (false on timeout or abort).
 */
export async function follow<T>(o: FollowOptions<T>): Promise<{ last: T | undefined; done: boolean }> {
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  let last: T | undefined;
  let done = false;
  /** Records a version; true once it is the end. */
  const seen = (obj: T): boolean => {
    last = obj;
    done = o.onChange(obj);
    return done;
  };
  const finished = (): boolean => done || signal.aborted;
  while (!finished()) {
    const raw = (await o.target.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: o.target.namespace, plural: o.plural, name: o.name })) as unknown;
    if (seen(o.schema.parse(raw))) break;
    const rv = (raw as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    const ended = new AbortController();
    try {
      await streamWatch(
        accessFromKubeConfig(o.target.kc),
        crPath(o.target.namespace, o.plural),
        { fieldSelector: `metadata.name=${o.name}`, ...(rv ? { resourceVersion: rv } : {}), timeoutSeconds: '60' },
        AbortSignal.any([signal, ended.signal]),
        (type, obj) => {
          if (finished() || (type !== 'ADDED' && type !== 'MODIFIED')) return;
          const parsed = o.schema.safeParse(obj);
          if (parsed.success && seen(parsed.data)) ended.abort();
        },
      );
    } catch (err) {
      // Not allowed to watch (get alone is not enough), or the kind is not served: retrying cannot help.
      const code = statusCode(err);
      if (code === 401 || code === 403 || code === 404) throw err;
      // 410: the resourceVersion is too old, list again at once; otherwise the next GET says what is wrong.
      if (!finished() && code !== 410) await sleep(500, undefined, { signal }).catch(() => undefined);
    }
  }
  return { last, done };
}

export interface WaitOptions<T extends { metadata: { name: string }; status?: { phase?: string | undefined } | undefined }> {
  command: string;
  target: KubeTarget;
  plural: string;
  kind: string;
  created: T;
  schema: z.ZodType<T>;
  /** The progress line of one version. */
  line: (obj: T) => string;
  isDone: (obj: T) => boolean;
  /** The closing line of a finished object, and whether it succeeded (a failure's line goes to stderr). */
  outcome: (obj: T) => { ok: boolean; line: string };
  timeoutMs: number;
  output: Output | undefined;
  out: Writable;
  err: Writable;
}

/**
 * --wait: follows the object with a live line (or plain lines), then prints its closing line (and
 * the object with --output). 0 on success, 1 when it failed or the wait timed out, 130 on Ctrl-C.
 */
export async function waitForEnd<T extends { metadata: { name: string }; status?: { phase?: string | undefined } | undefined }>(w: WaitOptions<T>): Promise<number> {
  const human = w.output === undefined ? w.out : w.err;
  const progress = new Progress(human);
  const interrupted = new AbortController();
  const onSigint = (): void => {
    interrupted.abort();
  };
  process.once('SIGINT', onSigint);
  const ref = `${w.kind} ${w.target.namespace}/${w.created.metadata.name}`;
  let result;
  try {
    result = await kubeCall(w.command, w.target, ref, `watch ${w.plural} in namespace ${w.target.namespace}`, () =>
      follow({
        target: w.target,
        plural: w.plural,
        name: w.created.metadata.name,
        schema: w.schema,
        timeoutMs: w.timeoutMs,
        signal: interrupted.signal,
        onChange: (obj) => {
          progress.update(w.line(obj));
          return w.isDone(obj);
        },
      }),
    );
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
  }
  const last = result.last ?? w.created;
  if (w.output) w.out.write(formatDocument(last, w.output));
  if (!result.done) {
    const stop = interrupted.signal.aborted ? 'interrupted' : `timed out after ${formatAge(w.timeoutMs)}`;
    const hint = last.status ? '' : ' (no status yet: is the operator running and watching this namespace?)';
    throw new CliError(`${w.command}: ${stop} waiting for ${ref}: still ${last.status?.phase ?? 'Pending'}${hint}; it carries on without us`, interrupted.signal.aborted ? 130 : 1);
  }
  const outcome = w.outcome(last);
  if (!outcome.ok) throw new CliError(`${w.command}: ${outcome.line}`);
  human.write(`${outcome.line}\n`);
  return 0;
}
