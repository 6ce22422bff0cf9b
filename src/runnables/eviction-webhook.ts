// The eviction webhook as a runnable of the manager.
import type { Logger } from 'pino';
import { Nodes, PodCheckpoints, Pods } from '../api/kinds.ts';
import { Node } from '../api/pod.ts';
import type { OperatorContext } from '../controllers/context.ts';
import { evacuationCheckpointName, requestEvacuationCheckpoint } from '../controllers/evacuation.ts';
import { checkpointsByPodUID } from '../controllers/owned-objects.ts';
import { paths, type KubeClient } from '../kube/client.ts';
import type { Manager, Runnable } from '../kube/manager.ts';
import { recordEviction, recordWebhookCertificate } from '../protection/operations.ts';
import { startEvictionWebhook, type RunningEvictionWebhook } from '../webhook/index.ts';

/**
 * The eviction hold (src/webhook), on every replica from its warm caches: a drainer's eviction of a
 * protected pod waits (429) until its evacuation checkpoint is Ready, within --eviction-hold-max.
 * The checkpoint is created, not posted, here: any replica may answer, and only the leader's
 * reconciler posts, once (its intent first).
 */
export function evictionWebhook(mgr: Manager, ctx: OperatorContext, kube: KubeClient, log: Logger): Runnable {
  const { config, metrics } = ctx;
  const pods = mgr.cache(Pods);
  const nodes = mgr.cache(Nodes);
  const checkpoints = mgr.index(PodCheckpoints, checkpointsByPodUID);
  let running: RunningEvictionWebhook | undefined;
  return {
    name: 'eviction-webhook',
    needLeaderElection: false,
    start: () => {
      running = startEvictionWebhook({
        config,
        namespace: config.leaseNamespace,
        kube,
        log,
        onCertificate: (notAfter) => {
          recordWebhookCertificate(metrics, notAfter);
        },
        hold: {
          pod: (namespace, name) => pods.get(`${namespace}/${name}`),
          node: (name) => nodes.get(name),
          readNode: async (name) => Node.parse(await ctx.kube.get(paths.node(name))),
          checkpointsOfPod: (uid) => checkpoints.byIndex(checkpointsByPodUID, uid),
          ruleFor: (pod) => ctx.protection.ruleFor(pod),
          createEvacuationCheckpoint: async (pod, rule, restoreReason) => {
            await requestEvacuationCheckpoint(ctx.objects, checkpoints, pod, rule, { trigger: 'evacuation', restoreReason, nodeName: pod.spec.nodeName });
            return evacuationCheckpointName(pod, 'evacuation');
          },
          recordEvent: (target, type, reason, message) => {
            ctx.events.record(target, type, reason, message);
          },
          onDecision: (outcome, heldSinceMs) => {
            recordEviction(metrics, outcome, heldSinceMs === undefined ? undefined : (Date.now() - heldSinceMs) / 1000);
          },
          holdMaxMs: config.evictionHoldMax,
          terminatingTaints: config.terminatingTaints,
          nodeNotReadyGraceMs: config.nodeNotReadyGrace,
          now: () => Date.now(),
          log,
        },
      });
      return Promise.resolve();
    },
    stop: async () => {
      await running?.close();
    },
  };
}
