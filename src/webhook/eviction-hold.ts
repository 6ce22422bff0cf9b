// The eviction hold: a protected pod is not evicted until its evacuation checkpoint is Ready.
// Every drainer (kubectl drain, Karpenter, AWS NTH, cluster-autoscaler) retries an eviction answered
// 429 TooManyRequests, as it does for a PodDisruptionBudget, so "not yet" is a 429 with a message
// that says what is awaited. The hold is bounded by --eviction-hold-max, counted from the
// checkpoint's creationTimestamp (the API's clock, so every replica and a restarted one agree); past
// it, or once the checkpoint Failed, the pod goes, with Warning Events that say it left without a
// fresh checkpoint. Everything is read from the caches: an unprotected pod costs a few map lookups.
//
// Restore reason, from the node's state when the eviction comes: a terminating taint (or a node
// going) → nodeTermination; a cordon (kubectl drain's first step) → nodeUnschedulable; no node
// signal at all (a bare Eviction API call, a descheduler) → manual, as the DisruptionTarget
// condition the eviction then sets (EvictionByEvictionAPI) would give on the pod path.
import type { Logger } from 'pino';
import { API_VERSION } from '../api/meta.ts';
import type { Node, Pod } from '../api/pod.ts';
import type { PodCheckpoint } from '../api/podcheckpoint.ts';
import { evacuationCheckpointName as nameFor, type RestoreReason } from '../controllers/evacuation.ts';
import { classifyNode } from '../controllers/node-signals.ts';
import { completedMs } from '../controllers/owned-objects.ts';
import type { ProtectionRule } from '../controllers/protection.ts';
import type { EventTarget, EventType } from '../kube/events.ts';
import type { EvictionOutcome } from '../protection/operations.ts';
import { allow, holdResponse, type AdmissionResponse, type EvictionRequest } from './admission.ts';

/**
 * Default bound of a hold. A drainer retries about every 5 s (kubectl drain), so a pod leaves at most
 * ~25 s after its first eviction: inside GCP's and Azure's ~30 s notices, and AWS spot's 120 s with
 * room for the pod's own termination grace. A checkpoint through Cedana takes seconds; a planned
 * drain with no cloud deadline can afford more (raise it there).
 */
export const DEFAULT_EVICTION_HOLD_MAX_MS = 20_000;

/** held (one 429), or why the eviction was allowed: the metrics' outcomes. */
export type HoldOutcome = EvictionOutcome;

export interface EvictionHoldDeps {
  /** From the pod cache. */
  pod(namespace: string, name: string): Pod | undefined;
  node(name: string): Node | undefined;
  /**
   * A fresh read of the node, asked only when a checkpoint is about to be created and the cached node
   * shows no signal: a drainer evicts milliseconds after its cordon or taint, and the cache may lag.
   */
  readNode?(name: string): Promise<Node | undefined>;
  /** From the PodCheckpoint cache, by pod uid (the operator's podUID index). */
  checkpointsOfPod(uid: string): PodCheckpoint[];
  /** Protection.ruleFor. */
  ruleFor(pod: Pod): ProtectionRule | undefined;
  /**
   * Makes sure the pod's evacuation checkpoint exists (requestEvacuationCheckpoint: a deterministic
   * name, create-if-absent) and resolves to its name.
   */
  createEvacuationCheckpoint(pod: Pod, rule: ProtectionRule, restoreReason: RestoreReason): Promise<string>;
  recordEvent(target: EventTarget, type: EventType, reason: string, message: string): void;
  /**
   * For metrics (recordEviction in src/protection/operations.ts): every answer, and for an eviction
   * let go after a hold, when this replica first held the pod.
   */
  onDecision(outcome: HoldOutcome, heldSinceMs?: number): void;
  holdMaxMs: number;
  terminatingTaints: readonly string[];
  nodeNotReadyGraceMs: number;
  now(): number;
  log: Logger;
}

/** The deterministic name of a pod's evacuation checkpoint, as requestEvacuationCheckpoint makes it. */
export const evacuationCheckpointName = (pod: Pod): string => nameFor(pod, 'evacuation');

export function restoreReasonFor(node: Node | undefined, terminatingTaints: readonly string[], notReadyGraceMs: number, now: number): RestoreReason {
  const signal = classifyNode(node, terminatingTaints, notReadyGraceMs, [], now);
  if (signal.kind === 'terminating' || signal.kind === 'gone') return 'nodeTermination';
  if (signal.kind === 'unschedulable') return 'nodeUnschedulable';
  return 'manual';
}

const timeMs = (t: string | Date | undefined): number | undefined => {
  if (t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(ms) ? ms : undefined;
};

const podTarget = (pod: Pod): EventTarget => ({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata });
const checkpointTarget = (pc: PodCheckpoint): EventTarget => ({ apiVersion: API_VERSION, kind: 'PodCheckpoint', metadata: pc.metadata });

export class EvictionHold {
  private readonly d: EvictionHoldDeps;
  /** Creations in flight, by pod uid: concurrent evictions of one pod make one create call. */
  private readonly creating = new Map<string, Promise<string>>();
  /** When this replica first held each pod (by uid), for the hold-duration metric. */
  private readonly heldSince = new Map<string, number>();
  /** Pods (uid) whose "leaves without a fresh checkpoint" Warning was recorded here: once each. */
  private readonly warned = new Set<string>();

  constructor(deps: EvictionHoldDeps) {
    this.d = deps;
  }

  async decide(ev: EvictionRequest): Promise<AdmissionResponse> {
    const { uid } = ev;
    const who = `${ev.namespace}/${ev.name}`;
    const pod = this.d.pod(ev.namespace, ev.name);
    if (!pod?.metadata.uid) return this.unprotected(uid, undefined);
    if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' || !pod.spec.nodeName) {
      return this.unprotected(uid, undefined); // terminating, finished or never started: nothing running to checkpoint
    }
    const rule = this.d.ruleFor(pod);
    if (!rule?.checkpoint) return this.unprotected(uid, undefined);

    const podUid = pod.metadata.uid;
    const name = evacuationCheckpointName(pod);
    const all = this.d.checkpointsOfPod(podUid);
    const pc = all.find((c) => c.metadata.name === name && c.metadata.namespace === ev.namespace);
    const log = this.d.log.child({ pod: who, checkpoint: name });

    if (!pc) {
      if (ev.dryRun) {
        this.d.onDecision('held');
        return allow(uid, `cedana-operator: dry run; a real eviction of pod ${who} would be held until PodCheckpoint ${name} is Ready (nothing created)`);
      }
      try {
        const reason = await this.restoreReason(pod.spec.nodeName);
        const created = await this.create(pod, rule, reason);
        log.info({ restoreReason: reason }, 'eviction of a protected pod held: evacuation checkpoint requested');
        return this.hold(uid, pod, created, 'Pending');
      } catch (err) {
        // No checkpoint, so nothing to bound a hold by: never a trap, let the pod go and say so.
        log.error({ err }, 'could not create the evacuation checkpoint; eviction allowed');
        this.warnOnce(pod, undefined, `Evicted without a checkpoint: PodCheckpoint ${name} could not be created (${err instanceof Error ? err.message : String(err)}). ${this.older(all, name)}`);
        this.d.onDecision('failed');
        return allow(uid, `cedana-operator: could not create PodCheckpoint ${name} for pod ${who}; not held`);
      }
    }

    const phase = pc.status?.phase ?? 'Pending';
    if (phase === 'Ready') return this.release(uid, pod, 'ready', undefined);
    if (phase === 'Failed') {
      if (!ev.dryRun) this.warnOnce(pod, pc, `Evicted without a fresh checkpoint: PodCheckpoint ${name} Failed (${pc.status?.message ?? 'no message'}). ${this.older(all, name)}`);
      return this.release(uid, pod, 'failed', `cedana-operator: PodCheckpoint ${name} Failed; pod ${who} leaves without a fresh checkpoint`, ev.dryRun);
    }
    const created = timeMs(pc.metadata.creationTimestamp);
    const heldMs = created === undefined ? 0 : this.d.now() - created;
    if (heldMs >= this.d.holdMaxMs) {
      const secs = Math.round(heldMs / 1000);
      if (!ev.dryRun) {
        this.warnOnce(
          pod,
          pc,
          `Evicted without a fresh checkpoint: PodCheckpoint ${name} still ${phase} after ${secs}s, past --eviction-hold-max (${Math.round(this.d.holdMaxMs / 1000)}s). ${this.older(all, name)}`,
        );
      }
      log.warn({ phase, heldSeconds: secs }, 'eviction hold bound reached; eviction allowed without a fresh checkpoint');
      return this.release(uid, pod, 'hold-max', `cedana-operator: PodCheckpoint ${name} still ${phase} after ${secs}s (hold bound reached); pod ${who} leaves without a fresh checkpoint`, ev.dryRun);
    }
    if (ev.dryRun) {
      this.d.onDecision('held');
      return allow(uid, `cedana-operator: dry run; a real eviction of pod ${who} would be held (PodCheckpoint ${name}: ${phase})`);
    }
    return this.hold(uid, pod, name, phase);
  }

  private async restoreReason(nodeName: string): Promise<RestoreReason> {
    const of = (node: Node | undefined) => restoreReasonFor(node, this.d.terminatingTaints, this.d.nodeNotReadyGraceMs, this.d.now());
    const cached = of(this.d.node(nodeName));
    if (cached !== 'manual' || !this.d.readNode) return cached;
    try {
      return of(await this.d.readNode(nodeName));
    } catch (err) {
      this.d.log.debug({ err, node: nodeName }, 'could not read the node; restore reason from the cache');
      return cached;
    }
  }

  private unprotected(uid: string, why: string | undefined): AdmissionResponse {
    this.d.onDecision('unprotected');
    return allow(uid, why);
  }

  private hold(uid: string, pod: Pod, checkpoint: string, phase: string): AdmissionResponse {
    const podUid = pod.metadata.uid ?? '';
    if (!this.heldSince.has(podUid)) this.heldSince.set(podUid, this.d.now());
    if (this.heldSince.size > 10_000) this.heldSince.clear(); // pods let go by another replica: a bound on memory
    this.d.onDecision('held');
    return holdResponse(uid, `cedana-operator: checkpointing pod ${pod.metadata.namespace ?? ''}/${pod.metadata.name} before eviction (PodCheckpoint ${checkpoint}: ${phase})`);
  }

  private release(uid: string, pod: Pod, outcome: 'ready' | 'failed' | 'hold-max', why: string | undefined, dryRun = false): AdmissionResponse {
    const podUid = pod.metadata.uid ?? '';
    const since = this.heldSince.get(podUid);
    if (!dryRun) this.heldSince.delete(podUid);
    // A duration only where this replica held the pod; with no hold there was nothing to wait for.
    this.d.onDecision(outcome, since);
    return allow(uid, why);
  }

  private create(pod: Pod, rule: ProtectionRule, reason: RestoreReason): Promise<string> {
    const podUid = pod.metadata.uid ?? '';
    let p = this.creating.get(podUid);
    if (!p) {
      p = this.d.createEvacuationCheckpoint(pod, rule, reason).finally(() => this.creating.delete(podUid));
      this.creating.set(podUid, p);
    }
    return p;
  }

  /** Which older Ready checkpoint a restore would have to use, if any. */
  private older(all: PodCheckpoint[], except: string): string {
    const newest = all.filter((c) => c.metadata.name !== except && c.status?.phase === 'Ready').sort((a, b) => completedMs(b) - completedMs(a))[0];
    return newest
      ? `Its newest Ready checkpoint is PodCheckpoint ${newest.metadata.name}${newest.status?.completedAt ? ` (completed ${newest.status.completedAt})` : ''}: a restore would use that older state.`
      : 'It has no older Ready checkpoint: its state since start is lost.';
  }

  private warnOnce(pod: Pod, pc: PodCheckpoint | undefined, message: string): void {
    const podUid = pod.metadata.uid ?? '';
    if (this.warned.has(podUid)) return;
    this.warned.add(podUid);
    if (this.warned.size > 10_000) this.warned.clear(); // a bound on memory; a repeat Event is harmless
    this.d.recordEvent(podTarget(pod), 'Warning', 'EvictedWithoutCheckpoint', message);
    if (pc) this.d.recordEvent(checkpointTarget(pc), 'Warning', 'EvictedWithoutCheckpoint', message);
  }
}
