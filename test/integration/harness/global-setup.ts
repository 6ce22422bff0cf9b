// vitest globalSetup for the integration tier: starts a real control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok fake nodes) through scripts/local-cluster.sh, applies
// the CRDs in crds/, hands the kubeconfig to the tests and always takes the cluster down again.
// With KUBECONFIG_EXTERNAL set it uses that cluster instead and starts nothing.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { applyManifestDir, waitForCrdsEstablished } from '../../../src/kube/apply.ts';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const script = join(repo, 'scripts/local-cluster.sh');
const crdDir = join(repo, 'crds');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.KUBECONFIG_EXTERNAL;
  let kubeconfig: string;
  let teardown = (): Promise<void> => Promise.resolve();
  if (external !== undefined && external !== '') {
    kubeconfig = resolve(external);
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'cedana-it-'));
    const stop = stopper(dir);
    teardown = stop;
    try {
      kubeconfig = await up(dir);
    } catch (err) {
      await stop();
      throw err;
    }
  }
  project.provide('kubeconfig', kubeconfig);
  process.env.KUBECONFIG = kubeconfig; // for child processes (kubectl, helm, the operator)
  try {
    await applyCrds(kubeconfig);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}

// `up --watch-pid` also takes the cluster down should this process die without running teardown.
async function up(dir: string): Promise<string> {
  const args = [script, 'up', '--full', '--dir', dir, '--watch-pid', String(process.pid)];
  // stderr passes through: build progress, and on failure the apiserver's log.
  const child = spawn('sh', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const code = await new Promise<number | null>((done, failed) => {
    child.on('error', failed).on('close', done);
  });
  const last = out.trimEnd().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('KUBECONFIG=')) {
    throw new Error(`local-cluster.sh up failed (exit ${String(code)}); its stderr above says why`);
  }
  return last.slice('KUBECONFIG='.length);
}

// Idempotent teardown, also run on SIGINT/SIGTERM so an interrupted run leaves no server behind.
function stopper(dir: string): () => Promise<void> {
  let done = false;
  const downSync = (): void => {
    if (done) return;
    done = true;
    spawnSync('sh', [script, 'down', '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
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
  return async () => {
    removeHandlers();
    if (!done) {
      done = true;
      await new Promise<void>((settle) => {
        spawn('sh', [script, 'down', '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] })
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
}

// Server-side apply of every crds/*.yaml (idempotent on an external cluster), then wait until each
// CRD is Established so tests can use it at once: the same code the demo uses.
async function applyCrds(kubeconfig: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  await waitForCrdsEstablished(kc, await applyManifestDir(kc, crdDir, 'cedana-integration-tests'));
}
