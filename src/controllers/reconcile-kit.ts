// What both reconcilers share: optimistic status writes, Cedana error triage, poll pacing.
import { CedanaApiError } from '../cedana/errors.ts';
import type { Condition } from '../api/meta.ts';
import { statusCodeOf } from '../kube/errors.ts';
import { setCondition, type ConditionInput } from '../kube/conditions.ts';
import { ConflictError } from '../kube/conflict.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';

export interface StatusOwner<S> {
  metadata: { name: string; namespace?: string | undefined; resourceVersion?: string | undefined; generation?: number | undefined };
  status?: S | undefined;
}

/**
 * Merge-patches status with the resourceVersion we read as a precondition: a reconcile that acted
 * on a stale cache gets 409 before it can repeat a Cedana call. Returns the object as written.
 */
export async function writeStatus<S extends { conditions?: Condition[] | undefined }, T extends StatusOwner<S>>(
  objects: CustomObjects,
  plural: string,
  obj: T,
  changes: Partial<S>,
  conditions: ConditionInput[],
  parse: (raw: unknown) => T,
): Promise<T> {
  const staged = stageStatus(obj, changes, conditions);
  const status = { ...staged.status, observedGeneration: obj.metadata.generation };
  try {
    const written = await objects.patchStatus({ plural, namespace: obj.metadata.namespace ?? 'default', name: obj.metadata.name }, status, obj.metadata.resourceVersion);
    return parse(written);
  } catch (err) {
    if (statusCodeOf(err) === 409) throw new ConflictError(`${plural} ${obj.metadata.namespace ?? ''}/${obj.metadata.name} changed since it was read`);
    throw err;
  }
}

/**
 * The object with status changes applied in memory only, for a reconcile that gathers several
 * steps into one write (writeStatus of the staged object writes them all).
 */
export function stageStatus<S extends { conditions?: Condition[] | undefined }, T extends StatusOwner<S>>(obj: T, changes: Partial<S>, conditions: ConditionInput[]): T {
  let list = obj.status?.conditions;
  for (const c of conditions) list = setCondition(list, c, obj.metadata.generation);
  return { ...obj, status: { ...obj.status, ...changes, ...(list ? { conditions: list } : {}) } as S };
}

/**
 * Merge-patches some status fields of an object another controller owns the rest of (no
 * conditions, no observedGeneration), guarded by resourceVersion like writeStatus.
 */
export async function patchStatusFields(objects: CustomObjects, plural: string, obj: StatusOwner<unknown>, fields: Record<string, unknown>): Promise<void> {
  try {
    await objects.patchStatus({ plural, namespace: obj.metadata.namespace ?? 'default', name: obj.metadata.name }, fields, obj.metadata.resourceVersion);
  } catch (err) {
    if (statusCodeOf(err) === 409) throw new ConflictError(`${plural} ${obj.metadata.namespace ?? ''}/${obj.metadata.name} changed since it was read`);
    throw err;
  }
}

/** A refusal that retrying will not change, said in our own words (triage: permanent). */
export class CedanaRejection extends Error {
  override name = 'CedanaRejection';
}

export type Triage = { kind: 'permanent'; message: string } | { kind: 'transient'; message: string };

/** 4xx that will not heal is permanent; 5xx, 429, timeouts and network errors are transient. */
export function triage(err: unknown): Triage {
  if (err instanceof CedanaRejection) return { kind: 'permanent', message: err.message };
  if (err instanceof CedanaApiError) {
    const message = err.apiMessage ?? err.message;
    return err.retryable ? { kind: 'transient', message: err.message } : { kind: 'permanent', message };
  }
  return { kind: 'transient', message: err instanceof Error ? err.message : String(err) };
}

/** Poll fast at first, then slower: a quarter of the time waited so far, within [min, max]. */
export const pollDelay = (sinceIso: string | undefined, minMs: number, maxMs: number, now = Date.now()): number => {
  const since = sinceIso ? Date.parse(sinceIso) : NaN;
  const elapsed = Number.isNaN(since) ? 0 : Math.max(0, now - since);
  return Math.round(Math.min(maxMs, Math.max(minMs, elapsed / 4)));
};

export const nowIso = (): string => new Date().toISOString();

/** Clock skew allowed between us and Cedana when matching a lost POST to an action by time. */
export const SKEW_MS = 120_000;
