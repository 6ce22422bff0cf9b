// A throwaway local control plane (scripts/local-cluster.sh) for the demo, the integration tests and
// the benchmarks. `up --watch-pid` takes it down should this process die without cleaning up; SIGINT,
// SIGTERM and process exit take it down too. Every server it starts is stopped by its own pid.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const clusterScript = join(repoRoot, 'scripts/local-cluster.sh');

export interface LocalCluster {
  dir: string;
  kubeconfig: string;
  /** Stops every server and removes the state directory. Idempotent. */
  down: () => Promise<void>;
  /** Pid of one of the servers (from its pid file in run/), e.g. for CPU accounting; undefined when not running. */
  pidOf: (server: 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok') => Promise<number | undefined>;
  /**
   * An apiserver outage: stops kube-apiserver by its pid, leaving etcd and the rest running, and
   * resolves once it is gone. SIGTERM (a graceful shutdown, SIGKILL after 15 s), or with `kill`
   * SIGKILL at once, as a crash.
   */
  stopApiserver: (opts?: { kill?: boolean }) => Promise<void>;
  /**
   * Starts kube-apiserver again on the same port with the same flags and resolves once /readyz
   * answers; restarts kube-controller-manager, kube-scheduler or kwok if they exited meanwhile
   * (they exit when they cannot renew their leases).
   */
  startApiserver: () => Promise<void>;
}

export interface LocalClusterOptions {
  /** Also kube-controller-manager, kube-scheduler and kwok fake nodes. */
  full?: boolean;
  nodes?: number;
  /** Prefix of the temp state directory. */
  prefix?: string;
}

export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const dir = await mkdtemp(join(tmpdir(), opts.prefix ?? 'cedana-cluster-'));
  let stopped = false;
  const downSync = (): void => {
    if (stopped) return;
    stopped = true;
    spawnSync('sh', [clusterScript, 'down', '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    downSync();
    removeHandlers();
    // Alone, we stand in for the default action, which is to die of the signal.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const removeHandlers = (): void => {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('exit', downSync);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal).on('exit', downSync);

  const down = async (): Promise<void> => {
    removeHandlers();
    if (!stopped) {
      stopped = true;
      await new Promise<void>((settle) => {
        spawn('sh', [clusterScript, 'down', '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] })
          .on('error', () => {
            settle();
          })
          .on('close', () => {
            settle();
          });
      });
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const args = [clusterScript, 'up', ...(opts.full ? ['--full'] : []), ...(opts.nodes !== undefined ? ['--nodes', String(opts.nodes)] : []), '--dir', dir, '--watch-pid', String(process.pid)];
    // stderr passes through: build progress, and on failure the apiserver's log.
    const child = spawn('sh', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    const code = await new Promise<number | null>((settle, fail) => {
      child.on('error', fail).on('close', settle);
    });
    const last = out.trimEnd().split('\n').at(-1) ?? '';
    if (code !== 0 || !last.startsWith('KUBECONFIG=')) throw new Error(`local-cluster.sh up failed (exit ${String(code)}); its stderr above says why`);
    const pidOf = async (server: string): Promise<number | undefined> => {
      const pid = Number((await readFile(join(dir, 'run', `${server}.pid`), 'utf8').catch(() => '')).trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    };
    const script = async (command: 'apiserver-stop' | 'apiserver-start', flags: string[] = []): Promise<void> => {
      if (stopped) throw new Error(`${command}: the cluster in ${dir} is down`);
      const proc = spawn('sh', [clusterScript, command, ...flags, '--dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        err += chunk;
      });
      const exit = await new Promise<number | null>((settle, fail) => {
        proc.on('error', fail).on('close', settle);
      });
      if (exit !== 0) throw new Error(`local-cluster.sh ${command} failed (exit ${String(exit)}): ${err.trim()}`);
    };
    return {
      dir,
      kubeconfig: last.slice('KUBECONFIG='.length),
      down,
      pidOf,
      stopApiserver: (o = {}) => script('apiserver-stop', o.kill === true ? ['--kill'] : []),
      startApiserver: () => script('apiserver-start'),
    };
  } catch (err) {
    await down();
    throw err;
  }
}
