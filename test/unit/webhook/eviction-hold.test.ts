// The eviction hold's decision table, against in-memory caches: protected or not, no checkpoint,
// Pending, Ready, Failed, hold bound passed, dry run, pod not in the cache, concurrent evictions.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Node, Pod } from '../../../src/api/pod.ts';
import { PodCheckpoint } from '../../../src/api/podcheckpoint.ts';
import type { RestoreReason } from '../../../src/controllers/evacuation.ts';
import type { ProtectionRule } from '../../../src/controllers/protection.ts';
import type { EventTarget } from '../../../src/kube/events.ts';
import { evacuationCheckpointName, EvictionHold, restoreReasonFor, type HoldOutcome } from '../../../src/webhook/eviction-hold.ts';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const HOLD_MAX = 20_000;

const mkPod = (name: string, labels: Record<string, string> = {}, extra: { deletionTimestamp?: string; phase?: string; nodeName?: string | null } = {}): Pod =>
  Pod.parse({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels, ...(extra.deletionTimestamp ? { deletionTimestamp: extra.deletionTimestamp } : {}) },
    spec: extra.nodeName === null ? {} : { nodeName: extra.nodeName ?? 'node-a' },
    status: { phase: extra.phase ?? 'Running' },
  });

const mkNode = (spec: { unschedulable?: boolean; taints?: { key: string; effect: string }[] }): Node =>
  Node.parse({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, spec, status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z' }] } });

const mkCheckpoint = (pod: Pod, phase: string | undefined, createdAgoMs: number, name = evacuationCheckpointName(pod), completedAt?: string): PodCheckpoint =>
  PodCheckpoint.parse({
    apiVersion: 'cedana.ai/v1alpha1',
    kind: 'PodCheckpoint',
    metadata: { name, namespace: 'ns', creationTimestamp: new Date(NOW - createdAgoMs).toISOString(), labels: { 'cedana.ai/pod-uid': pod.metadata.uid ?? '' } },
    spec: { podName: pod.metadata.name },
    ...(phase ? { status: { phase, message: phase === 'Failed' ? 'Cedana: CRIU dump failed' : undefined, ...(completedAt ? { completedAt } : {}) } } : {}),
  });

const rule = (checkpoint: boolean): ProtectionRule => ({ policy: undefined, checkpoint, restore: checkpoint, kind: 'simple', labelHeartbeatMs: undefined });

interface World {
  pods: Pod[];
  node?: Node;
  /** What a fresh read of the node says (the cache may lag a cordon). */
  freshNode?: Node;
  checkpoints: PodCheckpoint[];
  createFails?: boolean;
}

function setup(world: World) {
  const created: { pod: string; reason: RestoreReason }[] = [];
  const events: { target: EventTarget; type: string; reason: string; message: string }[] = [];
  const decisions: { outcome: HoldOutcome; heldSinceMs: number | undefined }[] = [];
  const clock = { now: NOW };
  const hold = new EvictionHold({
    pod: (ns, name) => world.pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name),
    node: () => world.node,
    ...(world.freshNode ? { readNode: () => Promise.resolve(world.freshNode) } : {}),
    checkpointsOfPod: (uid) => world.checkpoints.filter((c) => c.metadata.labels?.['cedana.ai/pod-uid'] === uid),
    ruleFor: (pod) => (pod.metadata.labels?.protected === 'true' ? rule(true) : pod.metadata.labels?.protected === 'heartbeat-only' ? rule(false) : undefined),
    createEvacuationCheckpoint: async (pod, _rule, reason) => {
      await Promise.resolve();
      if (world.createFails) throw new Error('apiserver said no');
      created.push({ pod: pod.metadata.name, reason });
      return evacuationCheckpointName(pod);
    },
    recordEvent: (target, type, reason, message) => events.push({ target, type, reason, message }),
    onDecision: (outcome, heldSinceMs) => decisions.push({ outcome, heldSinceMs }),
    holdMaxMs: HOLD_MAX,
    terminatingTaints: ['karpenter.sh/disrupted'],
    nodeNotReadyGraceMs: 300_000,
    now: () => clock.now,
    log: pino({ level: 'silent' }),
  });
  return { hold, created, events, decisions, clock };
}

const ev = (name: string, dryRun = false) => ({ uid: `review-${name}`, namespace: 'ns', name, dryRun });

const protectedPod = mkPod('trainer', { protected: 'true' });

describe('the eviction hold decision', () => {
  const table: {
    name: string;
    world: () => World;
    pod?: string;
    dryRun?: boolean;
    allowed: boolean;
    outcome: HoldOutcome;
    creates: number;
    warnings: number;
    message?: RegExp;
  }[] = [
    { name: 'unprotected pod: allowed at once', world: () => ({ pods: [mkPod('web')], checkpoints: [] }), pod: 'web', allowed: true, outcome: 'unprotected', creates: 0, warnings: 0 },
    {
      name: 'rule without checkpoint (heartbeat only): allowed',
      world: () => ({ pods: [mkPod('hb', { protected: 'heartbeat-only' })], checkpoints: [] }),
      pod: 'hb',
      allowed: true,
      outcome: 'unprotected',
      creates: 0,
      warnings: 0,
    },
    { name: 'pod not in the cache: allowed', world: () => ({ pods: [], checkpoints: [] }), pod: 'ghost', allowed: true, outcome: 'unprotected', creates: 0, warnings: 0 },
    {
      name: 'protected pod already terminating: allowed',
      world: () => ({ pods: [mkPod('going', { protected: 'true' }, { deletionTimestamp: '2026-01-01T00:09:00Z' })], checkpoints: [] }),
      pod: 'going',
      allowed: true,
      outcome: 'unprotected',
      creates: 0,
      warnings: 0,
    },
    {
      name: 'protected pod that never got a node: allowed',
      world: () => ({ pods: [mkPod('pending', { protected: 'true' }, { nodeName: null })], checkpoints: [] }),
      pod: 'pending',
      allowed: true,
      outcome: 'unprotected',
      creates: 0,
      warnings: 0,
    },
    {
      name: 'protected, no checkpoint: created, held with 429',
      world: () => ({ pods: [protectedPod], checkpoints: [] }),
      allowed: false,
      outcome: 'held',
      creates: 1,
      warnings: 0,
      message: new RegExp(`^cedana-operator: checkpointing pod ns/trainer before eviction \\(PodCheckpoint ${evacuationCheckpointName(protectedPod)}: Pending\\)$`),
    },
    {
      name: 'protected, no checkpoint, dry run: nothing created, allowed with a warning',
      world: () => ({ pods: [protectedPod], checkpoints: [] }),
      dryRun: true,
      allowed: true,
      outcome: 'held',
      creates: 0,
      warnings: 0,
      message: /dry run/,
    },
    {
      name: 'protected, checkpoint Pending (no status): held, nothing created',
      world: () => ({ pods: [protectedPod], checkpoints: [mkCheckpoint(protectedPod, undefined, 1_000)] }),
      allowed: false,
      outcome: 'held',
      creates: 0,
      warnings: 0,
      message: /: Pending\)$/,
    },
    {
      name: 'protected, checkpoint Checkpointing: held',
      world: () => ({ pods: [protectedPod], checkpoints: [mkCheckpoint(protectedPod, 'Checkpointing', 5_000)] }),
      allowed: false,
      outcome: 'held',
      creates: 0,
      warnings: 0,
      message: /: Checkpointing\)$/,
    },
    {
      name: 'protected, checkpoint Ready: allowed',
      world: () => ({ pods: [protectedPod], checkpoints: [mkCheckpoint(protectedPod, 'Ready', 5_000)] }),
      allowed: true,
      outcome: 'ready',
      creates: 0,
      warnings: 0,
    },
    {
      name: 'protected, checkpoint Failed: allowed, Warning on pod and checkpoint',
      world: () => ({ pods: [protectedPod], checkpoints: [mkCheckpoint(protectedPod, 'Failed', 5_000)] }),
      allowed: true,
      outcome: 'failed',
      creates: 0,
      warnings: 2,
      message: /Failed; pod ns\/trainer leaves without a fresh checkpoint/,
    },
    {
      name: 'protected, checkpoint still Checkpointing past the bound: allowed with Warnings',
      world: () => ({ pods: [protectedPod], checkpoints: [mkCheckpoint(protectedPod, 'Checkpointing', HOLD_MAX + 1)] }),
      allowed: true,
      outcome: 'hold-max',
      creates: 0,
      warnings: 2,
      message: /hold bound reached/,
    },
    {
      name: 'protected, past the bound, dry run: allowed, no Event',
      world: () => ({ pods: [protectedPod], checkpoints: [mkCheckpoint(protectedPod, 'Submitted', HOLD_MAX * 2)] }),
      dryRun: true,
      allowed: true,
      outcome: 'hold-max',
      creates: 0,
      warnings: 0,
    },
    {
      name: 'protected, just inside the bound: still held',
      world: () => ({ pods: [protectedPod], checkpoints: [mkCheckpoint(protectedPod, 'Submitted', HOLD_MAX - 1)] }),
      allowed: false,
      outcome: 'held',
      creates: 0,
      warnings: 0,
    },
    {
      name: 'protected, the checkpoint cannot be created: allowed (nothing to bound a hold by), Warning on the pod',
      world: () => ({ pods: [protectedPod], checkpoints: [], createFails: true }),
      allowed: true,
      outcome: 'failed',
      creates: 0,
      warnings: 1,
      message: /could not create/,
    },
  ];

  it.each(table)('$name', async (row) => {
    const t = setup(row.world());
    const r = await t.hold.decide(ev(row.pod ?? 'trainer', row.dryRun));
    expect(r.uid).toBe(`review-${row.pod ?? 'trainer'}`);
    expect(r.allowed).toBe(row.allowed);
    if (!row.allowed) expect(r.status).toMatchObject({ code: 429, reason: 'TooManyRequests' });
    if (row.message) expect(r.status?.message ?? '').toMatch(row.message);
    if (row.allowed && row.message) expect(r.warnings?.[0]).toMatch(row.message);
    expect(t.created).toHaveLength(row.creates);
    expect(t.events.filter((e) => e.type === 'Warning')).toHaveLength(row.warnings);
    expect(t.decisions.map((d) => d.outcome)).toEqual([row.outcome]);
  });

  it('the Warning names the older Ready checkpoint a restore would use, on the pod and on the PodCheckpoint', async () => {
    const older = mkCheckpoint(protectedPod, 'Ready', 3_600_000, 'trainer-hb-1', '2026-01-01T00:00:00Z');
    const oldest = mkCheckpoint(protectedPod, 'Ready', 7_200_000, 'trainer-hb-0', '2025-12-31T23:00:00Z');
    const t = setup({ pods: [protectedPod], checkpoints: [oldest, mkCheckpoint(protectedPod, 'Failed', 5_000), older] });
    await t.hold.decide(ev('trainer'));
    expect(t.events.map((e) => e.target.kind).sort()).toEqual(['Pod', 'PodCheckpoint']);
    for (const e of t.events) {
      expect(e.reason).toBe('EvictedWithoutCheckpoint');
      expect(e.message).toContain('without a fresh checkpoint');
      expect(e.message).toContain('PodCheckpoint trainer-hb-1');
    }
  });

  it('with no older Ready checkpoint, the Warning says the state is lost', async () => {
    const t = setup({ pods: [protectedPod], checkpoints: [mkCheckpoint(protectedPod, 'Failed', 5_000)] });
    await t.hold.decide(ev('trainer'));
    expect(t.events[0]?.message).toContain('no older Ready checkpoint');
  });

  it('a second eviction while held creates nothing new; concurrent ones make one create call', async () => {
    const world: World = { pods: [protectedPod], checkpoints: [] };
    const t = setup(world);
    const [a, b] = await Promise.all([t.hold.decide(ev('trainer')), t.hold.decide(ev('trainer'))]);
    expect([a.allowed, b.allowed]).toEqual([false, false]);
    expect(t.created).toHaveLength(1);
    // the cache catches up: held again, nothing created
    world.checkpoints.push(mkCheckpoint(protectedPod, 'Checkpointing', 2_000));
    const c = await t.hold.decide(ev('trainer'));
    expect(c.allowed).toBe(false);
    expect(t.created).toHaveLength(1);
  });

  it("the hold is reported from this replica's first hold, at the release", async () => {
    const world: World = { pods: [protectedPod], checkpoints: [mkCheckpoint(protectedPod, 'Checkpointing', 0)] };
    const t = setup(world);
    await t.hold.decide(ev('trainer'));
    t.clock.now += 7_000;
    world.checkpoints = [mkCheckpoint(protectedPod, 'Ready', 7_000)];
    const r = await t.hold.decide(ev('trainer'));
    expect(r.allowed).toBe(true);
    expect(t.decisions.at(-1)).toEqual({ outcome: 'ready', heldSinceMs: NOW });
  });

  it('a pod that was never held here reports no hold duration', async () => {
    const t = setup({ pods: [protectedPod], checkpoints: [mkCheckpoint(protectedPod, 'Ready', 60_000)] });
    await t.hold.decide(ev('trainer'));
    expect(t.decisions).toEqual([{ outcome: 'ready', heldSinceMs: undefined }]);
  });

  it('the Warning is recorded once per pod, however many evictions follow', async () => {
    const t = setup({ pods: [protectedPod], checkpoints: [mkCheckpoint(protectedPod, 'Failed', 5_000)] });
    await t.hold.decide(ev('trainer'));
    await t.hold.decide(ev('trainer'));
    expect(t.events).toHaveLength(2); // one on the pod, one on the checkpoint
  });
});

describe('the restore reason from the node', () => {
  it.each([
    { node: mkNode({ unschedulable: true }), want: 'nodeUnschedulable' },
    { node: mkNode({ unschedulable: true, taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }] }), want: 'nodeTermination' },
    { node: mkNode({ taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }] }), want: 'nodeTermination' },
    { node: undefined, want: 'nodeTermination' },
    { node: mkNode({}), want: 'manual' },
  ])('$want', ({ node, want }) => {
    expect(restoreReasonFor(node, ['karpenter.sh/disrupted'], 300_000, NOW)).toBe(want);
  });

  it('a cache that has not seen the cordon yet: the node is read fresh', async () => {
    const t = setup({ pods: [protectedPod], node: mkNode({}), freshNode: mkNode({ taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }] }), checkpoints: [] });
    await t.hold.decide(ev('trainer'));
    expect(t.created).toEqual([{ pod: 'trainer', reason: 'nodeTermination' }]);
  });

  it('is what the created checkpoint gets', async () => {
    const t = setup({ pods: [protectedPod], node: mkNode({ unschedulable: true }), checkpoints: [] });
    await t.hold.decide(ev('trainer'));
    expect(t.created).toEqual([{ pod: 'trainer', reason: 'nodeUnschedulable' }]);
  });
});
