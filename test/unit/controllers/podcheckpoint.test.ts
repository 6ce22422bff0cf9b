// PodCheckpointReconciler, table-driven: given these objects and this Cedana script, one reconcile
// makes these calls, writes these statuses, records these events and returns this.
import { KubeHttpError } from '../../../src/kube/errors.ts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CHECKPOINT_CONDITIONS as C, CHECKPOINT_REASONS as R } from '../../../src/api/conditions.ts';
import { CHECKPOINT_FINALIZER } from '../../../src/api/podcheckpoint.ts';
import { ACTION_ANNOTATION, SUBMITTED_AT_ANNOTATION } from '../../../src/controllers/owned-objects.ts';
import { PodCheckpointReconciler, checkpointsByActionId } from '../../../src/controllers/podcheckpoint.ts';
import { findCondition } from '../../../src/kube/conditions.ts';
import { CedanaApiError, ConflictError, T0, action, c, checkpoint, cond, fail, iso, ok, pod, runCase, timeout, useFakeClock, type Case, type Env } from './fixtures.ts';

const ACT = '11111111-1111-4111-8111-111111111111';
const LOST = '22222222-2222-4222-8222-222222222222';
const NEW = '33333333-3333-4333-8333-333333333333';
const CKPT_ID = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const KEY = 'default/ckpt';

const app = pod('app', { uid: 'uid-app' });
const fin = { finalizers: [CHECKPOINT_FINALIZER] };
/** A new PodCheckpoint of pod app, as the operator creates its own (finalizer already set). */
const fresh = (spec: Record<string, unknown> = {}) => checkpoint('ckpt', { meta: fin, spec });
/** One whose POST was sent, and whose answer may have been lost. */
const intent = checkpoint('ckpt', { meta: fin, status: { phase: 'Pending', submitStartedAt: iso(-10_000), podUID: 'uid-app', conditions: [cond(C.Submitted, 'Unknown', R.Submitting)] } });
/** One Cedana is working on, spec uploaded. */
const working = (extra: Record<string, unknown> = {}) =>
  checkpoint('ckpt', {
    meta: fin,
    status: {
      phase: 'Checkpointing',
      actionId: ACT,
      podUID: 'uid-app',
      cedanaStatus: 'processing',
      submitStartedAt: iso(-20_000),
      submittedAt: iso(-19_000),
      conditions: [cond(C.Submitted, 'True', R.Submitted), cond(C.Ready, 'False', R.Checkpointing), cond(C.SpecUploaded, 'True', R.Uploaded)],
      ...extra,
    },
  });

const posted = { method: 'checkpointPod', pod_name: 'app', pod_id: 'uid-app', namespace: 'default', cluster_id: 'cluster-1', kind: 'simple', reason: 'manual' } as const;
const uploaded = { method: 'uploadPodSpec', action_id: ACT, pod_id: 'uid-app' } as const;
const polled = (actionId = ACT) => ({ method: 'getCheckpointStatus', actionId }) as const;

const intentWritten = { op: 'patchStatus', name: 'ckpt', phase: 'Pending', conditions: [c(C.Submitted, 'Unknown', R.Submitting)] } as const;
/** Submission, upload and the first poll gathered into one write. */
const submittedWritten = (actionId = ACT, cedanaStatus = 'processing') =>
  ({
    op: 'patchStatus',
    name: 'ckpt',
    phase: 'Checkpointing',
    conditions: [c(C.Submitted, 'True', R.Submitted), c(C.Ready, 'False', R.Checkpointing), c(C.SpecUploaded, 'True', R.Uploaded)],
    status: { actionId, cedanaStatus },
  }) as const;
const failedWritten = (reason: string) => ({ op: 'patchStatus', name: 'ckpt', phase: 'Failed', conditions: [c(C.Ready, 'False', reason)] }) as const;

const serverCopy = (env: Env) => env.objects.get('podcheckpoints', 'default', 'ckpt');

const cases: Case[] = [
  {
    name: 'new: intent written, POST once, Submitted written, spec uploaded, polled',
    world: { pods: [app], checkpoints: [fresh()] },
    key: KEY,
    script: { checkpointPod: ok(ACT), uploadPodSpec: ok(ACT), getCheckpointStatus: ok({ status: 'processing' }) },
    calls: [{ ...posted, overrides: null }, uploaded, polled()],
    writes: [intentWritten, submittedWritten()],
    events: [{ type: 'Normal', reason: 'Submitted' }],
    result: { requeueAfterMs: 50 },
    check: (env) => {
      expect(env.journal.indexOf('objects.patchStatus podcheckpoints/ckpt')).toBeLessThan(env.journal.indexOf('cedana.checkpointPod'));
      expect(serverCopy(env)?.status).toMatchObject({ phase: 'Checkpointing', actionId: ACT, podUID: 'uid-app', nodeName: 'node-a', submitStartedAt: iso(), submittedAt: iso() });
    },
  },
  {
    name: 'new without the finalizer: the finalizer is added first',
    world: { pods: [app], checkpoints: [checkpoint('ckpt')] },
    key: KEY,
    script: { checkpointPod: ok(ACT), uploadPodSpec: ok(ACT), getCheckpointStatus: ok({ status: 'processing' }) },
    calls: [posted, uploaded, polled()],
    writes: [{ op: 'setFinalizers', name: 'ckpt', finalizers: [CHECKPOINT_FINALIZER] }, intentWritten, submittedWritten()],
    events: [{ reason: 'Submitted' }],
    result: 'requeue',
  },
  {
    name: 'overrides are passed to Cedana',
    world: { pods: [app], checkpoints: [fresh({ overrides: { compression: 'lz4', criuOpts: '{"tcp_established":true}' } })] },
    key: KEY,
    script: { checkpointPod: ok(ACT), uploadPodSpec: ok(ACT), getCheckpointStatus: ok({ status: 'initialized' }) },
    calls: [{ ...posted, overrides: { compression: 'lz4', criu_opts: '{"tcp_established":true}' } }, uploaded, polled()],
    writes: [intentWritten, submittedWritten(ACT, 'initialized')],
    events: [{ reason: 'Submitted' }],
    result: 'requeue',
  },
  {
    name: 'a pod the cache has not seen yet is read from the apiserver',
    world: { uncachedPods: [app], checkpoints: [fresh()] },
    key: KEY,
    script: { checkpointPod: ok(ACT), uploadPodSpec: ok(ACT), getCheckpointStatus: ok({ status: 'processing' }) },
    calls: [posted, uploaded, polled()],
    writes: [intentWritten, submittedWritten()],
    events: [{ reason: 'Submitted' }],
    result: 'requeue',
  },
  {
    name: 'posted by the node-termination fast path (action in the annotations): recorded, not posted again',
    world: {
      pods: [app],
      checkpoints: [
        checkpoint('ckpt', {
          meta: {
            ...fin,
            labels: { 'cedana.ai/trigger': 'evacuation', 'cedana.ai/pod-uid': 'uid-app' },
            annotations: { [ACTION_ANNOTATION]: ACT, [SUBMITTED_AT_ANNOTATION]: iso(-2_000), 'cedana.ai/node-name': 'node-a' },
          },
        }),
      ],
    },
    key: KEY,
    script: { uploadPodSpec: ok(ACT), getCheckpointStatus: ok({ status: 'processing' }) },
    calls: [uploaded, polled()],
    writes: [{ ...submittedWritten(), status: { actionId: ACT, podUID: 'uid-app', nodeName: 'node-a', submittedAt: iso(-2_000) } }],
    events: [],
    result: 'requeue',
  },
  {
    name: 'the pod gone before its spec was uploaded: SpecUploaded False PodGone, polling goes on',
    world: { checkpoints: [working({ conditions: [cond(C.Submitted, 'True', R.Submitted)] })] },
    key: KEY,
    script: { getCheckpointStatus: ok({ status: 'processing' }) },
    calls: [polled()],
    writes: [{ op: 'patchStatus', phase: 'Checkpointing', conditions: [c(C.SpecUploaded, 'False', 'PodGone')] }],
    events: [],
    result: 'requeue',
  },
  {
    name: 'pod missing: Failed PodNotFound, nothing sent',
    world: { checkpoints: [fresh()] },
    key: KEY,
    calls: [],
    writes: [failedWritten(R.PodNotFound)],
    events: [{ type: 'Warning', reason: R.PodNotFound }],
    result: 'done',
    check: (env) => {
      expect(env.core.reads).toContain('default/app');
    },
  },
  {
    name: 'pod replaced before the POST: Failed PodReplaced',
    world: { pods: [pod('app', { uid: 'uid-app-2' })], checkpoints: [intent] },
    key: KEY,
    calls: [],
    writes: [failedWritten(R.PodReplaced)],
    events: [{ type: 'Warning', reason: R.PodReplaced }],
    result: 'done',
  },
  {
    name: 'Cedana 400 on POST: Failed CedanaRejected with the API message',
    world: { pods: [app], checkpoints: [fresh()] },
    key: KEY,
    script: { checkpointPod: fail(400, 'invalid kind') },
    calls: [posted],
    writes: [intentWritten, { ...failedWritten(R.CedanaRejected), status: { message: 'Cedana rejected the checkpoint: invalid kind' } }],
    events: [{ type: 'Warning', reason: R.CedanaRejected }],
    result: 'done',
  },
  {
    name: 'Cedana 503 on POST: CedanaUnavailable written once, the error thrown',
    world: { pods: [app], checkpoints: [fresh()] },
    key: KEY,
    script: { checkpointPod: fail(503) },
    calls: [posted],
    writes: [intentWritten, { op: 'patchStatus', name: 'ckpt', phase: 'Pending', conditions: [c(C.Submitted, 'Unknown', R.CedanaUnavailable)] }],
    events: [],
    result: { throws: CedanaApiError, status: 503 },
  },
  {
    name: 'a timeout on POST is transient too: CedanaUnavailable, thrown',
    world: { pods: [app], checkpoints: [fresh()] },
    key: KEY,
    script: { checkpointPod: timeout },
    calls: [posted],
    writes: [intentWritten, { conditions: [c(C.Submitted, 'Unknown', R.CedanaUnavailable)] }],
    events: [],
    result: { throws: CedanaApiError },
  },
  {
    name: 'intent present, the latest action unclaimed and fresh: adopted, no second POST',
    world: { pods: [app], checkpoints: [intent] },
    key: KEY,
    script: { latestPodAction: ok(LOST), listActions: ok([action(LOST, { at: iso(-9_000) })]), uploadPodSpec: ok(LOST), getCheckpointStatus: ok({ status: 'processing' }) },
    calls: [{ method: 'latestPodAction', podId: 'uid-app' }, { method: 'listActions' }, { ...uploaded, action_id: LOST }, polled(LOST)],
    writes: [submittedWritten(LOST)],
    events: [{ reason: 'Submitted' }],
    result: 'requeue',
  },
  {
    name: 'intent present, the latest action claimed by another PodCheckpoint: POST again',
    world: { pods: [app], checkpoints: [intent, checkpoint('other', { status: { phase: 'Ready', actionId: LOST, podUID: 'uid-app' } })] },
    key: KEY,
    script: { latestPodAction: ok(LOST), checkpointPod: ok(NEW), uploadPodSpec: ok(NEW), getCheckpointStatus: ok({ status: 'processing' }) },
    calls: [{ method: 'latestPodAction', podId: 'uid-app' }, posted, { ...uploaded, action_id: NEW }, polled(NEW)],
    // The first intent stands (a retry does not rewrite it).
    writes: [submittedWritten(NEW)],
    events: [{ reason: 'Submitted' }],
    result: 'requeue',
  },
  {
    name: 'intent present, the latest action older than the intent: POST again',
    world: { pods: [app], checkpoints: [intent] },
    key: KEY,
    script: { latestPodAction: ok(LOST), listActions: ok([action(LOST, { at: iso(-3_600_000) })]), checkpointPod: ok(NEW), uploadPodSpec: ok(NEW), getCheckpointStatus: ok({ status: 'processing' }) },
    calls: [{ method: 'latestPodAction' }, { method: 'listActions' }, posted, { ...uploaded, action_id: NEW }, polled(NEW)],
    writes: [submittedWritten(NEW)],
    events: [{ reason: 'Submitted' }],
    result: 'requeue',
  },
  {
    name: "intent present, the latest action not in Cedana's listing yet: unknown is not new, thrown, nothing posted",
    world: { pods: [app], checkpoints: [intent] },
    key: KEY,
    script: { latestPodAction: ok(LOST), listActions: ok([]) },
    calls: [{ method: 'latestPodAction', podId: 'uid-app' }, { method: 'listActions' }],
    writes: [],
    events: [],
    result: { throws: Error },
  },
  {
    name: 'a checkpoint the operator made (trigger label): no Submitted event',
    world: { pods: [app], checkpoints: [checkpoint('ckpt', { meta: { ...fin, labels: { 'cedana.ai/trigger': 'heartbeat', 'cedana.ai/pod-uid': 'uid-app' } } })] },
    key: KEY,
    script: { checkpointPod: ok(ACT), uploadPodSpec: ok(ACT), getCheckpointStatus: ok({ status: 'processing' }) },
    calls: [posted, uploaded, polled()],
    writes: [intentWritten, submittedWritten()],
    events: [],
    result: 'requeue',
  },
  {
    name: 'intent present, Cedana knows no action of the pod: POST again',
    world: { pods: [app], checkpoints: [intent] },
    key: KEY,
    script: { latestPodAction: ok(undefined), checkpointPod: ok(NEW), uploadPodSpec: ok(NEW), getCheckpointStatus: ok({ status: 'processing' }) },
    calls: [{ method: 'latestPodAction' }, posted, { ...uploaded, action_id: NEW }, polled(NEW)],
    writes: [submittedWritten(NEW)],
    events: [{ reason: 'Submitted' }],
    result: 'requeue',
  },
  {
    name: 'upload failing transiently: polling continues, SpecUploaded False UploadPending',
    world: { pods: [app], checkpoints: [working({ conditions: [cond(C.Submitted, 'True', R.Submitted), cond(C.Ready, 'False', R.Checkpointing)] })] },
    key: KEY,
    script: { uploadPodSpec: fail(503), getCheckpointStatus: ok({ status: 'checkpoint_created' }) },
    calls: [uploaded, uploaded, uploaded, polled()],
    writes: [{ op: 'patchStatus', phase: 'Checkpointing', conditions: [c(C.SpecUploaded, 'False', 'UploadPending')], status: { cedanaStatus: 'checkpoint_created' } }],
    events: [],
    result: 'requeue',
  },
  {
    name: 'upload rejected (4xx): SpecUploaded False UploadRejected, polling goes on',
    world: { pods: [app], checkpoints: [working({ conditions: [cond(C.Submitted, 'True', R.Submitted)] })] },
    key: KEY,
    script: { uploadPodSpec: fail(422), getCheckpointStatus: ok({ status: 'processing' }) },
    calls: [uploaded, polled()],
    writes: [{ op: 'patchStatus', phase: 'Checkpointing', conditions: [c(C.SpecUploaded, 'False', R.UploadRejected)] }],
    events: [],
    result: 'requeue',
  },
  {
    name: 'status ready: Ready with the checkpointId from the actions listing',
    world: { pods: [app], checkpoints: [working()] },
    key: KEY,
    script: { getCheckpointStatus: ok({ status: 'ready' }), listActions: ok([action(ACT, { checkpointId: CKPT_ID })]) },
    calls: [polled(), { method: 'listActions' }],
    writes: [{ op: 'patchStatus', name: 'ckpt', phase: 'Ready', conditions: [c(C.Ready, 'True', R.CheckpointReady)], status: { checkpointId: CKPT_ID, cedanaStatus: 'ready' } }],
    events: [{ type: 'Normal', reason: 'Ready' }],
    result: 'done',
  },
  {
    name: 'status error: Failed CheckpointFailed',
    world: { pods: [app], checkpoints: [working()] },
    key: KEY,
    script: { getCheckpointStatus: ok({ status: 'error', details: 'criu dump failed' }) },
    calls: [polled()],
    writes: [{ ...failedWritten(R.CheckpointFailed), status: { cedanaStatus: 'error', message: 'Cedana reported error: criu dump failed' } }],
    events: [{ type: 'Warning', reason: R.CheckpointFailed }],
    result: 'done',
  },
  {
    name: 'status 404: Failed ActionNotFound',
    world: { pods: [app], checkpoints: [working()] },
    key: KEY,
    script: { getCheckpointStatus: fail(404, 'action not found') },
    calls: [polled()],
    writes: [failedWritten(R.ActionNotFound)],
    events: [{ type: 'Warning', reason: R.ActionNotFound }],
    result: 'done',
  },
  {
    name: 'status 503: Ready=False CedanaUnavailable says why, the error thrown',
    world: { pods: [app], checkpoints: [working()] },
    key: KEY,
    script: { getCheckpointStatus: fail(503) },
    calls: [polled()],
    writes: [{ op: 'patchStatus', conditions: [c(C.Ready, 'False', 'CedanaUnavailable')] }],
    events: [],
    result: { throws: CedanaApiError, status: 503 },
  },
  {
    name: 'unchanged progress: no write, polled again later',
    world: { pods: [app], checkpoints: [working()] },
    key: KEY,
    script: { getCheckpointStatus: ok({ status: 'processing' }) },
    calls: [polled()],
    writes: [],
    events: [],
    result: 'requeue',
  },
  {
    name: 'deletion with Deprecate: deprecateCheckpoint, then the finalizer removed',
    world: { checkpoints: [working({ phase: 'Ready', checkpointId: CKPT_ID })].map((pc) => ({ ...pc, metadata: { ...pc.metadata, deletionTimestamp: iso(-1_000) } })) },
    key: KEY,
    script: { deprecateCheckpoint: ok(CKPT_ID) },
    calls: [{ method: 'deprecateCheckpoint', id: CKPT_ID }],
    writes: [{ op: 'setFinalizers', name: 'ckpt', finalizers: [] }],
    events: [{ type: 'Normal', reason: 'Deprecated' }],
    result: 'done',
    check: (env) => {
      expect(env.journal).toEqual(['cedana.deprecateCheckpoint', 'objects.setFinalizers podcheckpoints/ckpt']);
      expect(serverCopy(env)).toBeUndefined();
    },
  },
  {
    name: 'deletion with Deprecate and no checkpointId: looked up in the actions listing',
    world: { checkpoints: [working()].map((pc) => ({ ...pc, metadata: { ...pc.metadata, deletionTimestamp: iso(-1_000) } })) },
    key: KEY,
    script: { listActions: ok([action(ACT, { checkpointId: CKPT_ID })]), deprecateCheckpoint: ok(CKPT_ID) },
    calls: [{ method: 'listActions' }, { method: 'deprecateCheckpoint', id: CKPT_ID }],
    writes: [{ op: 'setFinalizers', finalizers: [] }],
    events: [{ reason: 'Deprecated' }],
    result: 'done',
  },
  {
    name: 'deletion, Cedana refuses the deprecation (404): a Warning, the finalizer removed anyway',
    world: { checkpoints: [working({ phase: 'Ready', checkpointId: CKPT_ID })].map((pc) => ({ ...pc, metadata: { ...pc.metadata, deletionTimestamp: iso(-1_000) } })) },
    key: KEY,
    script: { deprecateCheckpoint: fail(404, 'no such checkpoint') },
    calls: [{ method: 'deprecateCheckpoint', id: CKPT_ID }],
    writes: [{ op: 'setFinalizers', finalizers: [] }],
    events: [{ type: 'Warning', reason: 'DeprecateFailed' }],
    result: 'done',
  },
  {
    name: 'deletion, Cedana unavailable (503): the finalizer stays, the error thrown',
    world: { checkpoints: [working({ phase: 'Ready', checkpointId: CKPT_ID })].map((pc) => ({ ...pc, metadata: { ...pc.metadata, deletionTimestamp: iso(-1_000) } })) },
    key: KEY,
    script: { deprecateCheckpoint: fail(503) },
    calls: [{ method: 'deprecateCheckpoint', id: CKPT_ID }],
    writes: [],
    events: [],
    result: { throws: CedanaApiError, status: 503 },
  },
  {
    name: 'deletion with Retain: no Cedana call, the finalizer removed',
    world: {
      checkpoints: [checkpoint('ckpt', { meta: { ...fin, deletionTimestamp: iso(-1_000) }, spec: { deletionPolicy: 'Retain' }, status: { phase: 'Ready', actionId: ACT, checkpointId: CKPT_ID } })],
    },
    key: KEY,
    calls: [],
    writes: [{ op: 'setFinalizers', finalizers: [] }],
    events: [],
    result: 'done',
  },
  {
    name: 'a 409 on the intent write: ConflictError thrown, nothing sent to Cedana',
    world: { pods: [app], checkpoints: [fresh()] },
    key: KEY,
    failures: [{ op: 'patchStatus', code: 409 }],
    calls: [],
    writes: [{ op: 'patchStatus', phase: 'Pending', rejected: 409 }],
    events: [],
    result: { throws: ConflictError },
  },
  {
    name: 'a 409 on the Ready write: ConflictError thrown',
    world: { pods: [app], checkpoints: [working()] },
    key: KEY,
    script: { getCheckpointStatus: ok({ status: 'ready' }), listActions: ok([action(ACT, { checkpointId: CKPT_ID })]) },
    failures: [{ op: 'patchStatus', code: 409 }],
    calls: [polled(), { method: 'listActions' }],
    writes: [{ op: 'patchStatus', phase: 'Ready', rejected: 409 }],
    events: [],
    result: { throws: ConflictError },
  },
  {
    name: 'a stale cache (the apiserver has a newer resourceVersion): ConflictError before any POST',
    world: { pods: [app], checkpoints: [fresh()], newerOnServer: ['podcheckpoints/default/ckpt'] },
    key: KEY,
    calls: [],
    writes: [{ op: 'patchStatus', rejected: 409 }],
    events: [],
    result: { throws: ConflictError },
    check: (env) => {
      expect(env.journal).toEqual(['objects.patchStatus podcheckpoints/ckpt']);
    },
  },
  {
    name: 'the object deleted meanwhile (404 on the intent write): the error surfaces, not a conflict, nothing sent',
    world: { pods: [app], checkpoints: [fresh()] },
    key: KEY,
    failures: [{ op: 'patchStatus', code: 404 }],
    calls: [],
    writes: [{ op: 'patchStatus', phase: 'Pending', rejected: 404 }],
    events: [],
    result: { throws: KubeHttpError, status: 404 },
  },
  {
    name: 'invalid criuOpts: Failed InvalidSpec, nothing sent',
    world: { pods: [app], checkpoints: [fresh({ overrides: { criuOpts: '[1, 2]' } })] },
    key: KEY,
    calls: [],
    writes: [failedWritten(R.InvalidSpec)],
    events: [{ type: 'Warning', reason: R.InvalidSpec }],
    result: 'done',
  },
  {
    name: 'already Failed: nothing',
    world: { pods: [app], checkpoints: [checkpoint('ckpt', { meta: fin, status: { phase: 'Failed' } })] },
    key: KEY,
    calls: [],
    writes: [],
    events: [],
    result: 'done',
  },
  {
    name: 'Ready with the upload pending: the upload retried, and done',
    world: { pods: [app], checkpoints: [working({ phase: 'Ready', conditions: [cond(C.Ready, 'True', R.CheckpointReady), cond(C.SpecUploaded, 'False', 'UploadPending')] })] },
    key: KEY,
    script: { uploadPodSpec: ok(ACT) },
    calls: [uploaded],
    writes: [{ op: 'patchStatus', conditions: [c(C.SpecUploaded, 'True', R.Uploaded)] }],
    events: [],
    result: 'done',
  },
  {
    name: 'gone from the cache: nothing',
    world: {},
    key: KEY,
    calls: [],
    writes: [],
    events: [],
    result: 'done',
  },
];

describe('PodCheckpointReconciler', () => {
  beforeEach(() => {
    useFakeClock();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(cases)('$name', async (row) => {
    await runCase(row, { checkpoints: [checkpointsByActionId] }, (env) => new PodCheckpointReconciler(env.ctx, env.checkpoints, env.pods));
  });

  // A POST that Cedana answered must not be forgotten because the status poll right after it
  // failed. BUG (src/controllers/podcheckpoint.ts, reconcile(): the submission is only staged, and
  // poll() throws on a transient getCheckpointStatus error before the staged write): the action id
  // is never written, the next reconcile has to find it again through latestPodAction and the
  // listing (and throws "unknown is not new" while the listing lags).
  it('a 503 on the first poll after a successful POST still records the action id', async () => {
    const env = await runCase(
      {
        name: 'poll 503 after POST',
        world: { pods: [app], checkpoints: [fresh()] },
        key: KEY,
        script: { checkpointPod: ok(ACT), uploadPodSpec: ok(ACT), getCheckpointStatus: fail(503) },
        calls: [posted, uploaded, polled()],
        writes: [intentWritten, { op: 'patchStatus', status: { actionId: ACT } }],
        events: [{ reason: 'Submitted' }],
        result: { throws: CedanaApiError, status: 503 },
      },
      { checkpoints: [checkpointsByActionId] },
      (e) => new PodCheckpointReconciler(e.ctx, e.checkpoints, e.pods),
    );
    expect(serverCopy(env)?.status?.actionId).toBe(ACT);
  });

  // The upload retries within one reconcile sleep 200 ms and 400 ms between three attempts; the
  // third failure should go straight to polling. BUG (src/controllers/podcheckpoint.ts, upload(),
  // the setTimeout in the retry loop): it also sleeps 800 ms after the last attempt, before giving
  // up, so a Cedana outage holds a worker 1.4 s per checkpoint instead of 0.6 s.
  it('gives up on the upload without sleeping after the last attempt', async () => {
    const env = await runCase(
      {
        name: 'upload retry pacing',
        world: { pods: [app], checkpoints: [working({ conditions: [cond(C.Submitted, 'True', R.Submitted)] })] },
        key: KEY,
        script: { uploadPodSpec: fail(503), getCheckpointStatus: ok({ status: 'processing' }) },
        calls: [uploaded, uploaded, uploaded, polled()],
        writes: [{ conditions: [c(C.SpecUploaded, 'False', 'UploadPending')] }],
        events: [],
        result: 'requeue',
      },
      { checkpoints: [checkpointsByActionId] },
      (e) => new PodCheckpointReconciler(e.ctx, e.checkpoints, e.pods),
    );
    expect(env.cedana.calls).toHaveLength(4);
    expect(Date.now() - T0).toBe(600);
  });

  // Across retries of a POST that keeps answering 503, the Submitted condition should say
  // CedanaUnavailable once, not flap. BUG (src/controllers/action-lifecycle.ts, submit(): every
  // retry rewrites the intent with Submitted=Unknown/Submitting and then compares the
  // CedanaUnavailable condition against that fresh write, so the "once per distinct reason" check
  // never holds): each retry costs two status writes and the reason flips Submitting ↔
  // CedanaUnavailable.
  it('a POST that keeps failing with 503 does not rewrite CedanaUnavailable on every retry', async () => {
    const env = await runCase(
      {
        name: '503 twice',
        world: { pods: [app], checkpoints: [fresh()] },
        key: KEY,
        rounds: 2,
        script: { checkpointPod: fail(503), latestPodAction: ok(undefined) },
        calls: [posted, { method: 'latestPodAction' }, posted],
        // Round 1: the intent and CedanaUnavailable. Round 2: nothing (the intent stands, the reason is the same).
        writes: [intentWritten, { conditions: [c(C.Submitted, 'Unknown', R.CedanaUnavailable)] }],
        events: [],
        result: { throws: CedanaApiError, status: 503 },
      },
      { checkpoints: [checkpointsByActionId] },
      (e) => new PodCheckpointReconciler(e.ctx, e.checkpoints, e.pods),
    );
    expect(findCondition(conditionsOf(env), C.Submitted)?.reason).toBe(R.CedanaUnavailable);
  });
});

const conditionsOf = (env: Env) => serverCopy(env)?.status?.conditions as Parameters<typeof findCondition>[0];
