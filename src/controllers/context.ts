// What every controller gets from the operator besides its caches: the Cedana client, the API
// writers, events, metrics and the settings. Caches and indexes come from the manager.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { CedanaClient } from '../cedana/client.ts';
import type { Config } from '../config/config.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Metrics } from '../metrics.ts';
import type { ActionDirectory } from './action-directory.ts';
import type { Protection } from './protection.ts';

export interface OperatorContext {
  cedana: CedanaClient;
  actions: ActionDirectory;
  core: CoreV1Api;
  objects: CustomObjects;
  events: EventRecorder;
  metrics: Metrics;
  protection: Protection;
  config: Config;
}
