// Cedana's declarative restore, played by the simulator: a pod created with a CEDANA_CHECKPOINT
// value that names a Ready checkpoint is started from the newest of them. Cedana creates no pod
// (the pod exists: its owner made it); it records a restore action, which moves to `ready` on the
// lifecycle clock, shows in GET /v2/actions (type restore, or restore_pod in the service profile)
// and answers from_pod of the new pod. The operator learns of it only through the API.
import type { SimulatorCore } from './context.ts';
import type { NewPod } from './lifecycle.ts';

export function declarativeRestore(core: SimulatorCore, pod: NewPod): void {
  if (pod.restored || pod.checkpointName === null) return;
  const { store, lifecycle } = core;
  const newest = store
    .checkpointsNamed(pod.checkpointName)
    .filter((cp) => cp.actionId !== null && lifecycle.checkpoint(cp).status === 'ready')
    .at(-1);
  if (!newest || newest.actionId === null) return;
  const source = store.actions.get(newest.actionId);
  const action = store.createAction({
    type: 'restore',
    checkpointId: newest.id,
    createdAt: core.now(),
    reason: null,
    failure: null,
    pod: { id: pod.uid, name: pod.name, namespace: pod.namespace },
    clusterId: source?.clusterId ?? null,
    kind: source?.kind ?? null,
    sourceActionId: newest.actionId,
    restorePodName: pod.name,
  });
  store.mapPodToAction(pod.uid, action.id);
  core.logger.info({ pod: `${pod.namespace}/${pod.name}`, checkpoint: newest.id, name: pod.checkpointName, restoreActionId: action.id }, 'declarative restore of a new pod');
}
