// The kubectl built with the local control plane (the same Kubernetes release), for the demo, the
// tests and the benchmarks that drive the cluster the way users do (kubectl drain, get, apply).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { clusterScript } from './local-cluster.ts';

let binDir: string | undefined;

/** The control plane's bin directory (`local-cluster.sh build` prints it; cached, so quick). */
export function controlPlaneBin(): string {
  if (binDir === undefined) {
    const built = spawnSync('sh', [clusterScript, 'build'], { encoding: 'utf8' });
    const dir = built.stdout.trim().split('\n').at(-1);
    if (built.status !== 0 || !dir) throw new Error(`local-cluster.sh build failed: ${built.stderr.slice(-500)}`);
    binDir = dir;
  }
  return binDir;
}

/** Runs kubectl against the given kubeconfig; resolves with its exit code and its output (stdout and stderr). */
export function kubectl(kubeconfig: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(controlPlaneBin(), 'kubectl'), ['--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject).on('close', (code) => {
      resolve({ code, out });
    });
  });
}
