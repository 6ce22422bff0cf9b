// The operator and the Cedana simulator as their own processes, for the benchmarks: spawned through
// bin/cedana-operator (which execs Node, so the child's pid is the operator's or the simulator's own),
// their addresses read from what they print, their CPU and memory read from /proc/<pid>, and each
// stopped by its own pid when the benchmark ends: normally (SIGTERM, then SIGKILL after a grace),
// on an error, on SIGINT/SIGTERM and on exit (SIGKILL). Nothing they start outlives the benchmark.
import { sleep } from '../src/util/backoff.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../src/dev/local-cluster.ts';

const BIN = join(repoRoot, 'bin/cedana-operator');

const children = new Set<ChildProcess>();
const killAll = (): void => {
  for (const c of children) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
};
process.on('exit', killAll);
let signalsHooked = false;
/**
 * SIGINT/SIGTERM: our children go first (by pid), then this process, whose 'exit' takes the control
 * plane down too (startLocalCluster's exit hook). Prepended, so that the operator is gone before the
 * apiserver it talks to.
 */
function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`bench: ${signal}: stopping the operator and the simulator\n`);
    killAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.prependListener('SIGINT', onSignal).prependListener('SIGTERM', onSignal);
}

export interface Child {
  readonly pid: number;
  /** The last lines it printed (stdout and stderr), for an error message. */
  tail: () => string;
  /** Lines printed so far. */
  lines: () => number;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when it is gone. Idempotent. */
  stop: (graceMs?: number) => Promise<void>;
}

function spawnChild(what: string, args: string[], env: NodeJS.ProcessEnv, onLine: (line: string) => void, file = BIN): Child {
  hookSignals();
  const proc = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`${what}: could not spawn ${file}`);
  children.add(proc);
  const tail: string[] = [];
  let count = 0;
  const feed = (stream: NodeJS.ReadableStream): void => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        count++;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        onLine(line);
      }
    });
  };
  feed(proc.stdout);
  feed(proc.stderr);
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (code) => {
      children.delete(proc);
      resolve(code);
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    pid: proc.pid,
    tail: () => tail.join('\n'),
    lines: () => count,
    exited,
    stop: (graceMs = 10_000) =>
      (stopping ??= (async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })()),
  };
}

/** Resolves with what `pick` finds in a line of the child's output; rejects when it exits first or after timeoutMs. */
function awaitLine<T>(what: string, timeoutMs: number, start: (onLine: (line: string) => void) => Child, pick: (line: string) => T | undefined): Promise<{ child: Child; value: T }> {
  let found: ((v: T) => void) | undefined;
  const child = start((line) => {
    if (!found) return;
    const v = pick(line);
    if (v !== undefined) found(v);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      found = undefined;
      void child.stop(1000);
      reject(new Error(`${what}: no start line within ${String(timeoutMs)} ms; its output:\n${child.tail()}`));
    }, timeoutMs);
    found = (value) => {
      found = undefined;
      clearTimeout(timer);
      resolve({ child, value });
    };
    void child.exited.then((code) => {
      if (!found) return;
      found = undefined;
      clearTimeout(timer);
      reject(new Error(`${what} exited (code ${String(code)}) before it started; its output:\n${child.tail()}`));
    });
  });
}

export interface SimulatorProcess extends Child {
  url: string;
}

/** `cedana-operator simulator --listen 127.0.0.1:0`: its URL is the one line it prints on stdout. */
export async function spawnSimulator(o: { token: string; latencyMs: number; stepMs: number; extraArgs?: string[] }): Promise<SimulatorProcess> {
  const args = ['simulator', '--listen', '127.0.0.1:0', '--token', o.token, '--latency-ms', String(o.latencyMs), '--step-ms', String(o.stepMs), '--log-level', 'warn', ...(o.extraArgs ?? [])];
  const { child, value } = await awaitLine(
    'the simulator',
    60_000,
    (onLine) => spawnChild('the simulator', args, { ...process.env }, onLine),
    (line) => /^cedana simulator listening on (\S+)/.exec(line)?.[1],
  );
  return Object.assign(child, { url: value });
}

export interface OperatorProcess extends Child {
  /** http://127.0.0.1:PORT of /metrics, /healthz, /readyz. */
  httpUrl: string;
  /** Date.now() when it was spawned and when it logged 'operator started'. */
  spawnedAt: number;
  startedAt: number;
}

/**
 * `cedana-operator run` as a Deployment runs it (flags and env; no leader election, one replica),
 * with --http-bind-address=127.0.0.1:0: the bound address is the `http` field of its
 * 'operator started' log line (logged once the caches are started, before they are synced).
 */
export async function spawnOperator(o: { cedanaUrl: string; token: string; kubeconfig: string; namespaces: string[]; flags: string[]; logLevel?: string }): Promise<OperatorProcess> {
  const args = [
    'run',
    `--cedana-url=${o.cedanaUrl}`,
    '--cluster-id=bench-cluster',
    ...(o.namespaces.length > 0 ? [`--namespaces=${o.namespaces.join(',')}`] : []),
    '--leader-elect=false',
    '--identity=bench-operator',
    '--http-bind-address=127.0.0.1:0',
    `--kubeconfig=${o.kubeconfig}`,
    ...o.flags,
  ];
  const spawnedAt = Date.now();
  const { child, value } = await awaitLine(
    'the operator',
    60_000,
    (onLine) =>
      spawnChild(
        'the operator',
        args,
        // BENCH_OPERATOR_NODE_OPTIONS: Node options for the operator alone, e.g. --cpu-prof to see where its time goes.
        { ...process.env, CEDANA_AUTH_TOKEN: o.token, LOG_LEVEL: o.logLevel ?? 'info', ...(process.env.BENCH_OPERATOR_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_OPERATOR_NODE_OPTIONS } : {}) },
        onLine,
      ),
    (line) => {
      if (!line.includes('operator started')) return undefined;
      try {
        const rec = JSON.parse(line) as { msg?: unknown; http?: unknown };
        return rec.msg === 'operator started' && typeof rec.http === 'string' ? rec.http : undefined;
      } catch {
        return undefined;
      }
    },
  );
  return Object.assign(child, { httpUrl: value, spawnedAt, startedAt: Date.now() });
}

/**
 * Any other program (e.g. the built kubectl) as a child like the two above: its output kept, stopped
 * by its own pid on an error, SIGINT/SIGTERM and exit. Resolves with its exit code and output.
 */
export function runTracked(what: string, file: string, args: string[], env: NodeJS.ProcessEnv = process.env): { child: Child; done: Promise<{ code: number | null; out: string }> } {
  const out: string[] = [];
  const child = spawnChild(what, args, { ...env }, (line) => out.push(line), file);
  return { child, done: child.exited.then((code) => ({ code, out: out.join('\n') })) };
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; undefined when unreadable. */
export async function cpuSecondsOf(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8');
    // Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / 100 : undefined; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** VmRSS and VmHWM (peak RSS) of a process in MB (2^20 bytes), from /proc/<pid>/status. */
export async function memoryOf(pid: number): Promise<{ rssMB: number; peakRssMB: number } | undefined> {
  try {
    const status = await readFile(`/proc/${String(pid)}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMB: Math.round((kb('VmRSS') / 1024) * 10) / 10, peakRssMB: Math.round((kb('VmHWM') / 1024) * 10) / 10 };
  } catch {
    return undefined;
  }
}

/** Host-wide CPU seconds (busy, i.e. all but idle and iowait) so far, from /proc/stat. */
export async function hostBusySeconds(): Promise<number | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const [, ...ticks] = line.trim().split(/\s+/).map(Number);
    const busy = ticks.reduce((a, t, i) => (i === 3 || i === 4 ? a : a + t), 0); // user nice system [idle iowait] irq softirq steal ...
    return Number.isFinite(busy) ? busy / 100 : undefined;
  } catch {
    return undefined;
  }
}

/** Polls fn until it returns a value, or fails after timeoutMs naming what it waited for (and the last error). */
export async function waitUntil<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined> | T | undefined, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    await sleep(intervalMs);
  }
}
