// Wires the operator together: Cedana client, informers, work queues, reconcilers, leader
// election, the metrics/health server, and a graceful stop. Caches start at once on every
// replica (a standby that takes over is ready within the termination notice); workers run only
// while this replica leads.
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { CedanaClient } from './cedana/client.ts';
import type { Config } from './config/config.ts';
import { API_VERSION } from './api/meta.ts';
import { LABELS, NODE_ANNOTATION, Node, Pod, RESTORE_ACTION_LABEL } from './api/pod.ts';
import { CheckpointPolicy } from './api/checkpointpolicy.ts';
import { PodCheckpoint } from './api/podcheckpoint.ts';
import { PodRestore } from './api/podrestore.ts';
import { makeClients } from './kube/clients.ts';
import { CustomObjects } from './kube/custom-objects.ts';
import { EventRecorder } from './kube/events.ts';
import { Informer, InformerGroup, keyOf, type InformerEvent, type Keyed } from './kube/informer.ts';
import { LeaderElector } from './kube/leader-election.ts';
import { WorkQueue, type ReconcileResult } from './kube/workqueue.ts';
import { ActionDirectory } from './controllers/action-directory.ts';
import { PodCheckpointController } from './controllers/podcheckpoint.ts';
import { PodRestoreController } from './controllers/podrestore.ts';
import { CheckpointPolicyController } from './controllers/checkpoint-policy.ts';
import { EvacuationRestoreController } from './controllers/evacuation-restore.ts';
import { NodeTerminationController } from './controllers/node-termination.ts';
import { Protection } from './controllers/protection.ts';
import { HeartbeatClock } from './controllers/heartbeat-clock.ts';
import { PodProtectionController } from './controllers/pod-protection.ts';
import { StaleObjectError } from './controllers/reconcile-kit.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { startHttpServer } from './server/http-server.ts';

export interface RunningOperator {
  /** Where /metrics, /healthz and /readyz answer. */
  httpUrl: string;
  metrics: Metrics;
  /** Resolves when this replica stops leading (lost lease) or stop() was called. */
  done: Promise<'stopped' | 'lost-leadership'>;
  isLeader(): boolean;
  stop(): Promise<void>;
}

/** A change worth a reconcile: not our own status writes, which would only poll Cedana again. */
const specOrLifecycleChanged = <T extends Keyed & { metadata: { generation?: number | undefined; deletionTimestamp?: unknown; finalizers?: string[] | undefined } }>(
  e: InformerEvent<T>,
): boolean =>
  e.type !== 'update' ||
  e.obj.metadata.generation !== e.old.metadata.generation ||
  e.obj.metadata.deletionTimestamp !== e.old.metadata.deletionTimestamp ||
  JSON.stringify(e.obj.metadata.finalizers) !== JSON.stringify(e.old.metadata.finalizers);

export async function startOperator(config: Config, kc: KubeConfig, log: Logger): Promise<RunningOperator> {
  const metrics = createMetrics();
  const clients = makeClients(kc);
  const cedana = new CedanaClient({
    baseUrl: config.cedanaUrl,
    token: config.cedanaToken,
    timeoutMs: config.cedanaTimeout,
    ...(config.cedanaCaFile ? { caBundle: readFileSync(config.cedanaCaFile, 'utf8') } : {}),
    logger: log.child({ component: 'cedana' }),
    onCall: (c) => {
      metrics.cedanaCalls.inc({ operation: c.operation, method: c.method, status: String(c.status) });
      metrics.cedanaCallDuration.observe({ operation: c.operation }, c.durationMs / 1000);
    },
  });

  const scopes = config.namespaces.length > 0 ? config.namespaces : [undefined];
  const group = <T extends Keyed>(
    name: string,
    path: (ns: string | undefined) => string,
    parse: (raw: unknown) => T,
    indexers: Record<string, (o: T) => string[]>,
    namespaced = true,
  ) =>
    new InformerGroup(
      (namespaced ? scopes : [undefined]).map(
        (ns) =>
          new Informer<T>({
            name,
            kubeConfig: kc,
            path: path(ns),
            parse,
            indexers,
            logger: log.child({ informer: name, namespace: ns ?? '*' }),
            onWatchState: (state) => {
              metrics.watchStates.inc({ informer: name, state });
            },
          }),
      ),
    );
  const crPath = (plural: string) => (ns: string | undefined) => `/apis/${API_VERSION}${ns ? `/namespaces/${ns}` : ''}/${plural}`;
  const pods = group('pods', (ns) => `/api/v1${ns ? `/namespaces/${ns}` : ''}/pods`, (raw) => Pod.parse(raw), {
    node: (p) => (p.spec.nodeName ? [p.spec.nodeName] : []),
    uid: (p) => (p.metadata.uid ? [p.metadata.uid] : []),
    namespace: (p) => [p.metadata.namespace ?? ''],
    restoreAction: (p) => {
      const id = p.metadata.labels?.[RESTORE_ACTION_LABEL];
      return id ? [id] : [];
    },
  });
  const checkpoints = group('podcheckpoints', crPath('podcheckpoints'), (raw) => PodCheckpoint.parse(raw), {
    actionId: (c) => (c.status?.actionId ? [c.status.actionId] : []),
    pod: (c) => [`${c.metadata.namespace ?? ''}/${c.spec.podName}`],
    podUID: (c) => {
      const uids = new Set<string>();
      if (c.status?.podUID) uids.add(c.status.podUID);
      const labelled = c.metadata.labels?.[LABELS.podUID];
      if (labelled) uids.add(labelled);
      return [...uids];
    },
    owner: (c) => (c.metadata.ownerReferences ?? []).map((o) => o.uid),
    evacuationNode: (c) => {
      const node = c.metadata.annotations?.[NODE_ANNOTATION];
      return node && c.metadata.labels?.[LABELS.trigger] === 'evacuation' ? [node] : [];
    },
  });
  const restores = group('podrestores', crPath('podrestores'), (raw) => PodRestore.parse(raw), {
    checkpointRef: (r) => (r.spec.checkpointRef ? [`${r.metadata.namespace ?? ''}/${r.spec.checkpointRef.name}`] : []),
    restoreActionId: (r) => (r.status?.restoreActionId ? [r.status.restoreActionId] : []),
  });

  const nodes = group('nodes', () => '/api/v1/nodes', (raw) => Node.parse(raw), {}, false);
  const policies = group('checkpointpolicies', crPath('checkpointpolicies'), (raw) => CheckpointPolicy.parse(raw), {
    namespace: (p) => [p.metadata.namespace ?? ''],
  });
  const protection = new Protection(policies, config.minHeartbeatInterval);

  const objects = new CustomObjects(clients.custom);
  const events = new EventRecorder(clients.core, log, config.identity);
  const actions = new ActionDirectory(cedana);
  const common = { cedana, objects, events, actions, clusterId: config.clusterId, pollIntervalMs: config.pollInterval, pollIntervalMaxMs: config.pollIntervalMax, metrics };
  const checkpointController = new PodCheckpointController({ ...common, core: clients.core, checkpoints, pods, log });
  const restoreController = new PodRestoreController({ ...common, restores, checkpoints, pods, restoredPodTimeoutMs: config.restoredPodTimeout, log });

  const queue = (name: string, reconcile: (key: string) => Promise<ReconcileResult | undefined>) => {
    const q: WorkQueue = new WorkQueue({
      name,
      workers: config.workers,
      // 200 ms → 5 min: a failing Cedana is not hammered, a passing blip costs little.
      backoff: { baseMs: 200, maxMs: 300_000 },
      logger: log.child({ queue: name }),
      handler: async (key) => {
        try {
          return await reconcile(key);
        } catch (err) {
          // A write that lost a race: the cache is about to catch up; come back soon, quietly.
          if (err instanceof StaleObjectError) return { requeueAfterMs: 50 + Math.random() * 200 };
          metrics.reconcileErrors.inc({ controller: name });
          throw err;
        }
      },
      onResult: (result, ms) => {
        metrics.reconciles.inc({ controller: name, result });
        metrics.reconcileDuration.observe({ controller: name }, ms / 1000);
      },
      onDepth: (depth) => {
        metrics.queueDepth.set({ queue: name }, depth);
      },
    });
    return q;
  };
  const checkpointQueue = queue('podcheckpoint', (key) => checkpointController.reconcile(key));
  const restoreQueue = queue('podrestore', (key) => restoreController.reconcile(key));

  const policyController = new CheckpointPolicyController({
    policies, pods, checkpoints, restores, protection, objects, events, minHeartbeatIntervalMs: config.minHeartbeatInterval, metrics, log,
  });
  const evacuationController = new EvacuationRestoreController({ checkpoints, pods, nodes, objects, metrics, log });
  const policyQueue = queue('checkpointpolicy', (key) => policyController.reconcile(key));
  const evacuationQueue = queue('evacuation-restore', (key) => evacuationController.reconcile(key));
  const nodeController = new NodeTerminationController({
    nodes, pods, checkpoints, protection, objects, events, metrics, log,
    terminatingTaints: config.terminatingTaints,
    earlyTaints: config.earlyTaints,
    notReadyGraceMs: config.nodeNotReadyGrace,
    concurrency: config.terminationConcurrency,
    onPodsLeft: (nodeName) => {
      for (const c of checkpoints.byIndex('evacuationNode', nodeName)) evacuationQueue.add(keyOf(c));
    },
    onPodsLost: (policy, lost) => {
      policyController.recordLost(policy, lost);
      policyQueue.add(keyOf(policy));
    },
  });
  const nodeQueue = queue('node-termination', (key) => nodeController.reconcile(key));
  const podProtection = new PodProtectionController({
    pods, checkpoints, restores, protection, objects, events, clock: new HeartbeatClock(), labelHeartbeatKeepLast: config.labelHeartbeatKeepLast, log,
  });
  const podQueue = queue('pod-protection', (key) => podProtection.reconcile(key));
  const queues = [checkpointQueue, restoreQueue, policyQueue, evacuationQueue, nodeQueue, podQueue];
  const policiesOf = (namespace: string | undefined) => policies.byIndex('namespace', namespace ?? '');

  checkpoints.onEvent((e) => {
    if (specOrLifecycleChanged(e)) checkpointQueue.add(keyOf(e.obj));
    // A checkpoint that turned Ready (or Failed) releases the restores waiting for it.
    if (e.type !== 'delete' && e.obj.status?.phase !== (e.type === 'update' ? e.old.status?.phase : undefined)) {
      for (const r of restores.byIndex('checkpointRef', keyOf(e.obj))) restoreQueue.add(keyOf(r));
      if (e.obj.metadata.labels?.[LABELS.trigger] === 'evacuation') evacuationQueue.add(keyOf(e.obj));
      // retention counts Ready checkpoints
      for (const p of policiesOf(e.obj.metadata.namespace)) if (e.obj.metadata.ownerReferences?.some((o) => o.uid === p.metadata.uid)) policyQueue.add(keyOf(p));
    }
  });
  nodes.onEvent((e) => {
    nodeQueue.add(e.obj.metadata.name);
  });
  policies.onEvent((e) => {
    if (specOrLifecycleChanged(e)) policyQueue.add(keyOf(e.obj));
  });
  restores.onEvent((e) => {
    if (specOrLifecycleChanged(e)) restoreQueue.add(keyOf(e.obj));
  });
  pods.onEvent((e) => {
    const id = e.obj.metadata.labels?.[RESTORE_ACTION_LABEL];
    if (id && e.type !== 'delete') for (const r of restores.byIndex('restoreActionId', id)) restoreQueue.add(keyOf(r));
    // A pod that left its node (deleted, evicted, rebound) may complete an evacuation.
    if (e.type === 'delete' || (e.type === 'update' && e.obj.spec.nodeName !== e.old.spec.nodeName)) {
      for (const c of checkpoints.byIndex('podUID', e.obj.metadata.uid ?? '')) if (c.metadata.labels?.[LABELS.trigger] === 'evacuation') evacuationQueue.add(keyOf(c));
    }
    // Protected-pod counts and heartbeats follow pods coming, going and changing labels.
    const relabelled = e.type === 'update' && JSON.stringify(e.obj.metadata.labels) !== JSON.stringify(e.old.metadata.labels);
    if (e.type !== 'update' || relabelled) for (const p of policiesOf(e.obj.metadata.namespace)) policyQueue.add(keyOf(p));
    // Cedana's labels, and a DisruptionTarget condition appearing.
    const disrupted = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True') === true;
    if (e.type === 'add' || relabelled || (e.type === 'update' && disrupted(e.obj) && !disrupted(e.old))) podQueue.add(keyOf(e.obj));
    if (e.type === 'delete') podProtection.forget(e.obj.metadata.uid ?? '');
  });

  const informers = [pods, checkpoints, restores, nodes, policies];
  for (const i of informers) i.start();
  const http = await startHttpServer({ bindAddress: config.httpBindAddress, registry: metrics.registry, ready: () => informers.every((i) => i.hasSynced()) });
  log.info({ http: http.url, namespaces: config.namespaces.length > 0 ? config.namespaces : 'all', cedana: config.cedanaUrl, clusterId: config.clusterId }, 'operator started');

  const elector = config.leaderElect
    ? new LeaderElector({ api: clients.coordination, namespace: config.leaseNamespace, name: config.leaseName, identity: config.identity, logger: log })
    : undefined;
  // Mutated from the closures below; an object so that the compiler does not narrow it.
  const state = { leading: false, stopping: false };
  const stillRunning = (): boolean => !state.stopping;

  const done = (async (): Promise<'stopped' | 'lost-leadership'> => {
    if (elector && !(await elector.acquire())) return 'stopped';
    if (state.stopping) return 'stopped';
    await Promise.all(informers.map((i) => i.waitForSync()));
    state.leading = true;
    metrics.leader.set(1);
    // Everything in the caches gets one look: work may have been left half done by a predecessor.
    for (const c of checkpoints.list()) checkpointQueue.add(keyOf(c));
    for (const r of restores.list()) restoreQueue.add(keyOf(r));
    for (const p of policies.list()) policyQueue.add(keyOf(p));
    for (const n of nodes.list()) nodeQueue.add(n.metadata.name);
    for (const p of pods.list()) podQueue.add(keyOf(p));
    for (const c of checkpoints.list()) if (c.metadata.labels?.[LABELS.trigger] === 'evacuation') evacuationQueue.add(keyOf(c));
    for (const q of queues) q.start();
    log.info({ identity: config.identity }, 'controllers running');
    if (!elector) {
      await new Promise<void>((resolve) => stopSignal.push(resolve));
      return 'stopped';
    }
    await elector.holdUntilLost();
    return stillRunning() ? 'lost-leadership' : 'stopped';
  })();
  const stopSignal: (() => void)[] = [];

  return {
    httpUrl: http.url,
    metrics,
    done,
    isLeader: () => state.leading,
    async stop() {
      if (state.stopping) return;
      state.stopping = true;
      log.info('stopping: finishing in-flight reconciles');
      // Stop taking work and let in-flight reconciles finish; what is queued is picked up by the next leader.
      await Promise.all(queues.map((q) => q.shutdown()));
      state.leading = false;
      metrics.leader.set(0);
      await elector?.stop();
      for (const wake of stopSignal.splice(0)) wake();
      await Promise.all(informers.map((i) => i.stop()));
      await http.close();
      await cedana.close();
      await done;
      log.info('stopped');
    },
  };
}
