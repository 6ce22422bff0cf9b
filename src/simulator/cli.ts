// `cedana-operator simulator`: serve the Cedana API simulator until SIGINT/SIGTERM.
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Faults, NO_FAULTS, type FaultsPatch } from './faults.ts';
import type { SimulatorHooks } from './lifecycle.ts';
import { Profile } from './profile.ts';
import { startSimulator } from './server.ts';

const HELP = `Usage: cedana-operator simulator [options]

Serves a local Cedana API simulator (every v2 endpoint, GET /v1/checkpoints/{id}, GET /v2/user and
/v2/cluster), with admin endpoints under /_sim/ (faults, stats, reset). See docs/simulator.md.

Options:
  --listen HOST:PORT            Address to listen on (default 127.0.0.1:8080; port 0 = any free port)
  --profile NAME                reference (default): the reference pages; service: the real service's
                                ways (/v1 paths too, real action types, {message} errors, ...)
  --kubeconfig PATH             Play Cedana's in-cluster side on that cluster: a checkpoint needs its
                                pod, a finished restore creates the pod
  --sync-lag-ms N               Service profile with --kubeconfig: pods younger than N ms are not
                                found yet (404 "Failed to find checkpointable resource"; default 2000)
  --token TOKEN                 Bearer token clients must send (default: env CEDANA_AUTH_TOKEN; required)
  --step-ms N                   Time each action status step takes, in ms (default 300)
  --allow-remote                Allow a non-loopback --listen address
  --log-level LEVEL             pino level: trace, debug, info, warn, error, fatal, silent (default info)
Fault injection (all default to 0 / off; also settable at run time with PUT /_sim/faults):
  --latency-ms N                Latency added to every answer
  --jitter-ms N                 Extra latency drawn from [0, N)
  --error-rate F                Share of requests answered 500/503
  --rate-limit-rate F           Share of requests answered 429
  --retry-after N               Retry-After seconds of 429 answers (default 1)
  --hang-rate F                 Share of requests never answered
  --drop-rate F                 Share of connections dropped before anything happens
  --drop-after-commit-rate F    Share of requests that take effect but lose their answer
  --malformed-rate F            Share of requests that take effect but get a malformed 200 answer
  --malformed-kinds LIST        Which: contentType,truncated,notJson,schema,emptyId (default all)
  --action-error-rate F         Share of new actions that end in error
  --fail-next-actions N         The next N new actions end in error
  --fault-paths LIST            Only fault these operations, comma-separated "METHOD /template"
                                (e.g. "POST /v2/checkpoint/pod,* /v2/checkpoint/status/{action_id}")
  --seed N                      Seed of the fault PRNG (default: random, logged at start)
  -h, --help                    Show this help
`;

const LOOPBACK_NAMES = new Set(['localhost', '::1']);
const isLoopback = (host: string): boolean => LOOPBACK_NAMES.has(host) || (isIP(host) === 4 && host.startsWith('127.'));

class UsageError extends Error {}

function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !Number.isInteger(port) || port > 65535) throw new UsageError(`--listen must be HOST:PORT, e.g. 127.0.0.1:8080 (got '${value}')`);
  return { host, port };
}

function integer(flag: string, value: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > max) throw new UsageError(`--${flag} must be a whole number from 0 to ${max} (got '${value}')`);
  return Number(value);
}

function share(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${flag} must be a number from 0 to 1 (got '${value}')`);
  return n;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface CommandIO {
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
  /** Stops the simulator like SIGINT does (tests). */
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
}

export async function simulatorCommand(argv: string[], io: CommandIO = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => process.stderr.write(s));
  const env = io.env ?? process.env;
  let config: {
    host: string;
    port: number;
    token: string;
    stepMs: number | undefined;
    faults: Faults;
    level: string;
    profile: Profile;
    kubeconfig: string | undefined;
    syncLagMs: number | undefined;
  };
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: 'string', default: '127.0.0.1:8080' },
        token: { type: 'string' },
        'step-ms': { type: 'string' },
        'allow-remote': { type: 'boolean', default: false },
        'log-level': { type: 'string', default: 'info' },
        'latency-ms': { type: 'string' },
        'jitter-ms': { type: 'string' },
        'error-rate': { type: 'string' },
        'rate-limit-rate': { type: 'string' },
        'retry-after': { type: 'string' },
        'hang-rate': { type: 'string' },
        'drop-rate': { type: 'string' },
        'drop-after-commit-rate': { type: 'string' },
        'malformed-rate': { type: 'string' },
        'malformed-kinds': { type: 'string' },
        profile: { type: 'string', default: 'reference' },
        kubeconfig: { type: 'string' },
        'sync-lag-ms': { type: 'string' },
        'action-error-rate': { type: 'string' },
        'fail-next-actions': { type: 'string' },
        'fault-paths': { type: 'string', multiple: true },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      out(HELP);
      return 0;
    }
    const { host, port } = parseListen(values.listen);
    if (!values['allow-remote'] && !isLoopback(host)) {
      throw new UsageError(`refusing to listen on non-loopback address ${host}: the simulator is for local use (pass --allow-remote to override)`);
    }
    const token = values.token ?? env.CEDANA_AUTH_TOKEN ?? '';
    if (token === '') throw new UsageError('a token is required: --token TOKEN or env CEDANA_AUTH_TOKEN');
    if (!LEVELS.includes(values['log-level'])) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')} (got '${values['log-level']}')`);
    const paths = values['fault-paths']
      ?.flatMap((p) => p.split(','))
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const faults: FaultsPatch = Object.fromEntries(
      Object.entries({
        latencyMs: integer('latency-ms', values['latency-ms'], 600_000),
        jitterMs: integer('jitter-ms', values['jitter-ms'], 600_000),
        errorRate: share('error-rate', values['error-rate']),
        rateLimitRate: share('rate-limit-rate', values['rate-limit-rate']),
        retryAfterSeconds: integer('retry-after', values['retry-after'], 3600),
        hangRate: share('hang-rate', values['hang-rate']),
        dropRate: share('drop-rate', values['drop-rate']),
        dropAfterCommitRate: share('drop-after-commit-rate', values['drop-after-commit-rate']),
        malformedRate: share('malformed-rate', values['malformed-rate']),
        malformedKinds: values['malformed-kinds']
          ?.split(',')
          .map((k) => k.trim())
          .filter((k) => k !== ''),
        actionErrorRate: share('action-error-rate', values['action-error-rate']),
        failNextActions: integer('fail-next-actions', values['fail-next-actions']),
        seed: integer('seed', values.seed, 0xffff_ffff),
        paths,
      }).filter(([, v]) => v !== undefined),
    );
    const checked = Faults.safeParse({ ...NO_FAULTS, ...faults });
    if (!checked.success) throw new UsageError(checked.error.issues.map((i) => `${i.path.join('.') || 'faults'}: ${i.message}`).join('; '));
    const profile = Profile.safeParse(values.profile);
    if (!profile.success) throw new UsageError(`--profile must be reference or service (got '${values.profile}')`);
    config = {
      host,
      port,
      token,
      stepMs: integer('step-ms', values['step-ms'], 3_600_000),
      faults: checked.data,
      level: values['log-level'],
      profile: profile.data,
      kubeconfig: values.kubeconfig,
      syncLagMs: integer('sync-lag-ms', values['sync-lag-ms'], 3_600_000),
    };
  } catch (e) {
    // node:util parseArgs writes some errors over several lines: keep them on one.
    const message = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
    err(`cedana-operator simulator: ${message}\n${e instanceof UsageError ? '' : "run 'cedana-operator simulator --help' for usage\n"}`);
    return 2;
  }

  // Logs go to stderr, so stdout carries only the listening URL (scripts read it).
  const logger = pino({ level: config.level, base: { component: 'cedana-simulator' }, redact: ['token'] }, pino.destination(2));
  let hooks: SimulatorHooks | undefined;
  if (config.kubeconfig !== undefined) {
    try {
      // Loaded only when asked for: the Kubernetes client is heavy, and most runs do without.
      const [{ loadKubeConfig }, { kubeHooks }] = await Promise.all([import('../kube/client-node.ts'), import('./kube-side.ts')]);
      hooks = kubeHooks(loadKubeConfig(config.kubeconfig), logger.child({ component: 'cedana-agent' }));
    } catch (e) {
      err(`cedana-operator simulator: cannot use the kubeconfig ${config.kubeconfig}: ${(e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ')}\n`);
      return 1;
    }
  }
  let sim;
  try {
    sim = await startSimulator({
      host: config.host,
      port: config.port,
      token: config.token,
      faults: config.faults,
      profile: config.profile,
      logger,
      ...(hooks === undefined ? {} : { hooks }),
      ...(config.syncLagMs === undefined ? {} : { syncLagMs: config.syncLagMs }),
      ...(config.stepMs === undefined ? {} : { stepMs: config.stepMs }),
    });
  } catch (e) {
    // Hooks may have started watches (a close hook, where the Kubernetes side has one): end them, or the process stays.
    (hooks as { close?: () => void } | undefined)?.close?.();
    err(`cedana-operator simulator: cannot listen on ${config.host}:${config.port}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  out(`cedana simulator listening on ${sim.url}\n`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    io.signal?.addEventListener('abort', stop, { once: true });
  });
  await sim.close();
  return 0;
}
