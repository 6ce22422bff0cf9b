// Builders for the protection tests: every object is parsed with the operator's own schema, so a
// fixture that the operator would reject at the boundary fails here first.
import { CheckpointPolicy } from '../../../src/api/checkpointpolicy.ts';
import { Node, Pod } from '../../../src/api/pod.ts';
import { PodCheckpoint } from '../../../src/api/podcheckpoint.ts';
import { PodRestore } from '../../../src/api/podrestore.ts';
import { cacheOf, type Index, type Kind, type Store } from '../../../src/kube/cache.ts';
import type { Keyed } from '../../../src/kube/keys.ts';

export const pod = (name: string, labels: Record<string, string> | undefined, extra: { namespace?: string; uid?: string } = {}): Pod =>
  Pod.parse({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: extra.namespace ?? 'default', uid: extra.uid ?? `uid-${name}`, ...(labels ? { labels } : {}) },
    spec: { nodeName: 'node-a' },
  });

export const node = (
  spec: { taints?: { key: string; value?: string; effect?: string }[]; unschedulable?: boolean },
  extra: { deletionTimestamp?: string; ready?: { status: string; since: string } } = {},
): Node =>
  Node.parse({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-a', ...(extra.deletionTimestamp ? { deletionTimestamp: extra.deletionTimestamp } : {}) },
    spec: {
      ...(spec.unschedulable !== undefined ? { unschedulable: spec.unschedulable } : {}),
      ...(spec.taints ? { taints: spec.taints.map((t) => ({ effect: 'NoSchedule', ...t })) } : {}),
    },
    status: { conditions: [{ type: 'Ready', status: extra.ready?.status ?? 'True', lastTransitionTime: extra.ready?.since ?? '2025-01-01T00:00:00Z' }] },
  });

export const policy = (name: string, selector: unknown, extra: { namespace?: string; uid?: string; deletionTimestamp?: string; onNodeTermination?: unknown } = {}): CheckpointPolicy =>
  CheckpointPolicy.parse({
    apiVersion: 'cedana.ai/v1alpha1',
    kind: 'CheckpointPolicy',
    metadata: {
      name,
      namespace: extra.namespace ?? 'default',
      ...(extra.uid ? { uid: extra.uid } : {}),
      ...(extra.deletionTimestamp ? { deletionTimestamp: extra.deletionTimestamp } : {}),
    },
    spec: { selector, ...(extra.onNodeTermination ? { onNodeTermination: extra.onNodeTermination } : {}) },
  });

export const checkpoint = (
  name: string,
  status: { phase?: string; podUID?: string; completedAt?: string } | undefined,
  extra: { namespace?: string; podName?: string; deletionTimestamp?: string } = {},
): PodCheckpoint =>
  PodCheckpoint.parse({
    apiVersion: 'cedana.ai/v1alpha1',
    kind: 'PodCheckpoint',
    metadata: { name, namespace: extra.namespace ?? 'default', ...(extra.deletionTimestamp ? { deletionTimestamp: extra.deletionTimestamp } : {}) },
    spec: { podName: extra.podName ?? 'app' },
    ...(status ? { status } : {}),
  });

export const restore = (name: string, checkpointName: string, phase: string | undefined, namespace = 'default'): PodRestore =>
  PodRestore.parse({
    apiVersion: 'cedana.ai/v1alpha1',
    kind: 'PodRestore',
    metadata: { name, namespace },
    spec: { checkpointRef: { name: checkpointName } },
    ...(phase ? { status: { phase } } : {}),
  });

/** A real cache over a fixed list, with the operator's own index handles, that records which indexes were asked. */
export function fakeStore<K extends string, T extends Keyed>(kind: Kind<K, T>, items: T[], indexes: Index<K, T>[]): Store<K, T> & { indexCalls: [string, string][] } {
  const indexCalls: [string, string][] = [];
  const cache = cacheOf(kind, items, indexes);
  return {
    kind: cache.kind,
    indexCalls,
    get: (key) => cache.get(key),
    list: () => cache.list(),
    byIndex: (index, value) => {
      indexCalls.push([index.name, value]);
      return cache.byIndex(index, value);
    },
  };
}
