// Per-pod protection that needs no node signal: Cedana's pod labels (checked, with a Warning Event
// for a malformed value; heartbeats at the label's interval, with retention), and the pod-level
// DisruptionTarget condition, which checkpoints a protected pod at once.
//
// DisruptionTarget reason → restore reason once the pod is gone:
//   TerminationByKubelet, DeletionByTaintManager → nodeTermination (the node is failing or going)
//   PreemptionByScheduler, EvictionByEvictionAPI, anything else → manual
import type { Logger } from 'pino';
import type { Pod } from '../api/pod.ts';
import type { PodCheckpoint } from '../api/podcheckpoint.ts';
import type { PodRestore } from '../api/podrestore.ts';
import { LABELS } from '../api/pod.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Store } from '../kube/informer.ts';
import type { ReconcileResult } from '../kube/workqueue.ts';
import { requestEvacuationCheckpoint, type RestoreReason } from './evacuation.ts';
import type { HeartbeatClock } from './heartbeat-clock.ts';
import { operatorCheckpoint } from './owned-objects.ts';
import type { Protection } from './protection.ts';
import { pruneCheckpoints } from './retention.ts';

export const disruptionRestoreReason = (reason: string | undefined): RestoreReason =>
  reason === 'TerminationByKubelet' || reason === 'DeletionByTaintManager' ? 'nodeTermination' : 'manual';

export interface PodProtectionDeps {
  pods: Store<Pod>;
  checkpoints: Store<PodCheckpoint>;
  restores: Store<PodRestore>;
  protection: Protection;
  objects: CustomObjects;
  events: EventRecorder;
  clock: HeartbeatClock;
  labelHeartbeatKeepLast: number;
  log: Logger;
}

export class PodProtectionController {
  private readonly d: PodProtectionDeps;
  /** Label problems already reported, per pod uid: one Warning per distinct problem. */
  private readonly warned = new Map<string, string>();
  constructor(deps: PodProtectionDeps) {
    this.d = deps;
  }

  /** A deleted pod: drop what we remembered of it. */
  forget(uid: string): void {
    this.warned.delete(uid);
    this.d.clock.forget(uid);
  }

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const pod = this.d.pods.get(key);
    if (!pod?.metadata.uid) return undefined;
    const uid = pod.metadata.uid;
    if (pod.metadata.deletionTimestamp) return undefined;
    const log = this.d.log.child({ controller: 'pod-protection', namespace: pod.metadata.namespace, name: pod.metadata.name });

    const problems = this.d.protection.labelProblems(pod).join('; ');
    if (problems && this.warned.get(uid) !== problems) {
      this.warned.set(uid, problems);
      log.warn({ problems }, 'malformed Cedana label');
      this.d.events.record({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata }, 'Warning', 'InvalidCedanaLabel', problems);
    }

    const rule = this.d.protection.ruleFor(pod);
    if (!rule) return undefined;

    const disruption = pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget' && c.status === 'True');
    if (disruption && rule.checkpoint) {
      const outcome = await requestEvacuationCheckpoint(this.d.objects, this.d.checkpoints, pod, rule, {
        trigger: 'evacuation',
        restoreReason: disruptionRestoreReason(disruption.reason),
        nodeName: pod.spec.nodeName,
      });
      if (outcome === 'created') {
        log.info({ reason: disruption.reason }, 'pod is being disrupted: checkpoint requested');
        this.d.events.record({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata }, 'Normal', 'CheckpointOnDisruption', `DisruptionTarget (${disruption.reason ?? 'no reason'}): checkpoint requested`);
      }
      return undefined;
    }

    if (rule.labelHeartbeatMs === undefined) return undefined;
    const beat = this.d.clock.check(pod, rule.labelHeartbeatMs);
    // Only a running pod has a process to checkpoint.
    if (beat.due && pod.status?.phase === 'Running') {
      const body = operatorCheckpoint(pod, undefined, 'heartbeat', beat.name, pod.spec.nodeName, { kind: rule.kind, reason: 'heartbeat' });
      const outcome = await this.d.objects.createIfAbsent('podcheckpoints', pod.metadata.namespace ?? 'default', body);
      if (outcome === 'created') log.info({ checkpoint: beat.name }, 'label heartbeat checkpoint requested');
    }
    const mine = this.d.checkpoints.byIndex('podUID', uid).filter((c) => c.metadata.labels?.[LABELS.trigger] === 'heartbeat' && !c.metadata.ownerReferences?.length);
    await pruneCheckpoints(this.d.objects, this.d.restores, mine, this.d.labelHeartbeatKeepLast, log);
    return { requeueAfterMs: beat.nextInMs };
  }
}
