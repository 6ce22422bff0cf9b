// A protected pod with a controller owner and no CEDANA_CHECKPOINT: its owner's replacement could
// not be restored. The pod gets a Warning Event (once), its policy DeclarativeRestoreReady=False
// listing it (capped), turning True once every such pod names its checkpoint.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { POLICY_CONDITIONS as C, POLICY_REASONS as R } from '../../../src/api/conditions.ts';
import { Pod } from '../../../src/api/pod.ts';
import { compactPod } from '../../../src/api/compact.ts';
import { CheckpointPolicyReconciler, checkpointsByOwner } from '../../../src/controllers/checkpoint-policy.ts';
import { Evacuator } from '../../../src/controllers/evacuation.ts';
import { PodProtectionReconciler } from '../../../src/controllers/pod-protection.ts';
import { checkpointsByPodUID } from '../../../src/controllers/owned-objects.ts';
import { checkpointsByActionId } from '../../../src/controllers/podcheckpoint.ts';
import { restoresByCheckpoint } from '../../../src/controllers/podrestore.ts';
import { NODE_RESTORE_LABEL, podsByNamespace } from '../../../src/controllers/protection.ts';
import { c, cond, iso, policy, runCase, useFakeClock, type Case, type Env, type Indexes } from './fixtures.ts';

/** A running pod of a ReplicaSet (or bare), with or without CEDANA_CHECKPOINT. */
const podOf = (name: string, o: { owned?: boolean; named?: boolean; labels?: Record<string, string> } = {}): Pod =>
  compactPod(
    Pod.parse({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: 'default',
        uid: `uid-${name}`,
        resourceVersion: '1',
        creationTimestamp: iso(-60_000),
        labels: o.labels ?? { app: 'worker' },
        ...(o.owned === false ? {} : { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'worker-abc', uid: 'uid-rs', controller: true }] }),
      },
      spec: { nodeName: 'node-a', containers: [{ name: 'main', image: 'busybox', ...(o.named ? { env: [{ name: 'CEDANA_CHECKPOINT', value: 'worker' }] } : {}) }] },
      status: { phase: 'Running' },
    }),
  );

const has = (...conditions: string[]): string[] => expect.arrayContaining(conditions) as string[];
const lacks = (type: string) => (env: Env) => {
  const status = env.objects.get('checkpointpolicies', 'default', 'workers')?.status as { conditions?: { type: string }[] } | undefined;
  expect(status?.conditions?.some((x) => x.type === type) ?? false).toBe(false);
};

const policyCases: Case[] = [
  {
    name: 'an owned protected pod without CEDANA_CHECKPOINT: DeclarativeRestoreReady False MissingCheckpointName, naming it',
    world: { policies: [policy('workers')], pods: [podOf('w-0'), podOf('w-1', { named: true }), podOf('bare', { owned: false })] },
    key: 'default/workers',
    calls: [],
    writes: [{ op: 'patchStatus', name: 'workers', conditions: has(c(C.DeclarativeRestoreReady, 'False', R.MissingCheckpointName)) }],
    events: [],
    result: 'done',
    check: (env) => {
      const status = env.objects.get('checkpointpolicies', 'default', 'workers')?.status as { conditions?: { type: string; message: string }[] } | undefined;
      const message = status?.conditions?.find((x) => x.type === C.DeclarativeRestoreReady)?.message ?? '';
      expect(message).toContain('w-0');
      expect(message).not.toContain('w-1');
      expect(message).not.toContain('bare');
    },
  },
  {
    name: 'more than ten: the first ten named, the rest counted',
    world: { policies: [policy('workers')], pods: Array.from({ length: 13 }, (_, i) => podOf(`w-${String(i).padStart(2, '0')}`)) },
    key: 'default/workers',
    calls: [],
    writes: [{ op: 'patchStatus', conditions: has(c(C.DeclarativeRestoreReady, 'False', R.MissingCheckpointName)) }],
    events: [],
    result: 'done',
    check: (env) => {
      const status = env.objects.get('checkpointpolicies', 'default', 'workers')?.status as { conditions?: { type: string; message: string }[] } | undefined;
      const message = status?.conditions?.find((x) => x.type === C.DeclarativeRestoreReady)?.message ?? '';
      expect(message).toContain('w-09');
      expect(message).not.toContain('w-10');
      expect(message).toContain('and 3 more');
    },
  },
  {
    name: 'restore.mode NewPod: no name needed, no condition',
    world: { policies: [policy('workers', { spec: { restore: { mode: 'NewPod' } } })], pods: [podOf('w-0')] },
    key: 'default/workers',
    calls: [],
    writes: [{ op: 'patchStatus', conditions: has(c(C.Ready, 'True', R.Protecting)) }],
    events: [],
    result: 'done',
    check: lacks(C.DeclarativeRestoreReady),
  },
  {
    name: 'every owned pod named now, after False: True CheckpointNamesSet',
    world: {
      policies: [policy('workers', { status: { protectedPods: 1, conditions: [cond(C.DeclarativeRestoreReady, 'False', R.MissingCheckpointName)] } })],
      pods: [podOf('w-0', { named: true })],
    },
    key: 'default/workers',
    calls: [],
    writes: [{ op: 'patchStatus', conditions: has(c(C.DeclarativeRestoreReady, 'True', R.CheckpointNamesSet)) }],
    events: [],
    result: 'done',
  },
];

const protectionCases: Case[] = [
  {
    name: 'a policy-protected owned pod without CEDANA_CHECKPOINT: one Warning, not repeated on the next look',
    world: { policies: [policy('workers')], pods: [podOf('w-0')] },
    key: 'default/w-0',
    rounds: 2,
    calls: [],
    writes: [],
    events: [{ type: 'Warning', reason: 'MissingCheckpointName' }],
    result: 'done',
  },
  {
    name: "a pod protected by Cedana's label: the same Warning",
    world: { pods: [podOf('w-0', { labels: { [NODE_RESTORE_LABEL]: 'true' } })] },
    key: 'default/w-0',
    calls: [],
    writes: [],
    events: [{ type: 'Warning', reason: 'MissingCheckpointName' }],
    result: 'done',
  },
  { name: 'named: no Warning', world: { policies: [policy('workers')], pods: [podOf('w-0', { named: true })] }, key: 'default/w-0', calls: [], writes: [], events: [], result: 'done' },
  {
    name: 'a bare pod: no Warning (it is restored as a new pod)',
    world: { policies: [policy('workers')], pods: [podOf('w-0', { owned: false })] },
    key: 'default/w-0',
    calls: [],
    writes: [],
    events: [],
    result: 'done',
  },
  {
    name: 'restore.mode NewPod: no Warning',
    world: { policies: [policy('workers', { spec: { restore: { mode: 'NewPod' } } })], pods: [podOf('w-0')] },
    key: 'default/w-0',
    calls: [],
    writes: [],
    events: [],
    result: 'done',
  },
  {
    name: 'restore off (onNodeTermination.restore false): no Warning',
    world: { policies: [policy('workers', { spec: { onNodeTermination: { checkpoint: true, restore: false, kind: 'simple' } } })], pods: [podOf('w-0')] },
    key: 'default/w-0',
    calls: [],
    writes: [],
    events: [],
    result: 'done',
  },
];

describe('a protected owned pod without CEDANA_CHECKPOINT', () => {
  beforeEach(() => {
    useFakeClock();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const policyIndexes: Indexes = { pods: [podsByNamespace], checkpoints: [checkpointsByOwner, checkpointsByPodUID], restores: [restoresByCheckpoint] };
  it.each(policyCases)('policy: $name', async (row) => {
    await runCase(row, policyIndexes, (env: Env) => new CheckpointPolicyReconciler(env.ctx, env.policies, env.pods, env.checkpoints, env.restores));
  });

  const podIndexes: Indexes = { pods: [podsByNamespace], checkpoints: [checkpointsByPodUID, checkpointsByActionId], restores: [restoresByCheckpoint] };
  it.each(protectionCases)('pod: $name', async (row) => {
    await runCase(row, podIndexes, (env: Env) => {
      const evacuator = new Evacuator(env.ctx, env.checkpoints, (id) => env.checkpoints.byIndex(checkpointsByActionId, id).length > 0);
      return new PodProtectionReconciler(env.ctx, env.pods, env.checkpoints, env.restores, evacuator);
    });
  });
});
