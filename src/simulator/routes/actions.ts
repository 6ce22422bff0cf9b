// Pod checkpoint and restore through actions (002 in the reference).
import { declaredCheckpoint } from '../../api/checkpoint-name.ts';
import { CheckpointPod, CheckpointStatusWithPodSpec, RestorePod } from '../../cedana/schemas.ts';
import type { RequestContext, Route, SimulatorCore } from '../context.ts';
import { ApiFailure, bodyAs, isUuid, json, text } from '../http.ts';
import type { StoredAction } from '../state.ts';
import { isCheckpointType } from '../lifecycle.ts';
import { actionJson, actionType, isRecord } from './views.ts';

/** "" counts as absent: a careful server does not key anything on an empty name. */
export const given = (s: string | null | undefined): string | null => (s === undefined || s === null || s.trim() === '' ? null : s);

/** The details of an action doomed by fault injection, or null. */
export function injectedFailure(ctx: RequestContext, what: string): string | null {
  const source = ctx.core.faults.actionFailure(ctx.key);
  return source === null ? null : `simulated failure: ${what} (injected by ${source})`;
}

/** An action by id; 404 for an unknown one. An id that is not a UUID names no action either:
 *  these operations document 404 and no 400 for it. */
export function actionOr404(core: SimulatorCore, raw: string, message: string): StoredAction {
  const action = isUuid(raw) ? core.store.actions.get(raw.toLowerCase()) : undefined;
  if (!action) throw new ApiFailure(404, message.replace('%s', raw));
  return action;
}

export const actionRoutes: Route[] = [
  {
    method: 'POST',
    template: '/v2/checkpoint/pod',
    style: 'v2',
    async handle(ctx) {
      const { core } = ctx;
      const req = bodyAs(ctx.body, CheckpointPod);
      const podId = given(req.pod_id);
      const podName = given(req.pod_name);
      const namespace = given(req.namespace);
      if (podId === null && podName === null) throw new ApiFailure(400, 'invalid request body: pod_id or pod_name is required');
      const unsynced = () => new ApiFailure(404, `Failed to find checkpointable resource: pod ${namespace ?? 'default'}/${podName ?? podId ?? ''}`);
      if (core.hooks.podExists && !(await core.hooks.podExists({ namespace, podName, podId }))) throw unsynced();
      if (core.profile === 'service' && core.syncLagMs > 0 && core.hooks.podCreatedAt) {
        // Cedana's cluster sync has not seen a pod this young yet.
        const createdAt = await core.hooks.podCreatedAt({ namespace, podName, podId });
        if (createdAt !== null && core.now() - createdAt < core.syncLagMs) throw unsynced();
      }
      core.store.touchCluster(given(req.cluster_id), core.now());
      // A checkpoint is named by its pod's CEDANA_CHECKPOINT (declarative restore). The service
      // names no other checkpoint; the reference profile names the rest by pod (GET /v2/checkpoint/path).
      const declared = core.hooks.checkpointNameOf ? await core.hooks.checkpointNameOf({ namespace, podName, podId }) : undefined;
      const checkpointName = declared ?? (core.profile === 'service' || podName === null ? null : `${namespace ?? 'default'}/${podName}`);
      const action = core.store.createCheckpointAction(checkpointName, {
        type: 'checkpoint',
        createdAt: core.now(),
        reason: req.reason ?? 'manual',
        failure: injectedFailure(ctx, 'CRIU dump failed'),
        pod: { id: podId, name: podName, namespace },
        clusterId: given(req.cluster_id),
        kind: req.kind ?? 'simple',
        overrides: req.overrides ?? null,
      });
      if (podId !== null) core.store.mapPodToAction(podId, action.id);
      return text(action.id);
    },
  },
  {
    method: 'GET',
    template: '/v2/checkpoint/status/{action_id}',
    style: 'v2',
    async handle(ctx) {
      const raw = ctx.params.action_id ?? '';
      // A poll of a pod restore waits briefly for the Kubernetes side, so it sees the outcome.
      if (isUuid(raw)) await ctx.core.lifecycle.settle(raw.toLowerCase());
      const action = actionOr404(ctx.core, raw, 'Action ID not found: %s');
      // The service documents this status for checkpoint actions only: a restore is not found here.
      if (ctx.core.profile === 'service' && !isCheckpointType(action)) throw new ApiFailure(404, `Action ID not found: ${raw}`);
      const view = ctx.core.lifecycle.action(action);
      return json({ status: view.status, details: view.details });
    },
  },
  {
    method: 'POST',
    template: '/v2/actions/upload',
    style: 'v2',
    handle(ctx) {
      const { core } = ctx;
      const req = bodyAs(ctx.body, CheckpointStatusWithPodSpec);
      const action = actionOr404(core, req.action_id, 'Failed to get action_id within the db: action %s not found');
      // Any action takes a pod spec (the reference documents no 400 here); a restore uses its checkpoint action's.
      const podId = given(req.pod_id);
      action.upload = {
        status: req.status,
        podId,
        podSpec: req.pod_spec,
        podMetadataSpec: req.pod_metadata_spec,
        persistentVolumeClaim: req.persistent_volume_claim,
        uploadedAt: core.now(),
      };
      if (podId !== null) {
        action.pod = { id: podId, name: action.pod?.name ?? null, namespace: action.pod?.namespace ?? null };
        core.store.mapPodToAction(podId, action.id);
      }
      if (core.profile === 'service') {
        const name = checkpointEnvName(req.pod_spec, req.pod_metadata_spec);
        const cp = core.store.checkpoints.get(action.checkpointId);
        if (name !== null && cp) core.store.nameCheckpoint(cp, name);
        return text('Success');
      }
      return text(action.id);
    },
  },
  {
    method: 'GET',
    template: '/v2/actions/from_pod/{id}',
    style: 'v2',
    handle(ctx) {
      const podId = ctx.params.id ?? '';
      const action = ctx.core.store.latestActionForPod(podId);
      if (!action) throw new ApiFailure(404, `Failed to get action_id for the given pod_id: no checkpoint action for pod ${podId}`);
      return text(action.id);
    },
  },
  {
    method: 'GET',
    template: '/v2/actions',
    style: 'v2',
    handle(ctx) {
      const type = given(ctx.query.type);
      const actions = [...ctx.core.store.actions.values()].filter((a) => type === null || actionType(ctx.core, a) === type);
      return json(actions.map((a) => actionJson(ctx.core, a)));
    },
  },
  {
    method: 'GET',
    template: '/v2/checkpoint/path',
    style: 'v2',
    handle(ctx) {
      const name = given(ctx.query.name);
      if (name === null) throw new ApiFailure(400, 'Failed to get action for request: query parameter name is required');
      const { core } = ctx;
      const latest = core.store
        .checkpointsNamed(name)
        .map((cp) => ({ cp, view: core.lifecycle.checkpoint(cp) }))
        .filter(({ view }) => view.status === 'ready')
        .at(-1);
      if (!latest) throw new ApiFailure(400, `Failed to get action for request: no ready checkpoint named '${name}'`);
      return text(latest.view.restorePath ?? '');
    },
  },
  {
    method: 'POST',
    template: '/v2/restore/pod',
    style: 'v2',
    handle(ctx) {
      const { core } = ctx;
      const req = bodyAs(ctx.body, RestorePod);
      const invalid = (why: string) => new ApiFailure(400, `Invalid action_id '${req.action_id}': ${why}`);
      if (!isUuid(req.action_id)) throw invalid('not a UUID');
      const source = core.store.actions.get(req.action_id.toLowerCase());
      if (!source) throw invalid('no such action');
      if (source.type !== 'checkpoint') throw invalid(`it is a ${source.type} action, not a pod checkpoint action`);
      const view = core.lifecycle.action(source);
      if (view.status !== 'ready') throw invalid(`its checkpoint is ${view.status}${view.details === null ? '' : ` (${view.details})`}, not ready`);
      const podName = given(req.overrides?.pod_name) ?? (source.pod?.name ? `${source.pod.name}-restored` : null);
      const action = core.store.createAction({
        type: 'restore',
        checkpointId: source.checkpointId,
        createdAt: core.now(),
        reason: req.reason,
        failure: injectedFailure(ctx, 'CRIU restore failed'),
        pod: source.pod ? { ...source.pod, name: podName } : null,
        clusterId: given(req.cluster_id),
        kind: source.kind,
        overrides: req.overrides ?? null,
        sourceActionId: source.id,
        restorePodName: podName,
        hook: core.hooks.onRestoreReady ? { state: 'pending', error: null, promise: null } : null,
      });
      // The service's from_pod answers a pod's latest action of any kind: its restore too.
      if (core.profile === 'service' && source.pod?.id) core.store.mapPodToAction(source.pod.id, action.id);
      core.store.touchCluster(given(req.cluster_id), core.now());
      return text(action.id);
    },
  },
];

/** The value of a container's CEDANA_CHECKPOINT env in an uploaded pod spec (resolved against its metadata), or null. */
function checkpointEnvName(podSpec: unknown, podMetadata: unknown): string | null {
  if (!isRecord(podSpec)) return null;
  const meta = isRecord(podMetadata) ? podMetadata : {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const strings = (v: unknown): Record<string, string> | undefined => (isRecord(v) ? Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (typeof x === 'string' ? [[k, x]] : []))) : undefined);
  return declaredCheckpoint({
    metadata: { name: str(meta.name) ?? '', namespace: str(meta.namespace), uid: str(meta.uid), labels: strings(meta.labels), annotations: strings(meta.annotations) },
    spec: podSpec,
  }).name;
}
