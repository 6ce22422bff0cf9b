// Stored records rendered as the reference's schemas (Checkpoint, Action, V1Checkpoint).
import type { Action, Checkpoint, V1Checkpoint } from '../../cedana/schemas.ts';
import { V1CheckpointResources } from '../../cedana/schemas.ts';
import type { SimulatorCore } from '../context.ts';
import { isCheckpointType } from '../lifecycle.ts';
import { SERVICE_TYPES } from '../profile.ts';
import type { StoredAction, StoredCheckpoint } from '../state.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

export function checkpointJson(core: SimulatorCore, cp: StoredCheckpoint): Checkpoint {
  const view = core.lifecycle.checkpoint(cp);
  return {
    id: cp.id,
    name: cp.name,
    status: view.status,
    gpu: cp.gpu,
    platform: cp.platform,
    checksum: cp.checksum,
    ...(cp.info === undefined ? {} : { info: cp.info }),
  };
}

/** The action's `type` as the profile reports it: the reference's, or the service's real ones. */
export function actionType(core: SimulatorCore, a: StoredAction): string {
  if (core.profile !== 'service') return a.type;
  if (a.type === 'checkpoint') return a.reason === 'heartbeat' ? SERVICE_TYPES.heartbeat : SERVICE_TYPES.checkpoint;
  if (a.type === 'restore') return SERVICE_TYPES.restore;
  return a.type;
}

export function actionJson(core: SimulatorCore, a: StoredAction): Action {
  const view = core.lifecycle.action(a);
  const cp = core.store.checkpoints.get(a.checkpointId);
  const podSpec = a.upload?.podSpec;
  const nodeName = isRecord(podSpec) && typeof podSpec.nodeName === 'string' ? podSpec.nodeName : null;
  const succeeded = view.completedAt !== null && view.status !== 'error';
  return {
    action_id: a.id,
    checkpoint_id: a.checkpointId,
    status: view.status,
    type: actionType(core, a),
    details: view.details,
    gpu: cp?.gpu ?? '',
    platform: cp?.platform ?? 'linux/amd64',
    action_timestamp: iso(a.createdAt),
    checkpoint_completed_timestamp: succeeded && isCheckpointType(a) && view.completedAt !== null ? iso(view.completedAt) : null,
    node_name: nodeName,
    reason: a.reason,
    // From creation to `ready`/`error`: the reference gives no unit (milliseconds here); the service's is nanoseconds.
    total_duration: view.completedAt === null ? null : (view.completedAt - a.createdAt) * (core.profile === 'service' ? 1_000_000 : 1),
    // The simulator moves no bytes.
    total_io: null,
  };
}

// v1 speaks of states, not statuses.
const V1_STATE = { initializing: 'creating', updated_info: 'creating', possibly_uploaded: 'uploading', ready: 'ready', deprecated: 'deprecated' } as const;

export function v1CheckpointJson(core: SimulatorCore, cp: StoredCheckpoint): V1Checkpoint {
  const fromInfo = isRecord(cp.info) ? V1CheckpointResources.safeParse(cp.info.resources) : undefined;
  return {
    display_name: cp.name ?? cp.id,
    id: cp.id,
    // Cedana reports what the checkpointed workload asked for; the simulator knows only what PUT info said.
    resources: fromInfo?.success ? fromInfo.data : { limits: { memory_mib: 0 }, requests: { memory_mib: 0, vcpus: 0 } },
    state: V1_STATE[core.lifecycle.checkpoint(cp).status],
  };
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
