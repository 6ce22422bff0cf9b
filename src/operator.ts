// The operator: a manager (caches, leader election, health) and the list of controllers handed to
// it. What triggers each controller is declared in its own file, next to its reconciler.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { CedanaClient } from './cedana/client.ts';
import type { Config } from './config/config.ts';
import { CheckpointPolicies } from './api/kinds.ts';
import type { KubeAccess } from './kube/access.ts';
import { KubeClient } from './kube/client.ts';
import { CustomObjects } from './kube/custom-objects.ts';
import { EventRecorder } from './kube/events.ts';
import { LeaderElector, LeaseApi } from './kube/leader-election.ts';
import { Manager, type RunningManager } from './kube/manager.ts';
import { cedanaProbe, checkToken } from './runnables/cedana.ts';
import { evictionWebhook } from './runnables/eviction-webhook.ts';
import { ActionDirectory } from './controllers/action-directory.ts';
import { setupCheckpointPolicyController } from './controllers/checkpoint-policy.ts';
import type { OperatorContext } from './controllers/context.ts';
import { setupEvacuationRestoreController } from './controllers/evacuation-restore.ts';
import { setupNodeTerminationController } from './controllers/node-termination.ts';
import { setupPodCheckpointController } from './controllers/podcheckpoint.ts';
import { setupPodProtectionController } from './controllers/pod-protection.ts';
import { setupPodRestoreController } from './controllers/podrestore.ts';
import { Protection, policiesByNamespace } from './controllers/protection.ts';
import { createMetrics, type Metrics } from './metrics.ts';

export { StartupError } from './runnables/cedana.ts';

export interface RunningOperator {
  /** Where /metrics, /healthz and /readyz answer. */
  httpUrl: string;
  metrics: Metrics;
  /** Resolves when this replica stops leading (lost lease) or stop() was called. */
  done: Promise<'stopped' | 'lost-leadership'>;
  isLeader(): boolean;
  stop(): Promise<void>;
}

const CONTROLLERS = [
  setupPodCheckpointController,
  setupPodRestoreController,
  setupCheckpointPolicyController,
  setupNodeTerminationController,
  setupEvacuationRestoreController,
  setupPodProtectionController,
];

export async function startOperator(config: Config, access: KubeAccess, log: Logger): Promise<RunningOperator> {
  const metrics = createMetrics();
  const kube = new KubeClient(access);
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
  const mgr = new Manager({
    access,
    namespaces: config.namespaces,
    logger: log,
    metrics,
    workers: config.workers,
    httpBindAddress: config.httpBindAddress,
    leaderElector: config.leaderElect ? new LeaderElector({ api: new LeaseApi(kube), namespace: config.leaseNamespace, name: config.leaseName, identity: config.identity, logger: log }) : undefined,
  });
  const ctx: OperatorContext = {
    cedana,
    actions: new ActionDirectory(cedana),
    kube,
    objects: new CustomObjects(kube),
    events: new EventRecorder(kube, log, config.identity),
    metrics,
    protection: new Protection(mgr.index(CheckpointPolicies, policiesByNamespace), config.minHeartbeatInterval, config.cedanaLabels === 'honour'),
    config,
  };
  for (const setup of CONTROLLERS) setup(mgr, ctx);
  mgr.add(cedanaProbe(cedana, metrics, log, mgr));
  if (config.webhook) mgr.add(evictionWebhook(mgr, ctx, kube, log));

  await checkToken(cedana, log);

  const running: RunningManager = await mgr.start();
  log.info(
    {
      apiserver: access.server,
      credentials: access.source,
      http: running.httpUrl,
      namespaces: config.namespaces.length > 0 ? config.namespaces : 'all',
      cedana: cedana.baseUrl,
      clusterId: config.clusterId,
    },
    'operator started',
  );
  let stopped: Promise<void> | undefined;
  return {
    httpUrl: running.httpUrl,
    metrics,
    done: running.done,
    isLeader: () => running.isLeader(),
    stop() {
      stopped ??= running.stop().then(() => cedana.close());
      return stopped;
    },
  };
}
