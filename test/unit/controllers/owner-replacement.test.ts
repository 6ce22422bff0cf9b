// PodRestoreReconciler, mode OwnerReplacement, table-driven: given the evacuation checkpoint, the
// owner's pods and what Cedana's API says of them, one reconcile makes these calls, writes these
// statuses, records these events and returns this. Nothing here ever POSTs a restore.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JOB_COMPLETION_INDEX } from '../../../src/api/checkpoint-name.ts';
import { RESTORE_CONDITIONS as C, RESTORE_REASONS as R } from '../../../src/api/conditions.ts';
import { Pod } from '../../../src/api/pod.ts';
import { compactPod } from '../../../src/api/compact.ts';
import { podsByControllerUID, restoresByOwnerUID } from '../../../src/controllers/owner-replacement.ts';
import { PodRestoreReconciler, restoresByCheckpoint, restoresByPodName } from '../../../src/controllers/podrestore.ts';
import { action, c, checkpoint, cond, iso, ok, restore, runCase, useFakeClock, type Case, type Env, type Indexes } from './fixtures.ts';

const ACT = '11111111-1111-4111-8111-111111111111';
const RST = '44444444-4444-4444-8444-444444444444';
const CKPT_ID = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const OTHER_CKPT = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';
const KEY = 'default/rst';
const OWNER_UID = 'uid-rs';

type Owner = { kind: string; name: string; uid: string };
const RS: Owner = { kind: 'ReplicaSet', name: 'web-5574cb695f', uid: OWNER_UID };
const STS: Owner = { kind: 'StatefulSet', name: 'trainer', uid: OWNER_UID };
const JOB: Owner = { kind: 'Job', name: 'batch', uid: OWNER_UID };

/** A pod of the owner, as the operator's cache holds it (compact), with a CEDANA_CHECKPOINT env. */
const owned = (name: string, o: { uid?: string; owner?: Owner; createdAgoMs?: number; env?: Record<string, unknown>[]; index?: string; deleting?: boolean } = {}): Pod =>
  compactPod(
    Pod.parse({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: 'default',
        uid: o.uid ?? `uid-${name}`,
        resourceVersion: '1',
        creationTimestamp: iso(-(o.createdAgoMs ?? 500)),
        ownerReferences: [{ apiVersion: 'apps/v1', controller: true, ...(o.owner ?? RS) }],
        ...(o.index !== undefined ? { annotations: { [JOB_COMPLETION_INDEX]: o.index }, labels: { [JOB_COMPLETION_INDEX]: o.index } } : {}),
        ...(o.deleting ? { deletionTimestamp: iso(-100) } : {}),
      },
      spec: { nodeName: 'node-b', containers: [{ name: 'main', image: 'busybox', env: o.env ?? [{ name: 'CEDANA_CHECKPOINT', value: 'web' }] }] },
      status: { phase: 'Running' },
    }),
  );

/** The evacuation checkpoint, Ready; made 10 s ago (a pod older than that is an older sibling). */
const ckpt = () =>
  checkpoint('ckpt', { meta: { creationTimestamp: iso(-10_000) }, spec: { podName: 'web-old' }, status: { phase: 'Ready', actionId: ACT, podUID: 'uid-web-old', checkpointId: CKPT_ID } });

const spec = (o: { owner?: Owner; checkpointName?: string | null; index?: string; podName?: string } = {}) => ({
  checkpointRef: { name: 'ckpt' },
  reason: 'nodeTermination',
  mode: 'OwnerReplacement',
  ...(o.checkpointName === null ? {} : { checkpointName: o.checkpointName ?? 'web' }),
  owner: o.owner ?? RS,
  originalPod: { name: o.podName ?? 'web-old', uid: 'uid-web-old', ...(o.index !== undefined ? { completionIndex: o.index } : {}) },
});
const pr = (o: Parameters<typeof spec>[0] & { createdAgoMs?: number; status?: Record<string, unknown> } = {}) =>
  restore('rst', { meta: { creationTimestamp: iso(-(o.createdAgoMs ?? 1_000)) }, spec: spec(o), ...(o.status ? { status: o.status } : {}) });

const restoreAction = (status: string, checkpointId = CKPT_ID, at = iso(-300)) => action(RST, { type: 'restore_pod', checkpointId, status, at });
const checkpointAction = action(ACT, { type: 'checkpoint_pod', checkpointId: CKPT_ID, at: iso(-10_000) });

const lookedUp = (uid: string) => [{ method: 'latestPodAction', podId: uid }, { method: 'listActions' }] as const;

const cases: Case[] = [
  {
    name: 'the pod had no CEDANA_CHECKPOINT: Failed MissingCheckpointName at once, with a Warning; nothing asked of Cedana',
    world: { checkpoints: [ckpt()], restores: [pr({ checkpointName: null })], pods: [owned('web-new')] },
    key: KEY,
    calls: [],
    writes: [{ op: 'patchStatus', name: 'rst', phase: 'Failed', conditions: [c(C.Ready, 'False', R.MissingCheckpointName)] }],
    events: [{ type: 'Warning', reason: R.MissingCheckpointName }],
    result: 'done',
  },
  {
    name: 'the checkpoint not Ready yet: waits for it, as a NewPod restore does',
    world: { checkpoints: [checkpoint('ckpt', { status: { phase: 'Checkpointing' } })], restores: [pr()] },
    key: KEY,
    calls: [],
    writes: [{ op: 'patchStatus', phase: 'Pending', conditions: [c(C.Ready, 'False', R.WaitingForCheckpoint)] }],
    events: [],
    result: 'requeue',
  },
  {
    name: 'no replacement yet: Pending WaitingForReplacement, requeued; never a POST',
    world: { checkpoints: [ckpt()], restores: [pr()] },
    key: KEY,
    calls: [],
    writes: [{ op: 'patchStatus', name: 'rst', phase: 'Pending', conditions: [c(C.Ready, 'False', R.WaitingForReplacement)], status: { checkpointName: 'web' } }],
    events: [],
    result: 'requeue',
  },
  {
    name: 'no replacement within --restored-pod-timeout: Failed ReplacementNotFound',
    world: { checkpoints: [ckpt()], restores: [pr({ createdAgoMs: 3_000, status: { phase: 'Pending', waitingSince: iso(-3_000) } })] },
    key: KEY,
    calls: [],
    writes: [{ op: 'patchStatus', name: 'rst', phase: 'Failed', conditions: [c(C.Ready, 'False', R.ReplacementNotFound)] }],
    events: [{ type: 'Warning', reason: R.ReplacementNotFound }],
    result: 'done',
  },
  {
    name: 'the replacement, and Cedana not restoring it yet: Restoring WaitingForCedanaRestore naming it',
    world: { checkpoints: [ckpt()], restores: [pr()], pods: [owned('web-new')] },
    key: KEY,
    script: { latestPodAction: ok(undefined), listActions: ok([checkpointAction]) },
    calls: lookedUp('uid-web-new'),
    writes: [{ op: 'patchStatus', name: 'rst', phase: 'Restoring', conditions: [c(C.Ready, 'False', R.WaitingForCedanaRestore)], status: { restoredPod: { name: 'web-new', uid: 'uid-web-new' } } }],
    events: [{ reason: 'ReplacementFound' }],
    result: 'requeue',
  },
  {
    name: 'from_pod of the replacement answers a running restore: Restoring with its action',
    world: { checkpoints: [ckpt()], restores: [pr()], pods: [owned('web-new')] },
    key: KEY,
    script: { latestPodAction: ok(RST), listActions: ok([checkpointAction, restoreAction('processing')]) },
    calls: [{ method: 'latestPodAction', podId: 'uid-web-new' }, { method: 'listActions' }],
    writes: [
      {
        op: 'patchStatus',
        name: 'rst',
        phase: 'Restoring',
        conditions: [c(C.Submitted, 'True', 'DeclarativeRestore'), c(C.Ready, 'False', R.Restoring)],
        status: { restoreActionId: RST, checkpointId: CKPT_ID },
      },
    ],
    events: [],
    result: 'requeue',
  },
  {
    name: 'from_pod answers a done restore: Succeeded, naming the replacement and the evacuation checkpoint',
    world: { checkpoints: [ckpt()], restores: [pr()], pods: [owned('web-new')] },
    key: KEY,
    script: { latestPodAction: ok(RST), listActions: ok([checkpointAction, restoreAction('ready')]) },
    calls: [{ method: 'latestPodAction', podId: 'uid-web-new' }, { method: 'listActions' }],
    writes: [
      {
        op: 'patchStatus',
        name: 'rst',
        phase: 'Succeeded',
        conditions: [c(C.Submitted, 'True', 'DeclarativeRestore'), c(C.Restored, 'True', R.CedanaReady), c(C.Ready, 'True', R.Restored)],
        status: { restoredPod: { name: 'web-new', uid: 'uid-web-new', nodeName: 'node-b' }, restoreActionId: RST, checkpointId: CKPT_ID, checkpointName: 'web' },
      },
    ],
    events: [{ type: 'Normal', reason: 'Restored' }],
    result: 'done',
    check: (env) => {
      expect(env.objects.writes[0]).toMatchObject({ status: { message: expect.stringContaining('the evacuation checkpoint') as unknown } });
    },
  },
  {
    name: 'from_pod answers a later heartbeat: the listing has the restore of our checkpoint made with the pod',
    world: { checkpoints: [ckpt()], restores: [pr()], pods: [owned('web-new')] },
    key: KEY,
    script: { latestPodAction: ok(ACT), listActions: ok([checkpointAction, restoreAction('success')]) },
    calls: [{ method: 'latestPodAction', podId: 'uid-web-new' }, { method: 'listActions' }],
    writes: [{ op: 'patchStatus', phase: 'Succeeded', status: { restoreActionId: RST } }],
    events: [{ reason: 'Restored' }],
    result: 'done',
  },
  {
    name: 'a restore of our checkpoint older than the replacement is not its restore',
    world: { checkpoints: [ckpt()], restores: [pr()], pods: [owned('web-new', { createdAgoMs: 500 })] },
    key: KEY,
    script: { latestPodAction: ok(undefined), listActions: ok([checkpointAction, restoreAction('ready', CKPT_ID, iso(-5_000))]) },
    calls: lookedUp('uid-web-new'),
    writes: [{ op: 'patchStatus', phase: 'Restoring', conditions: [c(C.Ready, 'False', R.WaitingForCedanaRestore)] }],
    events: [{ reason: 'ReplacementFound' }],
    result: 'requeue',
  },
  {
    name: 'Cedana restored it from another checkpoint of the same name: Succeeded, and it says which',
    world: { checkpoints: [ckpt()], restores: [pr()], pods: [owned('web-new')] },
    key: KEY,
    script: { latestPodAction: ok(RST), listActions: ok([checkpointAction, restoreAction('ready', OTHER_CKPT)]) },
    calls: [{ method: 'latestPodAction', podId: 'uid-web-new' }, { method: 'listActions' }],
    writes: [{ op: 'patchStatus', phase: 'Succeeded', status: { checkpointId: OTHER_CKPT } }],
    events: [{ reason: 'Restored' }],
    result: 'done',
    check: (env) => {
      expect(env.objects.writes[0]).toMatchObject({ status: { message: expect.stringContaining(`checkpoint ${OTHER_CKPT}`) as unknown } });
    },
  },
  {
    name: "Cedana's restore of the replacement failed: Failed RestoreFailed",
    world: { checkpoints: [ckpt()], restores: [pr()], pods: [owned('web-new')] },
    key: KEY,
    script: { latestPodAction: ok(RST), listActions: ok([checkpointAction, restoreAction('error')]) },
    calls: [{ method: 'latestPodAction', podId: 'uid-web-new' }, { method: 'listActions' }],
    writes: [{ op: 'patchStatus', phase: 'Failed', conditions: [c(C.Ready, 'False', R.RestoreFailed)], status: { restoreActionId: RST } }],
    events: [{ type: 'Warning', reason: R.RestoreFailed }],
    result: 'done',
  },
  {
    name: 'the replacement started and Cedana did not restore it within --restored-pod-timeout: Failed ReplacementNotRestored, naming it',
    world: { checkpoints: [ckpt()], restores: [pr({ createdAgoMs: 5_000 })], pods: [owned('web-new', { createdAgoMs: 3_000 })] },
    key: KEY,
    script: { latestPodAction: ok(undefined), listActions: ok([checkpointAction]) },
    calls: lookedUp('uid-web-new'),
    writes: [{ op: 'patchStatus', name: 'rst', phase: 'Failed', conditions: [c(C.Ready, 'False', R.ReplacementNotRestored)], status: { restoredPod: { name: 'web-new', uid: 'uid-web-new' } } }],
    events: [{ type: 'Warning', reason: R.ReplacementNotRestored }],
    result: 'done',
  },
  {
    name: 'the followed replacement deleted by its owner: said so, and the next one is looked for',
    world: {
      checkpoints: [ckpt()],
      restores: [pr({ status: { phase: 'Restoring', restoredPod: { name: 'web-new', uid: 'uid-web-new' }, conditions: [cond(C.Ready, 'False', R.WaitingForCedanaRestore)] } })],
      pods: [owned('web-new', { deleting: true })],
    },
    key: KEY,
    calls: [],
    writes: [{ op: 'patchStatus', name: 'rst', phase: 'Pending', conditions: [c(C.Ready, 'False', R.WaitingForReplacement)] }],
    events: [{ reason: 'ReplacementGone' }],
    result: 'requeue',
    check: (env) => {
      const status = (env.objects.server.get('podrestores/default/rst') as { status?: Record<string, unknown> } | undefined)?.status;
      expect(status?.restoredPod).toBeUndefined();
      expect(status?.waitingSince).toBeDefined();
    },
  },
  {
    name: 'the followed replacement gone, a newer one there: the newer one is followed',
    world: {
      checkpoints: [ckpt()],
      restores: [pr({ status: { phase: 'Restoring', restoredPod: { name: 'web-new', uid: 'uid-web-new' } } })],
      pods: [owned('web-newer', { createdAgoMs: 100 })],
    },
    key: KEY,
    script: { latestPodAction: ok(undefined), listActions: ok([checkpointAction]) },
    calls: lookedUp('uid-web-newer'),
    writes: [{ op: 'patchStatus', phase: 'Restoring', status: { restoredPod: { name: 'web-newer', uid: 'uid-web-newer' } } }],
    events: [{ reason: 'ReplacementGone' }, { reason: 'ReplacementFound' }],
    result: 'requeue',
  },
  {
    name: 'an older sibling of the ReplicaSet (made before the evacuation) is no replacement',
    world: { checkpoints: [ckpt()], restores: [pr()], pods: [owned('web-sibling', { createdAgoMs: 60_000 })] },
    key: KEY,
    calls: [],
    writes: [{ op: 'patchStatus', phase: 'Pending', conditions: [c(C.Ready, 'False', R.WaitingForReplacement)] }],
    events: [],
    result: 'requeue',
  },
  {
    name: 'a pod of the owner with another CEDANA_CHECKPOINT value is no replacement',
    world: { checkpoints: [ckpt()], restores: [pr()], pods: [owned('web-new', { env: [{ name: 'CEDANA_CHECKPOINT', value: 'other' }] })] },
    key: KEY,
    calls: [],
    writes: [{ op: 'patchStatus', phase: 'Pending', conditions: [c(C.Ready, 'False', R.WaitingForReplacement)] }],
    events: [],
    result: 'requeue',
  },
  {
    name: 'a pod of another owner is no replacement',
    world: { checkpoints: [ckpt()], restores: [pr()], pods: [owned('web-new', { owner: { ...RS, uid: 'uid-other-rs' } })] },
    key: KEY,
    calls: [],
    writes: [{ op: 'patchStatus', phase: 'Pending', conditions: [c(C.Ready, 'False', R.WaitingForReplacement)] }],
    events: [],
    result: 'requeue',
  },
  {
    name: 'StatefulSet: only the pod of the same name (trainer-0, a new uid, its name from metadata.name) is the replacement',
    world: {
      checkpoints: [ckpt()],
      restores: [pr({ owner: STS, podName: 'trainer-0', checkpointName: 'trainer-0' })],
      pods: [
        owned('trainer-1', { owner: STS, env: [{ name: 'CEDANA_CHECKPOINT', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }),
        owned('trainer-0', { owner: STS, uid: 'uid-trainer-0-new', env: [{ name: 'CEDANA_CHECKPOINT', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }),
      ],
    },
    key: KEY,
    script: { latestPodAction: ok(RST), listActions: ok([checkpointAction, restoreAction('ready')]) },
    calls: [{ method: 'latestPodAction', podId: 'uid-trainer-0-new' }, { method: 'listActions' }],
    writes: [{ op: 'patchStatus', phase: 'Succeeded', status: { restoredPod: { name: 'trainer-0', uid: 'uid-trainer-0-new' }, checkpointName: 'trainer-0' } }],
    events: [{ reason: 'Restored' }],
    result: 'done',
  },
  {
    name: 'indexed Job: only the pod of the same completion index, its name "<job>-$(JOB_COMPLETION_INDEX)"',
    world: {
      checkpoints: [ckpt()],
      restores: [pr({ owner: JOB, podName: 'batch-0-abcde', checkpointName: 'batch-0', index: '0' })],
      pods: [owned('batch-1-xyz12', { owner: JOB, index: '1', env: jobEnv() }), owned('batch-0-fghij', { owner: JOB, index: '0', env: jobEnv() })],
    },
    key: KEY,
    script: { latestPodAction: ok(RST), listActions: ok([checkpointAction, restoreAction('ready')]) },
    calls: [{ method: 'latestPodAction', podId: 'uid-batch-0-fghij' }, { method: 'listActions' }],
    writes: [{ op: 'patchStatus', phase: 'Succeeded', status: { restoredPod: { name: 'batch-0-fghij' }, checkpointName: 'batch-0' } }],
    events: [{ reason: 'Restored' }],
    result: 'done',
  },
  {
    name: 'a Job that is not indexed (parallelism 1): any new pod of the Job with the same value',
    world: {
      checkpoints: [ckpt()],
      restores: [pr({ owner: JOB, podName: 'batch-abcde', checkpointName: 'batch' })],
      pods: [owned('batch-fghij', { owner: JOB, env: [{ name: 'CEDANA_CHECKPOINT', value: 'batch' }] })],
    },
    key: KEY,
    script: { latestPodAction: ok(RST), listActions: ok([checkpointAction, restoreAction('ready')]) },
    calls: [{ method: 'latestPodAction', podId: 'uid-batch-fghij' }, { method: 'listActions' }],
    writes: [{ op: 'patchStatus', phase: 'Succeeded', status: { restoredPod: { name: 'batch-fghij' } } }],
    events: [{ reason: 'Restored' }],
    result: 'done',
  },
  {
    name: "another controller's pod (a custom kind): matched by owner uid and value, as a ReplicaSet's",
    world: {
      checkpoints: [ckpt()],
      restores: [pr({ owner: { kind: 'TrainJob', name: 'llm', uid: OWNER_UID }, podName: 'llm-node-0', checkpointName: 'llm-0' })],
      pods: [owned('llm-node-0-b', { owner: { kind: 'TrainJob', name: 'llm', uid: OWNER_UID }, env: [{ name: 'CEDANA_CHECKPOINT', value: 'llm-0' }] })],
    },
    key: KEY,
    script: { latestPodAction: ok(RST), listActions: ok([checkpointAction, restoreAction('ready')]) },
    calls: [{ method: 'latestPodAction', podId: 'uid-llm-node-0-b' }, { method: 'listActions' }],
    writes: [{ op: 'patchStatus', phase: 'Succeeded', status: { restoredPod: { name: 'llm-node-0-b' } } }],
    events: [{ reason: 'Restored' }],
    result: 'done',
  },
  {
    name: 'Succeeded: nothing more',
    world: { checkpoints: [ckpt()], restores: [pr({ status: { phase: 'Succeeded' } })], pods: [owned('web-new')] },
    key: KEY,
    calls: [],
    writes: [],
    events: [],
    result: 'done',
  },
];

function jobEnv(): Record<string, unknown>[] {
  return [
    { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX}']` } } },
    { name: 'CEDANA_CHECKPOINT', value: 'batch-$(JOB_COMPLETION_INDEX)' },
  ];
}

const INDEXES: Indexes = { restores: [restoresByCheckpoint, restoresByPodName, restoresByOwnerUID], pods: [podsByControllerUID] };

describe('PodRestoreReconciler, mode OwnerReplacement', () => {
  beforeEach(() => {
    useFakeClock();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(cases)('$name', async (row) => {
    const env = await runCase(row, INDEXES, (e: Env) => new PodRestoreReconciler(e.ctx, e.restores, e.checkpoints, e.pods));
    // The declarative restore is Cedana's: the operator never asks for a second pod.
    expect(env.cedana.calls.some((call) => call.method === 'restorePod')).toBe(false);
  });
});
