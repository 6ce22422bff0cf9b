// CheckpointPolicy reconciler: counts the pods it protects, takes heartbeat checkpoints, applies
// retention, and reports pods lost with their node. Heartbeats are spread over the interval by a
// hash of each pod's uid, and named by interval slot, so neither a restart nor a second replica
// takes one twice.
import type { Logger } from 'pino';
import { CheckpointPolicy, type CheckpointPolicyStatus } from '../api/checkpointpolicy.ts';
import type { PodCheckpoint } from '../api/podcheckpoint.ts';
import type { PodRestore } from '../api/podrestore.ts';
import type { Pod } from '../api/pod.ts';
import { parseDuration } from '../config/duration.ts';
import type { ConditionInput } from '../kube/conditions.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Store } from '../kube/informer.ts';
import type { ReconcileResult } from '../kube/workqueue.ts';
import type { Metrics } from '../metrics.ts';
import { HeartbeatClock } from './heartbeat-clock.ts';
import { operatorCheckpoint } from './owned-objects.ts';
import { pruneCheckpoints } from './retention.ts';
import type { Protection } from './protection.ts';
import { nowIso, reconcileLogger, writeStatus } from './reconcile-kit.ts';

export interface CheckpointPolicyDeps {
  policies: Store<CheckpointPolicy>;
  pods: Store<Pod>;
  checkpoints: Store<PodCheckpoint>;
  restores: Store<PodRestore>;
  protection: Protection;
  objects: CustomObjects;
  events: EventRecorder;
  minHeartbeatIntervalMs: number;
  metrics: Metrics;
  log: Logger;
}

export class CheckpointPolicyController {
  private readonly d: CheckpointPolicyDeps;
  private readonly clock = new HeartbeatClock();
  private readonly lost = new Map<string, string[]>();
  constructor(deps: CheckpointPolicyDeps) {
    this.d = deps;
  }

  recordLost(policy: CheckpointPolicy, pods: string[]): void {
    const key = `${policy.metadata.namespace ?? ''}/${policy.metadata.name}`;
    this.lost.set(key, [...new Set([...(this.lost.get(key) ?? []), ...pods])].slice(-50));
  }

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const policy = this.d.policies.get(key);
    if (!policy || policy.metadata.deletionTimestamp) return undefined;
    const log = reconcileLogger(this.d.log, 'checkpointpolicy', policy.metadata.namespace ?? '', policy.metadata.name);
    const namespace = policy.metadata.namespace ?? 'default';
    const pods = this.d.pods
      .byIndex('namespace', namespace)
      .filter((p) => p.metadata.uid && !p.metadata.deletionTimestamp && this.d.protection.policyFor(p)?.metadata.uid === policy.metadata.uid);
    this.d.metrics.protectedPods.set({ namespace, policy: policy.metadata.name }, pods.length);

    const conditions: ConditionInput[] = [];
    const changes: Partial<CheckpointPolicyStatus> = { protectedPods: pods.length };
    let requeueAfterMs: number | undefined;

    if (policy.spec.heartbeat) {
      const intervalMs = parseDuration(policy.spec.heartbeat.interval) ?? 0;
      if (intervalMs < this.d.minHeartbeatIntervalMs) {
        conditions.push({ type: 'Ready', status: 'False', reason: 'HeartbeatTooFrequent', message: `heartbeat.interval ${policy.spec.heartbeat.interval} is below the operator's minimum of ${this.d.minHeartbeatIntervalMs}ms` });
      } else {
        const beat = await this.heartbeats(policy, pods, intervalMs, log);
        if (beat.took > 0) changes.lastHeartbeat = nowIso();
        requeueAfterMs = beat.nextMs;
      }
    }
    if (policy.spec.retention) await this.retain(policy, policy.spec.retention.keepLast, log);

    const lost = this.lost.get(key);
    if (lost?.length) {
      changes.lostPods = lost;
      conditions.push({ type: 'PodsLost', status: 'True', reason: 'NoReadyCheckpoint', message: `Lost with their node, nothing to restore from: ${lost.join(', ')}` });
    }
    if (!conditions.some((c) => c.type === 'Ready')) {
      conditions.push({ type: 'Ready', status: 'True', reason: 'Protecting', message: `Protecting ${pods.length} pod(s)` });
    }
    const status = policy.status ?? {};
    const unchanged =
      status.protectedPods === changes.protectedPods &&
      changes.lastHeartbeat === undefined &&
      JSON.stringify(status.lostPods) === JSON.stringify(changes.lostPods ?? status.lostPods) &&
      conditions.every((c) => status.conditions?.some((s) => s.type === c.type && s.status === c.status && s.reason === c.reason && s.message === c.message)) &&
      status.observedGeneration === policy.metadata.generation;
    if (!unchanged) await writeStatus(this.d.objects, 'checkpointpolicies', policy, changes, conditions, (raw) => CheckpointPolicy.parse(raw));
    return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
  }

  private async heartbeats(policy: CheckpointPolicy, pods: Pod[], intervalMs: number, log: Logger): Promise<{ took: number; nextMs: number }> {
    let took = 0;
    let nextMs = intervalMs;
    // Only a running pod has a process to checkpoint.
    for (const pod of pods.filter((p) => p.status?.phase === 'Running')) {
      const beat = this.clock.check(pod, intervalMs);
      nextMs = Math.min(nextMs, beat.nextInMs);
      if (!beat.due) continue;
      const body = operatorCheckpoint(pod, policy, 'heartbeat', beat.name, pod.spec.nodeName, { kind: policy.spec.onNodeTermination.kind, reason: 'heartbeat' });
      const outcome = await this.d.objects.createIfAbsent('podcheckpoints', pod.metadata.namespace ?? 'default', body);
      if (outcome === 'created') took++;
    }
    if (took > 0) log.info({ took }, 'heartbeat checkpoints requested');
    return { took, nextMs };
  }

  /** Keep the newest keepLast Ready checkpoints of each pod that this policy made; delete the rest. */
  private async retain(policy: CheckpointPolicy, keepLast: number, log: Logger): Promise<void> {
    await pruneCheckpoints(this.d.objects, this.d.restores, this.d.checkpoints.byIndex('owner', policy.metadata.uid ?? ''), keepLast, log);
  }
}
