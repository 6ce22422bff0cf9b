// Reading actions as the real service reports them: `type` and the listing's `status` are free
// strings. The reference says `checkpoint`/`restore` and `ready`/`error`; the service says
// `checkpoint_pod`/`restore_pod`/`heartbeat`, and Cedana's own CI takes `success`, `completed`,
// `ready` as done and `failed`, `error` as failed. Nothing here trusts a server-side type filter.
import type { Action } from './schemas.ts';

export type ActionOutcome = 'done' | 'failed' | 'running';

const DONE = new Set(['success', 'succeeded', 'completed', 'complete', 'ready']);
// not_found: the reference's status for a checkpoint that is gone for good; it will not become ready.
const FAILED = new Set(['failed', 'failure', 'error', 'not_found']);

/** done, failed, or (anything else, unknown strings included) still running. Case-insensitive. */
export function actionOutcome(status: string | null | undefined): ActionOutcome {
  const s = (status ?? '').trim().toLowerCase();
  if (DONE.has(s)) return 'done';
  if (FAILED.has(s)) return 'failed';
  return 'running';
}

export const isActionDone = (status: string | null | undefined): boolean => actionOutcome(status) === 'done';
export const isActionFailed = (status: string | null | undefined): boolean => actionOutcome(status) === 'failed';
export const isActionRunning = (status: string | null | undefined): boolean => actionOutcome(status) === 'running';

/**
 * What an action is, from its free-string type: a pod checkpoint (`checkpoint`, `checkpoint_pod`),
 * a heartbeat checkpoint Cedana took itself (`heartbeat`), a pod restore (`restore`,
 * `restore_pod`), a Slurm one, or something this operator does not know.
 */
export type ActionKind = 'checkpoint' | 'heartbeat' | 'restore' | 'slurm_checkpoint' | 'slurm_restore' | 'other';

const KINDS: Record<string, ActionKind> = {
  checkpoint: 'checkpoint',
  checkpoint_pod: 'checkpoint',
  pod_checkpoint: 'checkpoint',
  heartbeat: 'heartbeat',
  heartbeat_checkpoint: 'heartbeat',
  restore: 'restore',
  restore_pod: 'restore',
  pod_restore: 'restore',
  slurm_checkpoint: 'slurm_checkpoint',
  checkpoint_slurm_job: 'slurm_checkpoint',
  slurm_restore: 'slurm_restore',
  restore_slurm_job: 'slurm_restore',
};

export function actionKind(type: string | null | undefined): ActionKind {
  return KINDS[(type ?? '').trim().toLowerCase()] ?? 'other';
}

/** A pod checkpoint of any origin (ours or Cedana's heartbeat): something a pod can be restored from. */
export const isPodCheckpointAction = (a: Pick<Action, 'type'>): boolean => {
  const k = actionKind(a.type);
  return k === 'checkpoint' || k === 'heartbeat';
};

export const isPodRestoreAction = (a: Pick<Action, 'type'>): boolean => actionKind(a.type) === 'restore';
