// What every controller gets from the operator besides its caches: the Cedana client, the API
// writers, events, metrics and the settings. Caches and indexes come from the manager.
import type { CedanaClient } from '../cedana/client.ts';
import type { Config } from '../config/config.ts';
import type { KubeClient } from '../kube/client.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Metrics } from '../metrics.ts';
import type { ActionDirectory } from './action-directory.ts';
import type { Protection } from './protection.ts';

export interface OperatorContext {
  cedana: CedanaClient;
  actions: ActionDirectory;
  /** Reads that the caches cannot answer (a whole pod, a node not yet watched). */
  kube: Pick<KubeClient, 'get'>;
  objects: CustomObjects;
  events: EventRecorder;
  metrics: Metrics;
  protection: Protection;
  config: Config;
}
