// How actions and their checkpoints move over time. Statuses are computed from timestamps when read
// (no timer per action, so thousands of actions cost nothing while idle). Only one thing needs a
// trigger: a pod restore reaching `ready` calls the onRestoreReady hook, so pending restores are
// swept on every request and by a light unref'd interval.
import type { Logger } from 'pino';
import type { CheckpointOperationStatus, CheckpointStatus } from '../cedana/schemas.ts';
import type { StoredAction, StoredCheckpoint, StoredUpload, Store } from './state.ts';

export interface SimulatorHooks {
  /** A pod checkpoint request for this pod; return false to answer 404 "Failed to find checkpointable resource". */
  podExists?(req: { namespace: string | null; podName: string | null; podId: string | null }): Promise<boolean>;
  /**
   * When the pod was created (ms, the simulator's clock), or null when unknown. The service
   * profile answers the sync-lag 404 for a pod younger than `syncLagMs`.
   */
  podCreatedAt?(req: { namespace: string | null; podName: string | null; podId: string | null }): Promise<number | null>;
  /**
   * The pod of a checkpoint action went away (deleted, or started terminating): when, and what to
   * say. Asked with the time the checkpoint would be taken; null when the pod stayed until then.
   */
  checkpointInterrupted?(pod: { id: string | null; name: string | null; namespace: string | null }, takenAt: number): { at: number; details: string } | null;
  /**
   * The pod's CEDANA_CHECKPOINT value as its container sees it (the name Cedana gives its
   * checkpoints), or null when it has none; undefined when the pod cannot be read.
   */
  checkpointNameOf?(req: { namespace: string | null; podName: string | null; podId: string | null }): Promise<string | null | undefined>;
  /**
   * Pods created from now on (the Kubernetes side's watch): Cedana's declarative restore starts a
   * new pod from the newest Ready checkpoint named by its CEDANA_CHECKPOINT.
   */
  onPodCreated?(listener: (pod: NewPod) => void): void;
  /** The simulator closes: stop what the hooks started (watches). */
  close?(): void;
  /** A restore action reached `ready`: Cedana's in-cluster side would now create the pod. */
  onRestoreReady?(restore: { restoreActionId: string; checkpointActionId: string; podName: string | null; upload: StoredUpload | undefined; reason: string }): Promise<void>;
}

/** A pod the Kubernetes side saw created. */
export interface NewPod {
  uid: string;
  name: string;
  namespace: string;
  checkpointName: string | null;
  /** Made by a restore action of the simulator's (POST /v2/restore/pod): already restored. */
  restored: boolean;
}

/** The statuses an action passes through, one per step, before its final `ready` or `error`. */
export const PROGRESSION = ['initialized', 'processing', 'checkpoint_created'] as const satisfies readonly CheckpointOperationStatus[];

export interface ActionView {
  status: CheckpointOperationStatus;
  details: string | null;
  /** When the action reached `ready` or `error`; null while it runs. */
  completedAt: number | null;
}

export interface CheckpointView {
  status: CheckpointStatus;
  restorePath: string | null;
}

const CHECKPOINT_RANK: Record<CheckpointStatus, number> = { initializing: 0, updated_info: 1, possibly_uploaded: 2, ready: 3, deprecated: 4 };

export const isCheckpointType = (a: StoredAction): boolean => a.type === 'checkpoint' || a.type === 'slurm_checkpoint';

export const restorePathFor = (checkpointId: string): string => `cedana://checkpoints/${checkpointId}`;

export interface Lifecycle {
  action(a: StoredAction): ActionView;
  checkpoint(cp: StoredCheckpoint): CheckpointView;
  /** Starts the hook of every pod restore that has reached its `ready` time. */
  sweep(): void;
  /** Sweeps, then waits (at most maxWaitMs) for a running hook of this action, so a poll sees its outcome. */
  settle(actionId: string, maxWaitMs?: number): Promise<void>;
  stop(): void;
}

export function createLifecycle(opts: { store: Store; now: () => number; stepMs: number; hooks: SimulatorHooks; logger: Logger }): Lifecycle {
  const { store, now, stepMs, hooks, logger } = opts;
  const steps = (a: StoredAction): number => (stepMs <= 0 ? PROGRESSION.length : Math.floor(Math.max(0, now() - a.createdAt) / stepMs));
  const finishedAt = (a: StoredAction): number => a.createdAt + PROGRESSION.length * Math.max(0, stepMs);

  /** The action's own progress, ignoring what happened to its checkpoint since. */
  function progress(a: StoredAction): ActionView {
    const step = steps(a);
    // Cedana cannot dump a pod that went away before the dump (at checkpoint_created): the action fails then.
    const gone = isCheckpointType(a) && a.pod && hooks.checkpointInterrupted ? hooks.checkpointInterrupted(a.pod, a.createdAt + (PROGRESSION.length - 1) * Math.max(0, stepMs)) : null;
    if (gone && gone.at <= now()) return { status: 'error', details: gone.details, completedAt: Math.max(gone.at, a.createdAt) };
    const running = PROGRESSION[step];
    if (running !== undefined) return { status: running, details: null, completedAt: null };
    if (a.failure !== null) return { status: 'error', details: a.failure, completedAt: finishedAt(a) };
    if (a.hook) {
      // Hold a pod restore at its last running status until the Kubernetes side has made the pod:
      // `ready` then means the restored pod exists.
      if (a.hook.state === 'failed') return { status: 'error', details: `restore failed: ${a.hook.error ?? 'unknown error'}`, completedAt: finishedAt(a) };
      if (a.hook.state !== 'done') return { status: 'checkpoint_created', details: null, completedAt: null };
    }
    return { status: 'ready', details: null, completedAt: finishedAt(a) };
  }

  function action(a: StoredAction): ActionView {
    if (isCheckpointType(a)) {
      const cp = store.checkpoints.get(a.checkpointId);
      // The checkpoint is gone for good (deprecated): its action can no longer be restored.
      if (cp?.status === 'deprecated') return { status: 'not_found', details: `checkpoint ${cp.id} was deprecated`, completedAt: progress(a).completedAt };
    }
    return progress(a);
  }

  function checkpoint(cp: StoredCheckpoint): CheckpointView {
    if (cp.status === 'deprecated') return { status: 'deprecated', restorePath: cp.restorePath };
    const producer = cp.actionId === null ? undefined : store.actions.get(cp.actionId);
    let derived: CheckpointView = { status: 'initializing', restorePath: null };
    if (producer) {
      const p = progress(producer).status;
      if (p === 'checkpoint_created') derived = { status: 'updated_info', restorePath: null };
      else if (p === 'ready') derived = { status: 'ready', restorePath: restorePathFor(cp.id) };
    }
    // The further of what the /v2/checkpoints endpoints said and what the action did.
    return CHECKPOINT_RANK[cp.status] >= CHECKPOINT_RANK[derived.status]
      ? { status: cp.status, restorePath: cp.restorePath ?? derived.restorePath }
      : { status: derived.status, restorePath: cp.restorePath ?? derived.restorePath };
  }

  function runHook(a: StoredAction): void {
    const hook = a.hook;
    if (!hook || !hooks.onRestoreReady) return;
    const source = a.sourceActionId === null ? undefined : store.actions.get(a.sourceActionId);
    hook.state = 'running';
    hook.promise = (async () => {
      try {
        await hooks.onRestoreReady?.({
          restoreActionId: a.id,
          checkpointActionId: a.sourceActionId ?? '',
          podName: a.restorePodName,
          upload: source?.upload,
          reason: a.reason ?? 'manual',
        });
        hook.state = 'done';
      } catch (err) {
        hook.state = 'failed';
        hook.error = err instanceof Error ? err.message : String(err);
        logger.warn({ err, restoreActionId: a.id }, 'onRestoreReady hook failed; the restore action ends in error');
      }
    })();
  }

  function sweep(): void {
    for (const id of store.pendingRestores) {
      const a = store.actions.get(id);
      if (!a) {
        store.pendingRestores.delete(id);
        continue;
      }
      if (steps(a) < PROGRESSION.length) continue;
      store.pendingRestores.delete(id);
      if (a.failure === null) runHook(a);
    }
  }

  // Only pod restores with a hook need a trigger besides requests; unref'd, it never holds the process.
  const interval = hooks.onRestoreReady ? setInterval(sweep, Math.min(1000, Math.max(10, Math.floor(stepMs / 2)))) : undefined;
  interval?.unref();

  return {
    action,
    checkpoint,
    sweep,
    async settle(actionId, maxWaitMs = 1000) {
      sweep();
      const promise = store.actions.get(actionId)?.hook?.promise;
      if (!promise) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, maxWaitMs).unref()))]);
      clearTimeout(timer);
    },
    stop: () => {
      clearInterval(interval);
      hooks.close?.();
    },
  };
}
