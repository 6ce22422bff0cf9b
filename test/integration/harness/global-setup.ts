// vitest globalSetup for the integration tier: starts a real control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok fake nodes) through scripts/local-cluster.sh, applies
// the CRDs in crds/, hands the kubeconfig to the tests and always takes the cluster down again.
// With KUBECONFIG_EXTERNAL set it uses that cluster instead and starts nothing.
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { TestProject } from 'vitest/node';
import { repoRoot, startLocalCluster } from '../../../src/dev/local-cluster.ts';
import { applyManifestDir, waitForCrdsEstablished } from '../../../src/kube/apply.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.KUBECONFIG_EXTERNAL;
  let kubeconfig: string;
  let teardown = (): Promise<void> => Promise.resolve();
  if (external !== undefined && external !== '') {
    kubeconfig = resolve(external);
  } else {
    const cluster = await startLocalCluster({ full: true, prefix: 'cedana-it-' });
    kubeconfig = cluster.kubeconfig;
    teardown = cluster.down;
  }
  project.provide('kubeconfig', kubeconfig);
  process.env.KUBECONFIG = kubeconfig; // for child processes (kubectl, helm, the operator)
  try {
    // Server-side apply (idempotent on an external cluster), then wait until each CRD is Established.
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    await waitForCrdsEstablished(kc, await applyManifestDir(kc, join(repoRoot, 'crds'), 'cedana-integration-tests'));
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
