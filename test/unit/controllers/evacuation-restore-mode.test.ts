// EvacuationRestoreReconciler, the restore's mode, table-driven: a pod with a controller owner
// (recorded on its evacuation checkpoint when it was made) gets an OwnerReplacement PodRestore
// unless its policy says restore.mode NewPod; a bare pod always a NewPod one.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LABELS, NODE_ANNOTATION, RESTORE_REASON_ANNOTATION } from '../../../src/api/pod.ts';
import { EvacuationRestoreReconciler } from '../../../src/controllers/evacuation-restore.ts';
import { evacuationCheckpointsByNode } from '../../../src/controllers/evacuation.ts';
import { checkpointsByPodUID, podsByUID } from '../../../src/controllers/owned-objects.ts';
import { IDENTITY, identityAnnotations } from '../../../src/controllers/owner-replacement.ts';
import { checkpoint, node, pod, policy, runCase, useFakeClock, type Case, type Env, type Indexes } from './fixtures.ts';

const NAME = 'web-abc-evac-1234567890';
const KEY = `default/${NAME}`;
const policyOwner = (uid = 'uid-workers') => [{ apiVersion: 'cedana.ai/v1alpha1', kind: 'CheckpointPolicy', name: 'workers', uid }];
const RS = { kind: 'ReplicaSet', name: 'web-5574cb695f', uid: 'uid-rs' };

const evac = (o: { owner?: typeof RS | undefined; checkpointName?: string; index?: string; byPolicy?: boolean } = {}) =>
  checkpoint(NAME, {
    meta: {
      labels: { [LABELS.trigger]: 'evacuation', [LABELS.podUID]: 'uid-web-abc', [LABELS.pod]: 'web-abc' },
      annotations: {
        [RESTORE_REASON_ANNOTATION]: 'nodeTermination',
        [NODE_ANNOTATION]: 'node-a',
        ...(o.owner ? { [IDENTITY.ownerAPIVersion]: 'apps/v1', [IDENTITY.ownerKind]: o.owner.kind, [IDENTITY.ownerName]: o.owner.name, [IDENTITY.ownerUID]: o.owner.uid } : {}),
        ...(o.checkpointName !== undefined ? { [IDENTITY.checkpointName]: o.checkpointName } : {}),
        ...(o.index !== undefined ? { [IDENTITY.completionIndex]: o.index } : {}),
      },
      ...(o.byPolicy === false ? {} : { ownerReferences: policyOwner() }),
    },
    spec: { podName: 'web-abc' },
    status: { phase: 'Ready', podUID: 'uid-web-abc', actionId: 'a0000000-0000-4000-8000-000000000000' },
  });

const created = (spec: Record<string, unknown>) => ({ op: 'createIfAbsent', plural: 'podrestores', kind: 'PodRestore', name: NAME, outcome: 'created', spec }) as const;
const ownerReplacement = (extra: Record<string, unknown> = {}) =>
  created({
    checkpointRef: { name: NAME },
    reason: 'nodeTermination',
    mode: 'OwnerReplacement',
    checkpointName: 'web',
    owner: { apiVersion: 'apps/v1', ...RS },
    originalPod: { name: 'web-abc', uid: 'uid-web-abc' },
    ...extra,
  });
const newPodSpec = (env: Env) => (env.objects.writes[0] as { spec?: Record<string, unknown> } | undefined)?.spec;

const cases: (Case & { newPod?: boolean })[] = [
  {
    name: 'a ReplicaSet pod, its policy silent (Auto): OwnerReplacement with the owner, the original pod and the checkpoint name',
    world: { checkpoints: [evac({ owner: RS, checkpointName: 'web' })], policies: [policy('workers')], nodes: [node('node-a')] },
    key: KEY,
    calls: [],
    writes: [ownerReplacement()],
    events: [],
    result: 'done',
  },
  {
    name: 'restore.mode OwnerReplacement said outright: the same',
    world: { checkpoints: [evac({ owner: RS, checkpointName: 'web' })], policies: [policy('workers', { spec: { restore: { mode: 'OwnerReplacement' } } })], nodes: [node('node-a')] },
    key: KEY,
    calls: [],
    writes: [ownerReplacement()],
    events: [],
    result: 'done',
  },
  {
    name: 'an indexed Job pod: its completion index is carried',
    world: { checkpoints: [evac({ owner: { kind: 'Job', name: 'batch', uid: 'uid-rs' }, checkpointName: 'web', index: '4' })], policies: [policy('workers')], nodes: [node('node-a')] },
    key: KEY,
    calls: [],
    writes: [created({ mode: 'OwnerReplacement', owner: { kind: 'Job', name: 'batch' }, originalPod: { name: 'web-abc', uid: 'uid-web-abc', completionIndex: '4' } })],
    events: [],
    result: 'done',
  },
  {
    name: 'an owned pod without CEDANA_CHECKPOINT: OwnerReplacement without a name (its reconciler reports it), never a second pod',
    world: { checkpoints: [evac({ owner: RS })], policies: [policy('workers')], nodes: [node('node-a')] },
    key: KEY,
    calls: [],
    writes: [created({ mode: 'OwnerReplacement', owner: { kind: 'ReplicaSet' } })],
    events: [],
    result: 'done',
    check: (env) => {
      expect(newPodSpec(env)).not.toHaveProperty('checkpointName');
    },
  },
  {
    name: 'a label-protected owned pod (no policy): the same default, OwnerReplacement',
    world: { checkpoints: [evac({ owner: RS, checkpointName: 'web', byPolicy: false })], nodes: [node('node-a')] },
    key: KEY,
    calls: [],
    writes: [ownerReplacement()],
    events: [],
    result: 'done',
  },
  {
    name: "restore.mode NewPod: today's restore, even for an owned pod",
    world: { checkpoints: [evac({ owner: RS, checkpointName: 'web' })], policies: [policy('workers', { spec: { restore: { mode: 'NewPod' } } })], nodes: [node('node-a')] },
    key: KEY,
    calls: [],
    writes: [created({ checkpointRef: { name: NAME }, reason: 'nodeTermination' })],
    events: [],
    result: 'done',
    newPod: true,
  },
  {
    name: 'a bare pod: a NewPod restore, even under restore.mode OwnerReplacement (no owner would replace it)',
    world: { checkpoints: [evac()], policies: [policy('workers', { spec: { restore: { mode: 'OwnerReplacement' } } })], nodes: [node('node-a')] },
    key: KEY,
    calls: [],
    writes: [created({ checkpointRef: { name: NAME }, reason: 'nodeTermination' })],
    events: [],
    result: 'done',
    newPod: true,
  },
  {
    name: 'a policy of the same name but another uid (recreated) does not decide: Auto',
    world: { checkpoints: [evac({ owner: RS, checkpointName: 'web' })], policies: [policy('workers', { uid: 'uid-new', spec: { restore: { mode: 'NewPod' } } })], nodes: [node('node-a')] },
    key: KEY,
    calls: [],
    writes: [ownerReplacement()],
    events: [],
    result: 'done',
  },
];

const INDEXES: Indexes = { checkpoints: [checkpointsByPodUID, evacuationCheckpointsByNode], pods: [podsByUID] };

describe('EvacuationRestoreReconciler: the restore mode', () => {
  beforeEach(() => {
    useFakeClock();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(cases)('$name', async (row) => {
    const env = await runCase(row, INDEXES, (e: Env) => new EvacuationRestoreReconciler(e.ctx, e.checkpoints, e.pods, e.nodes, e.policies));
    if (row.newPod) {
      for (const key of ['mode', 'owner', 'originalPod', 'checkpointName']) expect(newPodSpec(env)).not.toHaveProperty(key);
    }
  });
});

describe('identityAnnotations (what an evacuation checkpoint records of its pod)', () => {
  it('a bare pod: nothing', () => {
    expect(identityAnnotations(pod('bare'))).toEqual({});
  });
  it('an owned pod: its controller owner, not another owner reference', () => {
    const p = pod('web-abc', {
      meta: {
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'uid-x' },
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: RS.name, uid: RS.uid, controller: true },
        ],
      },
    });
    expect(identityAnnotations(p)).toEqual({ [IDENTITY.ownerAPIVersion]: 'apps/v1', [IDENTITY.ownerKind]: 'ReplicaSet', [IDENTITY.ownerName]: RS.name, [IDENTITY.ownerUID]: RS.uid });
  });
});
