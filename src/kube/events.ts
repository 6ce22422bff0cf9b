// Kubernetes Events for what the operator did to an object, so `kubectl describe` tells the story.
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { paths, type KubeClient } from './client.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string | undefined; uid?: string | undefined; resourceVersion?: string | undefined };
}

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly kube: KubeClient;
  private readonly log: Logger;
  private readonly instance: string;
  constructor(kube: KubeClient, log: Logger, instance: string) {
    this.kube = kube;
    this.log = log;
    this.instance = instance;
  }

  /** Fire and forget: an Event that cannot be written is logged, never fails a reconcile. */
  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    const namespace = target.metadata.namespace ?? 'default';
    const now = new Date();
    this.kube
      .create(paths.events(namespace), {
        metadata: { name: `${target.metadata.name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`, namespace },
        involvedObject: {
          apiVersion: target.apiVersion,
          kind: target.kind,
          name: target.metadata.name,
          namespace,
          ...(target.metadata.uid ? { uid: target.metadata.uid } : {}),
          ...(target.metadata.resourceVersion ? { resourceVersion: target.metadata.resourceVersion } : {}),
        },
        type,
        reason,
        message: message.slice(0, 1024),
        count: 1,
        firstTimestamp: now.toISOString(),
        lastTimestamp: now.toISOString(),
        source: { component: 'cedana-operator' },
        reportingComponent: 'cedana.ai/cedana-operator',
        reportingInstance: this.instance,
      })
      .catch((err: unknown) => {
        this.log.warn({ err, kind: target.kind, namespace, name: target.metadata.name, reason }, 'could not record event');
      });
  }
}
