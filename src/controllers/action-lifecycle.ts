// The exactly-once lifecycle of one Cedana action, shared by PodCheckpoint and PodRestore:
//   write the intent → POST once → (after a crash or a lost answer: adopt the action instead of
//   posting again) → poll with the permanent/transient split → Ready, or Failed with a reason.
// Each reconciler keeps only its own decisions: what to POST, how to find a lost action, what
// "done" means for it, and which fields of its status hold the action id.
import type { Logger } from 'pino';
import type { CedanaClient } from '../cedana/client.ts';
import { CedanaApiError } from '../cedana/errors.ts';
import type { CheckpointOperationStatus } from '../cedana/schemas.ts';
import type { Condition } from '../api/meta.ts';
import { COMMON_CONDITIONS } from '../api/conditions.ts';
import { condition, findCondition, type ConditionInput } from '../kube/conditions.ts';
import type { EventType } from '../kube/events.ts';
import type { Metrics } from '../metrics.ts';
import { nowIso, triage } from './reconcile-kit.ts';

/** The status fields both kinds keep about their action. */
export interface ActionStatus {
  phase?: string | undefined;
  submitStartedAt?: string | undefined;
  submittedAt?: string | undefined;
  completedAt?: string | undefined;
  cedanaStatus?: string | undefined;
  message?: string | undefined;
  conditions?: Condition[] | undefined;
}

export interface ActionObject<S extends ActionStatus> {
  metadata: { name: string; namespace?: string | undefined };
  status?: S | undefined;
}

/** How the lifecycle writes to and reports on one kind. */
export interface ActionSubject<T extends ActionObject<S>, S extends ActionStatus> {
  /** 'checkpoint' or 'restore': for messages and the action_duration metric. */
  what: 'checkpoint' | 'restore';
  write(obj: T, changes: Partial<S>, conditions: ConditionInput[]): Promise<T>;
  event(obj: T, type: EventType, reason: string, message: string): void;
}

/** The reason a condition carries while Cedana does not answer as it should (5xx, 429, timeouts, malformed answers). */
export const CEDANA_UNAVAILABLE = 'CedanaUnavailable';

/** True when the object's Ready condition says it waits on an unavailable Cedana: the next good answer says otherwise. */
export const waitsOnCedana = (conditions: readonly Condition[] | undefined): boolean => findCondition(conditions, COMMON_CONDITIONS.Ready)?.reason === CEDANA_UNAVAILABLE;

export type Poll = { kind: 'progress'; status: CheckpointOperationStatus } | { kind: 'ready' } | { kind: 'failed' } | { kind: 'unknown' };

export class ActionLifecycle<T extends ActionObject<S>, S extends ActionStatus> {
  private readonly subject: ActionSubject<T, S>;
  private readonly cedana: CedanaClient;
  private readonly metrics: Metrics;

  constructor(subject: ActionSubject<T, S>, cedana: CedanaClient, metrics: Metrics) {
    this.subject = subject;
    this.cedana = cedana;
    this.metrics = metrics;
  }

  /**
   * POST exactly once. The intent (submitStartedAt) is written first; when it is already there, an
   * earlier attempt may have reached Cedana with its answer lost, so `recover` looks the action up
   * before anything is sent again. Returns undefined when the object was failed (Cedana refused).
   */
  async submit(
    obj: T,
    o: {
      intent: Partial<S>;
      recover: () => Promise<string | undefined>;
      post: () => Promise<string>;
      log: Logger;
      /** Look the action up before the first POST too: someone else may have posted for this object (the fast path). */
      recoverFirst?: boolean;
    },
  ): Promise<{ obj: T; actionId: string; adopted: boolean } | undefined> {
    const recovered = obj.status?.submitStartedAt || o.recoverFirst ? await o.recover() : undefined;
    if (recovered) {
      o.log.info({ actionId: recovered }, `adopted a ${this.subject.what} action whose answer was lost`);
      return { obj, actionId: recovered, adopted: true };
    }
    // The first intent stands: a retry keeps it (and the recovery window it opens), one write less.
    if (!obj.status?.submitStartedAt) {
      obj = await this.subject.write(obj, { phase: 'Pending', submitStartedAt: nowIso(), ...o.intent }, [
        condition(COMMON_CONDITIONS.Submitted, 'Unknown', 'Submitting', `Sending the ${this.subject.what} request to Cedana`),
      ]);
    }
    try {
      return { obj, actionId: await o.post(), adopted: false };
    } catch (err) {
      const t = triage(err);
      if (t.kind === 'permanent') {
        await this.fail(obj, 'CedanaRejected', `Cedana rejected the ${this.subject.what}: ${t.message}`, o.log);
        return undefined;
      }
      // Say why we wait, once per distinct reason: an outage must not be a write per retry.
      const known = findCondition(obj.status?.conditions, COMMON_CONDITIONS.Submitted);
      if (known?.reason !== CEDANA_UNAVAILABLE || known.message !== t.message) {
        await this.subject.write(obj, { message: t.message } as Partial<S>, [condition(COMMON_CONDITIONS.Submitted, 'Unknown', CEDANA_UNAVAILABLE, t.message)]);
      }
      throw err; // requeued with backoff; the next try looks the action up first
    }
  }

  /**
   * One status poll. A 4xx on the status call means Cedana does not know the action: Failed
   * (ActionNotFound). `error` and `not_found` fail with `failReason`. Transient errors throw.
   */
  async poll(obj: T, actionId: string, failReason: string, log: Logger, signal: AbortSignal, o: { notFoundIsUnknown?: boolean; staged?: boolean } = {}): Promise<Poll> {
    let answer;
    try {
      answer = await this.cedana.getCheckpointStatus(actionId, { signal });
    } catch (err) {
      // The real service keeps no status for restore actions: its 404 says nothing about the restore.
      if (o.notFoundIsUnknown && err instanceof CedanaApiError && err.isApiNotFound) return { kind: 'unknown' };
      const t = triage(err);
      if (t.kind === 'permanent') {
        await this.fail(obj, 'ActionNotFound', `Cedana does not know ${this.subject.what} action ${actionId}: ${t.message}`, log);
        return { kind: 'failed' };
      }
      // Say why it waits (once per distinct reason), and never leave what was staged in memory only.
      const known = findCondition(obj.status?.conditions, COMMON_CONDITIONS.Ready);
      if (o.staged || known?.reason !== CEDANA_UNAVAILABLE || known.message !== t.message) {
        await this.subject.write(obj, { message: t.message } as Partial<S>, [condition(COMMON_CONDITIONS.Ready, 'False', CEDANA_UNAVAILABLE, t.message)]);
      }
      throw err;
    }
    switch (answer.status) {
      case 'ready':
        this.observe(obj.status?.submittedAt, 'ready');
        return { kind: 'ready' };
      case 'error':
      case 'not_found':
        this.observe(obj.status?.submittedAt, 'error');
        await this.fail(obj, failReason, `Cedana reported ${answer.status}${answer.details ? `: ${answer.details}` : ''}`, log, { cedanaStatus: answer.status } as Partial<S>);
        return { kind: 'failed' };
      default:
        return { kind: 'progress', status: answer.status };
    }
  }

  async fail(obj: T, reason: string, message: string, log: Logger, extra: Partial<S> = {}): Promise<T> {
    log.warn({ reason }, message);
    const written = await this.subject.write(obj, { phase: 'Failed', message, completedAt: nowIso(), ...extra }, [condition(COMMON_CONDITIONS.Ready, 'False', reason, message)]);
    this.subject.event(obj, 'Warning', reason, message);
    return written;
  }

  private observe(submittedAt: string | undefined, result: string): void {
    if (submittedAt) this.metrics.actionDuration.observe({ type: this.subject.what, result }, (Date.now() - Date.parse(submittedAt)) / 1000);
  }
}
