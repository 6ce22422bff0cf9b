// EvacuationRestoreReconciler, table-driven: given an evacuation checkpoint, its pod and node, one
// reconcile creates this PodRestore (or nothing) and returns this.
import { afterEach, beforeEach, describe, it, vi } from 'vitest';
import { LABELS, NODE_ANNOTATION, RESTORE_REASON_ANNOTATION } from '../../../src/api/pod.ts';
import { EvacuationRestoreReconciler } from '../../../src/controllers/evacuation-restore.ts';
import { evacuationCheckpointsByNode } from '../../../src/controllers/evacuation.ts';
import { checkpointsByPodUID, podsByUID } from '../../../src/controllers/owned-objects.ts';
import { checkpoint, iso, node, pod, restore, runCase, useFakeClock, type Case, type Env, type Indexes } from './fixtures.ts';

const NAME = 'w-0-evac-1234567890';
const KEY = `default/${NAME}`;
const owner = [{ apiVersion: 'cedana.ai/v1alpha1', kind: 'CheckpointPolicy', name: 'workers', uid: 'uid-workers' }];

const evac = (o: { phase?: string; reason?: string; trigger?: string; deleting?: boolean; nodeName?: string } = {}) =>
  checkpoint(NAME, {
    meta: {
      labels: { [LABELS.trigger]: o.trigger ?? 'evacuation', [LABELS.podUID]: 'uid-w-0', [LABELS.pod]: 'w-0' },
      annotations: { ...(o.reason !== '' ? { [RESTORE_REASON_ANNOTATION]: o.reason ?? 'nodeTermination' } : {}), [NODE_ANNOTATION]: o.nodeName ?? 'node-a' },
      ownerReferences: owner,
      ...(o.deleting ? { deletionTimestamp: iso(-1_000), finalizers: ['x'] } : {}),
    },
    spec: { podName: 'w-0' },
    status: { phase: o.phase ?? 'Ready', podUID: 'uid-w-0', actionId: 'a0000000-0000-4000-8000-000000000000' },
  });
const w0 = (nodeName = 'node-a') => pod('w-0', { nodeName, labels: { app: 'worker' } });
const restoreCreated = (reason: string) =>
  ({
    op: 'createIfAbsent',
    plural: 'podrestores',
    kind: 'PodRestore',
    name: NAME,
    outcome: 'created',
    labels: { [LABELS.trigger]: 'evacuation', [LABELS.podUID]: 'uid-w-0' },
    annotations: { [NODE_ANNOTATION]: 'node-a' },
    spec: { checkpointRef: { name: NAME }, reason },
  }) as const;

const nothing = { calls: [], writes: [], events: [], result: 'done' } as const;

const cases: Case[] = [
  {
    name: 'Ready evacuation checkpoint, its pod gone: a PodRestore with the annotated reason',
    world: { checkpoints: [evac()], nodes: [node('node-a')] },
    key: KEY,
    calls: [],
    writes: [restoreCreated('nodeTermination')],
    events: [],
    result: 'done',
  },
  {
    name: 'the reason nodeUnschedulable is carried over',
    world: { checkpoints: [evac({ reason: 'nodeUnschedulable' })], nodes: [node('node-a')] },
    key: KEY,
    calls: [],
    writes: [restoreCreated('nodeUnschedulable')],
    events: [],
    result: 'done',
  },
  {
    name: 'the pod moved to another node: restored',
    world: { checkpoints: [evac()], pods: [w0('node-b')], nodes: [node('node-a'), node('node-b')] },
    key: KEY,
    calls: [],
    writes: [restoreCreated('nodeTermination')],
    events: [],
    result: 'done',
  },
  {
    name: 'the node gone, the pod object still bound to it: restored',
    world: { checkpoints: [evac()], pods: [w0()] },
    key: KEY,
    calls: [],
    writes: [restoreCreated('nodeTermination')],
    events: [],
    result: 'done',
  },
  {
    name: 'the PodRestore exists already: createIfAbsent says so, nothing else',
    world: { checkpoints: [evac()], restores: [restore(NAME, { spec: { checkpointRef: { name: NAME }, reason: 'nodeTermination' } })] },
    key: KEY,
    calls: [],
    writes: [{ op: 'createIfAbsent', name: NAME, outcome: 'exists' }],
    events: [],
    result: 'done',
  },
  { name: 'the pod still on its node: nothing', world: { checkpoints: [evac()], pods: [w0()], nodes: [node('node-a')] }, key: KEY, ...nothing },
  { name: 'restore reason none: nothing', world: { checkpoints: [evac({ reason: 'none' })], nodes: [node('node-a')] }, key: KEY, ...nothing },
  { name: 'no restore reason: nothing', world: { checkpoints: [evac({ reason: '' })] }, key: KEY, ...nothing },
  { name: 'not Ready yet: nothing', world: { checkpoints: [evac({ phase: 'Checkpointing' })] }, key: KEY, ...nothing },
  { name: 'an early checkpoint is never restored', world: { checkpoints: [evac({ trigger: 'early' })] }, key: KEY, ...nothing },
  { name: 'being deleted: nothing', world: { checkpoints: [evac({ deleting: true })] }, key: KEY, ...nothing },
  { name: 'gone from the cache: nothing', world: {}, key: KEY, ...nothing },
];

const INDEXES: Indexes = { checkpoints: [checkpointsByPodUID, evacuationCheckpointsByNode], pods: [podsByUID] };

describe('EvacuationRestoreReconciler', () => {
  beforeEach(() => {
    useFakeClock();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(cases)('$name', async (row) => {
    await runCase(row, INDEXES, (env: Env) => new EvacuationRestoreReconciler(env.ctx, env.checkpoints, env.pods, env.nodes));
  });
});
