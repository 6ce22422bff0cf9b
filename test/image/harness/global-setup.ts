// vitest globalSetup for the image tier: a Docker engine of the run's own (scripts/docker-engine.sh;
// one already running is used as it is), the base image (scripts/base-image.sh, cached per version)
// and a control plane of its own (scripts/local-cluster.sh up --full) with the CRDs applied. Whatever
// it started stops when the run ends, by pid.
//
// It never throws: a missing engine must not take the other tiers down with it. It says why in one
// line, and the tier's first test fails with that line. SKIP_IMAGE_TIER=1 skips the tier (its tests
// are then reported as skipped); .ci/run never sets it.
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { TestProject } from 'vitest/node';
import { repoRoot, startLocalCluster } from '../../../src/dev/local-cluster.ts';
import { applyManifestDir, waitForCrdsEstablished } from '../../../src/kube/apply.ts';
import { loadBaseImage, startEngine } from './engine.ts';

export interface ImageTier {
  state: 'ready' | 'skipped' | 'failed';
  /** Why it was skipped or failed, in one line. */
  reason?: string;
  dockerHost?: string;
  baseImage?: string;
  /** Seconds each step of the setup took. */
  seconds: Record<string, number>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    imageTier: ImageTier;
  }
}

export const SKIP_VARIABLE = 'SKIP_IMAGE_TIER';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const teardowns: (() => Promise<void>)[] = [];
  const teardown = async (): Promise<void> => {
    for (const t of teardowns.reverse()) await t();
  };
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      seconds[name] = Math.round((performance.now() - t0) / 100) / 10;
    }
  };
  if (process.env[SKIP_VARIABLE] === '1') {
    project.provide('imageTier', { state: 'skipped', reason: `${SKIP_VARIABLE}=1`, seconds });
    return teardown;
  }
  try {
    const engine = await timed('engine', startEngine);
    teardowns.push(engine.down);
    const baseImage = await timed('baseImage', () => loadBaseImage(engine.dockerHost));
    const cluster = await timed('controlPlane', () => startLocalCluster({ full: true, prefix: 'cedana-img-' }));
    teardowns.push(cluster.down);
    // Not process.env.KUBECONFIG: the test workers of every project inherit this process's env.
    project.provide('kubeconfig', cluster.kubeconfig);
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    await waitForCrdsEstablished(kc, await applyManifestDir(kc, join(repoRoot, 'crds'), 'cedana-image-tests'));
    project.provide('imageTier', { state: 'ready', dockerHost: engine.dockerHost, baseImage, seconds });
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    process.stderr.write(`image tier: ${reason} (${SKIP_VARIABLE}=1 skips this tier)\n`);
    project.provide('imageTier', { state: 'failed', reason, seconds });
    await teardown();
    teardowns.length = 0;
  }
  return teardown;
}
