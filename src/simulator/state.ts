// The simulator's store: checkpoints, actions and pods_to_actions, in memory. Statuses that move with
// time are not stored here; lifecycle.ts derives them from the timestamps kept here.
import { randomUUID } from 'node:crypto';
import type { CheckpointKind, CheckpointStatus } from '../cedana/schemas.ts';

export type ActionType = 'checkpoint' | 'restore' | 'slurm_checkpoint' | 'slurm_restore';

/** What POST /v2/actions/upload stored for a checkpoint action: what Cedana needs to rebuild the pod. */
export interface StoredUpload {
  status: string;
  podId: string | null;
  podSpec: unknown;
  podMetadataSpec: unknown;
  persistentVolumeClaim: unknown;
  uploadedAt: number;
}

export interface StoredCheckpoint {
  id: string;
  name: string | null;
  createdAt: number;
  gpu: string;
  platform: string;
  info: unknown;
  checksum: string | null;
  /** What the /v2/checkpoints endpoints set; a producing action can move it further (lifecycle.ts). */
  status: CheckpointStatus;
  restorePath: string | null;
  /** The checkpoint action that produces it, or null for one made by POST /v2/checkpoints. */
  actionId: string | null;
}

export type RestoreHookState = 'pending' | 'running' | 'done' | 'failed';

export interface StoredAction {
  id: string;
  type: ActionType;
  checkpointId: string;
  createdAt: number;
  reason: string | null;
  /** Set at creation when fault injection dooms the action: it ends in `error` with these details. */
  failure: string | null;
  pod: { id: string | null; name: string | null; namespace: string | null } | null;
  clusterId: string | null;
  kind: CheckpointKind | null;
  overrides: unknown;
  upload: StoredUpload | undefined;
  job: { id: string | null; name: string | null } | null;
  /** For restores: the checkpoint action restored, and the name the restored pod gets. */
  sourceActionId: string | null;
  restorePodName: string | null;
  /** For pod restores while a hook is installed: the Kubernetes side's progress. */
  hook: { state: RestoreHookState; error: string | null; promise: Promise<void> | null } | null;
}

/** What an action is created from: what does not apply to its type may be left out (null). */
type OptionalOnCreate = 'pod' | 'clusterId' | 'overrides' | 'job' | 'sourceActionId' | 'restorePodName' | 'hook';
export type NewAction = Omit<StoredAction, 'id' | 'upload' | OptionalOnCreate> & Partial<Pick<StoredAction, OptionalOnCreate>>;

export interface StoredCluster {
  id: string;
  name: string;
  registeredAt: number;
  /** When a pod call last named this cluster (cluster_id); null before any. */
  lastSyncAt: number | null;
}

export interface StoreStats {
  calls: Record<string, number>;
  faults: Record<string, number>;
}

export class Store {
  readonly checkpoints = new Map<string, StoredCheckpoint>();
  readonly actions = new Map<string, StoredAction>();
  /** pods_to_actions: pod id → its checkpoint action ids, oldest first. */
  readonly podsToActions = new Map<string, string[]>();
  /** Checkpoint ids by name, oldest first, for GET /v2/checkpoint/path and v1 display names. */
  readonly #byName = new Map<string, string[]>();
  /** Restore actions whose hook has not run yet: the sweep looks only at these. */
  readonly pendingRestores = new Set<string>();
  /** Registered clusters by id. */
  readonly clusters = new Map<string, StoredCluster>();
  readonly stats: StoreStats = { calls: {}, faults: {} };

  createCheckpoint(now: number, fields: { name: string | null; actionId: string | null }): StoredCheckpoint {
    const cp: StoredCheckpoint = {
      id: randomUUID(),
      name: fields.name,
      createdAt: now,
      gpu: '',
      platform: 'linux/amd64',
      info: undefined,
      checksum: null,
      status: 'initializing',
      restorePath: null,
      actionId: fields.actionId,
    };
    this.checkpoints.set(cp.id, cp);
    if (cp.name !== null) push(this.#byName, cp.name, cp.id);
    return cp;
  }

  createAction(fields: NewAction): StoredAction {
    const action: StoredAction = {
      pod: null,
      clusterId: null,
      overrides: null,
      job: null,
      sourceActionId: null,
      restorePodName: null,
      hook: null,
      ...fields,
      id: randomUUID(),
      upload: undefined,
    };
    this.actions.set(action.id, action);
    if (action.hook) this.pendingRestores.add(action.id);
    return action;
  }

  /** A checkpoint action and the checkpoint it produces, linked both ways (pod and Slurm checkpoints). */
  createCheckpointAction(checkpointName: string | null, fields: Omit<NewAction, 'checkpointId'>): StoredAction {
    const cp = this.createCheckpoint(fields.createdAt, { name: checkpointName, actionId: null });
    const action = this.createAction({ ...fields, checkpointId: cp.id });
    cp.actionId = action.id;
    return action;
  }

  /** Registers a cluster by name; a name registered before keeps its id. */
  registerCluster(name: string, now: number): StoredCluster {
    for (const c of this.clusters.values()) if (c.name === name) return c;
    const cluster: StoredCluster = { id: randomUUID(), name, registeredAt: now, lastSyncAt: null };
    this.clusters.set(cluster.id, cluster);
    return cluster;
  }

  /** A pod call named this cluster: Cedana's view of it is fresh. */
  touchCluster(id: string | null, now: number): void {
    const c = id === null ? undefined : this.clusters.get(id.toLowerCase());
    if (c) c.lastSyncAt = now;
  }

  /** Gives an unnamed checkpoint a name (the service names checkpoints by CEDANA_CHECKPOINT). */
  nameCheckpoint(cp: StoredCheckpoint, name: string): void {
    if (cp.name !== null) return;
    cp.name = name;
    push(this.#byName, name, cp.id);
  }

  mapPodToAction(podId: string, actionId: string): void {
    const list = this.podsToActions.get(podId);
    if (list?.includes(actionId)) return;
    push(this.podsToActions, podId, actionId);
  }

  latestActionForPod(podId: string): StoredAction | undefined {
    const id = this.podsToActions.get(podId)?.at(-1);
    return id === undefined ? undefined : this.actions.get(id);
  }

  checkpointsNamed(name: string): StoredCheckpoint[] {
    return (this.#byName.get(name) ?? []).flatMap((id) => this.checkpoints.get(id) ?? []);
  }

  countCall(key: string): void {
    this.stats.calls[key] = (this.stats.calls[key] ?? 0) + 1;
  }

  countFault(kind: string): void {
    this.stats.faults[kind] = (this.stats.faults[kind] ?? 0) + 1;
  }

  clear(): void {
    this.checkpoints.clear();
    this.actions.clear();
    this.podsToActions.clear();
    this.#byName.clear();
    this.pendingRestores.clear();
    this.clusters.clear();
    this.stats.calls = {};
    this.stats.faults = {};
  }
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
