// PodProtectionReconciler, table-driven: given a pod, its labels and conditions, the policies and
// its checkpoints, one reconcile (or a few, the caches catching up in between) records these
// events, creates these checkpoints, deletes these, and returns this.
import { afterEach, beforeEach, describe, it, vi } from 'vitest';
import { LABELS, NODE_ANNOTATION, RESTORE_REASON_ANNOTATION } from '../../../src/api/pod.ts';
import { Evacuator } from '../../../src/controllers/evacuation.ts';
import { PodProtectionReconciler } from '../../../src/controllers/pod-protection.ts';
import { ACTION_ANNOTATION, checkpointsByPodUID, shortUid } from '../../../src/controllers/owned-objects.ts';
import { checkpointsByActionId } from '../../../src/controllers/podcheckpoint.ts';
import { restoresByCheckpoint } from '../../../src/controllers/podrestore.ts';
import { HEARTBEAT_LABEL, NODE_RESTORE_LABEL, podsByNamespace } from '../../../src/controllers/protection.ts';
import { checkpoint, iso, ok, pod, policy, runCase, useFakeClock, type Case, type Env, type Indexes } from './fixtures.ts';

const KEY = 'default/w-0';
const A0 = 'a0000000-0000-4000-8000-000000000000';
/** The fast path: on first sight a predecessor's action is looked for, then the POST goes out first. */
const fastPath = { script: { latestPodAction: ok(undefined), checkpointPod: ok(A0) } };
const fastCalls = [
  { method: 'latestPodAction', podId: 'uid-w-0' },
  { method: 'checkpointPod', pod_name: 'w-0', pod_id: 'uid-w-0', namespace: 'default', cluster_id: 'cluster-1' },
] as const;
const disrupted = (reason: string) => [{ type: 'DisruptionTarget', status: 'True', reason }];
const evacCreated = (restoreReason: string) =>
  ({
    op: 'createIfAbsent',
    plural: 'podcheckpoints',
    kind: 'PodCheckpoint',
    name: `w-0-evac-${shortUid('uid-w-0')}`,
    outcome: 'created',
    labels: { [LABELS.trigger]: 'evacuation', [LABELS.podUID]: 'uid-w-0' },
    annotations: { [RESTORE_REASON_ANNOTATION]: restoreReason, [NODE_ANNOTATION]: 'node-a', [ACTION_ANNOTATION]: A0 },
    spec: { podName: 'w-0', reason: 'manual' },
  }) as const;
const heartbeatCreated = {
  op: 'createIfAbsent',
  plural: 'podcheckpoints',
  kind: 'PodCheckpoint',
  outcome: 'created',
  labels: { [LABELS.trigger]: 'heartbeat', [LABELS.podUID]: 'uid-w-0' },
  spec: { podName: 'w-0', reason: 'heartbeat' },
} as const;
const labelHeartbeat = (name: string, completedAgoMs: number) =>
  checkpoint(name, {
    meta: { labels: { [LABELS.trigger]: 'heartbeat', [LABELS.podUID]: 'uid-w-0' } },
    spec: { podName: 'w-0' },
    status: { phase: 'Ready', podUID: 'uid-w-0', completedAt: iso(-completedAgoMs) },
  });

const cases: Case[] = [
  {
    name: 'malformed label: one Warning event',
    world: { pods: [pod('w-0', { labels: { [NODE_RESTORE_LABEL]: 'yes' } })] },
    key: KEY,
    calls: [],
    writes: [],
    events: [{ kind: 'Pod', name: 'w-0', type: 'Warning', reason: 'InvalidCedanaLabel' }],
    result: 'done',
  },
  {
    name: 'malformed label, reconciled twice: still one Warning',
    world: { pods: [pod('w-0', { labels: { [HEARTBEAT_LABEL]: 'often' } })] },
    key: KEY,
    rounds: 2,
    calls: [],
    writes: [],
    events: [{ type: 'Warning', reason: 'InvalidCedanaLabel' }],
    result: 'done',
  },
  {
    name: 'a label heartbeat below the minimum: a Warning, no heartbeats',
    world: { pods: [pod('w-0', { labels: { [HEARTBEAT_LABEL]: '0' } })] },
    key: KEY,
    calls: [],
    writes: [],
    events: [{ type: 'Warning', reason: 'InvalidCedanaLabel' }],
    result: 'done',
  },
  {
    name: 'DisruptionTarget True (TerminationByKubelet) on a policy-protected pod: an evacuation checkpoint, restore reason nodeTermination',
    world: { pods: [pod('w-0', { labels: { app: 'worker' }, conditions: disrupted('TerminationByKubelet') })], policies: [policy('workers')] },
    key: KEY,
    ...fastPath,
    calls: fastCalls,
    writes: [evacCreated('nodeTermination')],
    events: [{ kind: 'Pod', name: 'w-0', type: 'Normal', reason: 'CheckpointOnDisruption' }],
    result: 'done',
  },
  {
    name: 'DisruptionTarget True (EvictionByEvictionAPI) on a label-protected pod: restore reason manual',
    world: { pods: [pod('w-0', { labels: { [NODE_RESTORE_LABEL]: 'true' }, conditions: disrupted('EvictionByEvictionAPI') })] },
    key: KEY,
    ...fastPath,
    calls: fastCalls,
    writes: [evacCreated('manual')],
    events: [{ reason: 'CheckpointOnDisruption' }],
    result: 'done',
  },
  {
    name: 'DisruptionTarget True, the evacuation checkpoint exists: nothing',
    world: {
      pods: [pod('w-0', { labels: { app: 'worker' }, conditions: disrupted('TerminationByKubelet') })],
      policies: [policy('workers')],
      checkpoints: [checkpoint(`w-0-evac-${shortUid('uid-w-0')}`, { spec: { podName: 'w-0' } })],
    },
    key: KEY,
    calls: [],
    writes: [],
    events: [],
    result: 'done',
  },
  {
    name: 'DisruptionTarget True on an unprotected pod: nothing',
    world: { pods: [pod('w-0', { labels: { app: 'web' }, conditions: disrupted('TerminationByKubelet') })], policies: [policy('workers')] },
    key: KEY,
    calls: [],
    writes: [],
    events: [],
    result: 'done',
  },
  {
    name: 'label heartbeat: none on first sight, one when its slot comes',
    world: { pods: [pod('w-0', { labels: { [HEARTBEAT_LABEL]: '1' } })] },
    key: KEY,
    rounds: 2,
    betweenRoundsMs: 1_000,
    calls: [],
    writes: [heartbeatCreated],
    events: [],
    result: 'requeue',
  },
  {
    name: 'label heartbeat of a pod that is not Running: none',
    world: { pods: [pod('w-0', { labels: { [HEARTBEAT_LABEL]: '1' }, phase: 'Pending' })] },
    key: KEY,
    rounds: 2,
    betweenRoundsMs: 1_000,
    calls: [],
    writes: [],
    events: [],
    result: 'requeue',
  },
  {
    name: 'label heartbeats beyond labelHeartbeatKeepLast: the oldest deleted',
    world: { pods: [pod('w-0', { labels: { [HEARTBEAT_LABEL]: '60' } })], checkpoints: [labelHeartbeat('hb-1', 300_000), labelHeartbeat('hb-2', 200_000), labelHeartbeat('hb-3', 100_000)] },
    key: KEY,
    calls: [],
    writes: [{ op: 'delete', plural: 'podcheckpoints', name: 'hb-1' }],
    events: [],
    result: 'requeue',
  },
  {
    name: 'a policy protects the pod: its heartbeats are the policy controller’s, not the label’s',
    world: { pods: [pod('w-0', { labels: { app: 'worker', [HEARTBEAT_LABEL]: '1' } })], policies: [policy('workers')] },
    key: KEY,
    rounds: 2,
    betweenRoundsMs: 1_000,
    calls: [],
    writes: [],
    events: [],
    result: 'done',
  },
  {
    name: 'pod gone: nothing',
    world: {},
    key: KEY,
    calls: [],
    writes: [],
    events: [],
    result: 'done',
  },
];

const INDEXES: Indexes = { pods: [podsByNamespace], checkpoints: [checkpointsByPodUID, checkpointsByActionId], restores: [restoresByCheckpoint] };

describe('PodProtectionReconciler', () => {
  beforeEach(() => {
    useFakeClock();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(cases)('$name', async (row) => {
    await runCase(row, INDEXES, (env: Env) => {
      const evacuator = new Evacuator(env.ctx, env.checkpoints, (id) => env.checkpoints.byIndex(checkpointsByActionId, id).length > 0);
      return new PodProtectionReconciler(env.ctx, env.pods, env.checkpoints, env.restores, evacuator);
    });
  });
});
