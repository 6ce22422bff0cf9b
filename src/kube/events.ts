// Kubernetes Events for what the operator did to an object, so `kubectl describe` tells the story.
// Sent in the background by a few senders, as client-go's broadcaster sends them from its own
// goroutine: a node's 1,000 checkpoints turning Ready within a second are not 1,000 requests (and
// TLS connections) at once, and the reconciles that record them never wait.
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { paths, type KubeClient } from './client.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string | undefined; uid?: string | undefined; resourceVersion?: string | undefined };
}

export type EventType = 'Normal' | 'Warning';

/** Events in flight at once. */
const SENDERS = 4;
/** Events waiting beyond this are dropped (and counted in a log line): Events are best effort. */
const MAX_PENDING = 5_000;

interface Pending {
  namespace: string;
  body: object;
  what: { kind: string; name: string; reason: string };
}

export class EventRecorder {
  private readonly kube: Pick<KubeClient, 'create'>;
  private readonly log: Logger;
  private readonly instance: string;
  private readonly pending: Pending[] = [];
  private inFlight = 0;
  private dropped = 0;

  constructor(kube: Pick<KubeClient, 'create'>, log: Logger, instance: string) {
    this.kube = kube;
    this.log = log;
    this.instance = instance;
  }

  /** Fire and forget: an Event that cannot be written is logged, never fails a reconcile. */
  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    const namespace = target.metadata.namespace ?? 'default';
    const now = new Date();
    const body = {
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
    };
    if (this.pending.length >= MAX_PENDING) {
      if (this.dropped++ % 1_000 === 0) this.log.warn({ dropped: this.dropped, pending: this.pending.length }, 'too many Events waiting to be sent; dropping some');
      return;
    }
    this.pending.push({ namespace, body, what: { kind: target.kind, name: target.metadata.name, reason } });
    this.drain();
  }

  /** How many Events wait or are being sent (for tests and shutdown). */
  get backlog(): number {
    return this.pending.length + this.inFlight;
  }

  private drain(): void {
    while (this.inFlight < SENDERS) {
      const next = this.pending.shift();
      if (!next) return;
      this.inFlight++;
      this.kube
        .create(paths.events(next.namespace), next.body)
        .catch((err: unknown) => {
          this.log.warn({ err, kind: next.what.kind, namespace: next.namespace, name: next.what.name, reason: next.what.reason }, 'could not record event');
        })
        .finally(() => {
          this.inFlight--;
          this.drain();
        });
    }
  }
}
