// Operator configuration from flags and environment, validated with zod. Anything missing or
// malformed stops start-up with one line that names the setting (never its secret value).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseDuration } from './duration.ts';
import { DEFAULT_EARLY_TAINTS, DEFAULT_TERMINATING_TAINTS } from '../controllers/node-signals.ts';
import { DEFAULT_EVICTION_HOLD_MAX_MS } from '../webhook/eviction-hold.ts';

const duration = (min: number) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const ms = typeof v === 'number' ? v : parseDuration(v);
    if (ms === undefined || ms < min) {
      ctx.addIssue({ code: 'custom', message: `must be a duration like 500ms, 2s or 1m (at least ${min}ms), got "${String(v)}"` });
      return z.NEVER;
    }
    return ms;
  });

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[\w.-]*):\d{1,5}$/, { message: 'must be HOST:PORT, e.g. 127.0.0.1:8080 or :8080' });

export const ConfigSchema = z.object({
  cedanaUrl: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL, e.g. https://<org>.cedana.ai' }),
  cedanaToken: z.string().min(1, { message: 'is required: set CEDANA_AUTH_TOKEN, or --cedana-token-file / CEDANA_AUTH_TOKEN_FILE' }),
  clusterId: z.string().min(1, { message: 'is required: set CEDANA_CLUSTER_ID or --cluster-id (Cedana issues it when the cluster is registered)' }),
  cedanaCaFile: z.string().optional(),
  cedanaTimeout: duration(100).default(10_000),
  namespaces: z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'must be namespace names' })).default([]),
  workers: intFrom(1, 256).default(16),
  pollInterval: duration(50).default(1_000),
  pollIntervalMax: duration(50).default(10_000),
  restoredPodTimeout: duration(1000).default(300_000),
  cedanaSyncWindow: duration(0).default(120_000),
  leaderElect: z.boolean().default(true),
  leaseNamespace: z.string().min(1).default('default'),
  leaseName: z.string().min(1).default('cedana-operator-leader'),
  identity: z.string().min(1),
  httpBindAddress: hostPort.default('127.0.0.1:8081'),
  terminatingTaints: z.array(z.string().regex(/^[\w./-]+(=[\w./-]*)?$/, { message: 'must be taint keys, or key=value' })).default(DEFAULT_TERMINATING_TAINTS),
  earlyTaints: z.array(z.string().regex(/^[\w./-]+(=[\w./-]*)?$/, { message: 'must be taint keys, or key=value' })).default(DEFAULT_EARLY_TAINTS),
  labelHeartbeatKeepLast: intFrom(1, 1000).default(3),
  nodeNotReadyGrace: duration(1000).default(300_000),
  terminationConcurrency: intFrom(1, 1024).default(32),
  minHeartbeatInterval: duration(100).default(60_000),
  // Who acts on Cedana's pod labels (cedana.ai/node-restore, cedana.ai/heartbeat-checkpoint). Cedana's
  // chart always runs Cedana's controller, which acts on them: the operator leaves them to it unless told.
  cedanaLabels: z.enum(['honour', 'ignore'], { message: "must be honour (the operator acts on Cedana's pod labels) or ignore (Cedana's controller does)" }).default('ignore'),
  // The eviction hold (src/webhook): off unless asked for; the chart turns it on.
  webhook: z.boolean().default(false),
  evictionHoldMax: duration(0).default(DEFAULT_EVICTION_HOLD_MAX_MS),
  webhookBindAddress: hostPort.default('127.0.0.1:9443'),
  webhookCertMode: z.enum(['self', 'files'], { message: 'must be self (the operator manages its certificate) or files (--webhook-cert-dir, e.g. from cert-manager)' }).default('self'),
  webhookCertDir: z.string().min(1).default('/tmp/k8s-webhook-server/serving-certs'),
  webhookSecretName: z.string().min(1).default('cedana-operator-webhook-tls'),
  webhookServiceName: z.string().min(1).default('cedana-operator-webhook'),
  webhookConfigName: z.string().min(1).default('cedana-operator'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  kubeconfig: z.string().optional(),
});
export type Config = z.infer<typeof ConfigSchema>;

export const RUN_HELP = `Usage: cedana-operator run [flags]

Runs the operator against the cluster of the current kubeconfig (or in-cluster). Every flag can
also be given by its environment variable.

  --cedana-url URL            CEDANA_URL            Cedana API base URL (required)
  --cedana-token-file PATH    CEDANA_AUTH_TOKEN_FILE  file holding the token (or CEDANA_AUTH_TOKEN)
  --cluster-id ID             CEDANA_CLUSTER_ID     cluster id issued by Cedana (required)
  --cedana-ca-file PATH       CEDANA_CA_FILE        PEM bundle for a Cedana behind a private CA
  --cedana-timeout DUR        CEDANA_TIMEOUT        per-request timeout (default 10s)
  --namespaces a,b            WATCH_NAMESPACES      namespaces to watch (default: all)
  --workers N                 WORKERS               concurrent reconciles per controller (default 16)
  --poll-interval DUR         POLL_INTERVAL         first wait between Cedana status polls (default 1s)
  --poll-interval-max DUR     POLL_INTERVAL_MAX     longest wait between polls (default 10s)
  --restored-pod-timeout DUR  RESTORED_POD_TIMEOUT  how long to wait for the restored pod (default 5m)
  --cedana-sync-window DUR    CEDANA_SYNC_WINDOW    a pod younger than this that Cedana does not find yet
                                                    (404 "Failed to find checkpointable resource") is
                                                    retried, not failed (default 2m)
  --leader-elect BOOL         LEADER_ELECT          elect a leader on a Lease (default true)
  --lease-namespace NS        POD_NAMESPACE         namespace of the Lease (default: default)
  --lease-name NAME           LEASE_NAME            (default cedana-operator-leader)
  --identity ID               POD_NAME              this replica's identity (default: hostname-pid)
  --http-bind-address H:P     HTTP_BIND_ADDRESS     /metrics, /healthz, /readyz (default 127.0.0.1:8081)
  --terminating-taints LIST   TERMINATING_TAINTS    taints (key or key=value) that mean "node going away"
                                                    (default: AWS NTH, Karpenter, cluster-autoscaler, GCP, out-of-service, shutdown)
  --early-checkpoint-taints LIST EARLY_CHECKPOINT_TAINTS  soft cues: checkpoint early, no restore
                                                    (default DeletionCandidateOfClusterAutoscaler)
  --label-heartbeat-keep-last N LABEL_HEARTBEAT_KEEP_LAST  Ready heartbeat checkpoints kept per
                                                    label-protected pod (default 3)
  --node-not-ready-grace DUR  NODE_NOT_READY_GRACE  NotReady this long counts as gone without notice (default 5m)
  --termination-concurrency N TERMINATION_CONCURRENCY  PodCheckpoints created at once for one node (default 32)
  --min-heartbeat-interval DUR MIN_HEARTBEAT_INTERVAL  shortest heartbeat a policy may ask for (default 1m)
  --cedana-labels MODE        CEDANA_LABELS         who acts on the pod labels cedana.ai/node-restore and
                                                    cedana.ai/heartbeat-checkpoint: ignore (Cedana's own controller,
                                                    which Cedana's chart always runs) or honour (this operator, where
                                                    nothing else does) (default ignore)
  --webhook BOOL              WEBHOOK               serve the eviction-hold admission webhook (default false; the chart: true)
  --eviction-hold-max DUR     EVICTION_HOLD_MAX     longest hold of a protected pod's eviction, from its checkpoint's
                                                    creation (default 20s: with a drainer's 5 s retry, inside a 30 s notice)
  --webhook-bind-address H:P  WEBHOOK_BIND_ADDRESS  HTTPS for the webhook (default 127.0.0.1:9443; the chart: :9443)
  --webhook-cert-mode MODE    WEBHOOK_CERT_MODE     self (a CA and certificate the operator keeps in a Secret) or
                                                    files (tls.crt/tls.key in --webhook-cert-dir, e.g. cert-manager's) (default self)
  --webhook-cert-dir PATH     WEBHOOK_CERT_DIR      (default /tmp/k8s-webhook-server/serving-certs)
  --webhook-secret-name NAME  WEBHOOK_SECRET_NAME   the Secret of self mode, in POD_NAMESPACE (default cedana-operator-webhook-tls)
  --webhook-service-name NAME WEBHOOK_SERVICE_NAME  the webhook's Service, named in the certificate (default cedana-operator-webhook)
  --webhook-config-name NAME  WEBHOOK_CONFIG_NAME   the ValidatingWebhookConfiguration whose CA bundle self mode keeps (default cedana-operator)
  --log-level LEVEL           LOG_LEVEL             trace|debug|info|warn|error (default info)
  --kubeconfig PATH           KUBECONFIG            kubeconfig (default: in-cluster, then ~/.kube/config)
`;

const HOW_TO_SET: Record<string, string> = {
  cedanaUrl: '--cedana-url or CEDANA_URL',
  clusterId: '--cluster-id or CEDANA_CLUSTER_ID, issued by Cedana when the cluster is registered',
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Flags win over environment variables. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        'cedana-url': { type: 'string' },
        'cedana-token-file': { type: 'string' },
        'cluster-id': { type: 'string' },
        'cedana-ca-file': { type: 'string' },
        'cedana-timeout': { type: 'string' },
        namespaces: { type: 'string' },
        workers: { type: 'string' },
        'poll-interval': { type: 'string' },
        'poll-interval-max': { type: 'string' },
        'restored-pod-timeout': { type: 'string' },
        'cedana-sync-window': { type: 'string' },
        'leader-elect': { type: 'string' },
        'lease-namespace': { type: 'string' },
        'lease-name': { type: 'string' },
        identity: { type: 'string' },
        'http-bind-address': { type: 'string' },
        'log-level': { type: 'string' },
        'terminating-taints': { type: 'string' },
        'node-not-ready-grace': { type: 'string' },
        'early-checkpoint-taints': { type: 'string' },
        'label-heartbeat-keep-last': { type: 'string' },
        'termination-concurrency': { type: 'string' },
        'min-heartbeat-interval': { type: 'string' },
        'cedana-labels': { type: 'string' },
        webhook: { type: 'string' },
        'eviction-hold-max': { type: 'string' },
        'webhook-bind-address': { type: 'string' },
        'webhook-cert-mode': { type: 'string' },
        'webhook-cert-dir': { type: 'string' },
        'webhook-secret-name': { type: 'string' },
        'webhook-service-name': { type: 'string' },
        'webhook-config-name': { type: 'string' },
        kubeconfig: { type: 'string' },
      },
    }));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const pick = (flag: string, ...envs: string[]): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string') return v;
    for (const name of envs) if (env[name] !== undefined && env[name] !== '') return env[name];
    return undefined;
  };
  const tokenFile = pick('cedana-token-file', 'CEDANA_AUTH_TOKEN_FILE');
  let token = (env.CEDANA_AUTH_TOKEN ?? '').trim();
  if (tokenFile) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`cedanaToken: cannot read ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const leaderElect = pick('leader-elect', 'LEADER_ELECT');
  if (leaderElect !== undefined && !['true', 'false'].includes(leaderElect)) throw new ConfigError(`leaderElect: must be true or false, got "${leaderElect}"`);
  const namespaces = pick('namespaces', 'WATCH_NAMESPACES');
  const webhook = pick('webhook', 'WEBHOOK');
  if (webhook !== undefined && !['true', 'false'].includes(webhook)) throw new ConfigError(`webhook: must be true or false, got "${webhook}"`);
  const raw = {
    cedanaUrl: pick('cedana-url', 'CEDANA_URL'),
    cedanaToken: token,
    clusterId: pick('cluster-id', 'CEDANA_CLUSTER_ID'),
    cedanaCaFile: pick('cedana-ca-file', 'CEDANA_CA_FILE'),
    cedanaTimeout: pick('cedana-timeout', 'CEDANA_TIMEOUT'),
    namespaces: namespaces
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    workers: pick('workers', 'WORKERS'),
    pollInterval: pick('poll-interval', 'POLL_INTERVAL'),
    pollIntervalMax: pick('poll-interval-max', 'POLL_INTERVAL_MAX'),
    restoredPodTimeout: pick('restored-pod-timeout', 'RESTORED_POD_TIMEOUT'),
    cedanaSyncWindow: pick('cedana-sync-window', 'CEDANA_SYNC_WINDOW'),
    leaderElect: leaderElect === undefined ? undefined : leaderElect === 'true',
    leaseNamespace: pick('lease-namespace', 'POD_NAMESPACE'),
    leaseName: pick('lease-name', 'LEASE_NAME'),
    identity: pick('identity', 'POD_NAME') ?? `${hostname()}-${process.pid}`,
    httpBindAddress: pick('http-bind-address', 'HTTP_BIND_ADDRESS'),
    logLevel: pick('log-level', 'LOG_LEVEL'),
    terminatingTaints: pick('terminating-taints', 'TERMINATING_TAINTS')
      ?.split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    nodeNotReadyGrace: pick('node-not-ready-grace', 'NODE_NOT_READY_GRACE'),
    earlyTaints: pick('early-checkpoint-taints', 'EARLY_CHECKPOINT_TAINTS')
      ?.split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    labelHeartbeatKeepLast: pick('label-heartbeat-keep-last', 'LABEL_HEARTBEAT_KEEP_LAST'),
    terminationConcurrency: pick('termination-concurrency', 'TERMINATION_CONCURRENCY'),
    minHeartbeatInterval: pick('min-heartbeat-interval', 'MIN_HEARTBEAT_INTERVAL'),
    cedanaLabels: pick('cedana-labels', 'CEDANA_LABELS'),
    webhook: webhook === undefined ? undefined : webhook === 'true',
    evictionHoldMax: pick('eviction-hold-max', 'EVICTION_HOLD_MAX'),
    webhookBindAddress: pick('webhook-bind-address', 'WEBHOOK_BIND_ADDRESS'),
    webhookCertMode: pick('webhook-cert-mode', 'WEBHOOK_CERT_MODE'),
    webhookCertDir: pick('webhook-cert-dir', 'WEBHOOK_CERT_DIR'),
    webhookSecretName: pick('webhook-secret-name', 'WEBHOOK_SECRET_NAME'),
    webhookServiceName: pick('webhook-service-name', 'WEBHOOK_SERVICE_NAME'),
    webhookConfigName: pick('webhook-config-name', 'WEBHOOK_CONFIG_NAME'),
    kubeconfig: pick('kubeconfig', 'KUBECONFIG'),
  };
  const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const parsed = ConfigSchema.safeParse(defined);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const field = first?.path.join('.') ?? 'config';
    // Missing means the setting was not given at all, not that it failed to parse.
    const missing = first !== undefined && !(String(first.path[0]) in defined);
    throw new ConfigError(`${field}: ${missing ? `is required (${HOW_TO_SET[field] ?? 'see cedana-operator run --help'})` : (first?.message ?? 'invalid')}`);
  }
  if (parsed.data.pollIntervalMax < parsed.data.pollInterval) throw new ConfigError('pollIntervalMax: must not be shorter than pollInterval');
  return parsed.data;
}
