// /v2/checkpoints: checkpoints managed directly by their id (000 in the reference).
import { CheckpointInfo, CheckpointSuccessInfo, type CheckpointStatus } from '../../cedana/schemas.ts';
import type { RequestContext, Route } from '../context.ts';
import { ApiFailure, bodyAs, isUuid, json, text, uuidOr400 } from '../http.ts';
import type { StoredCheckpoint } from '../state.ts';
import { checkpointJson } from './views.ts';

const RANK: Record<CheckpointStatus, number> = { initializing: 0, updated_info: 1, possibly_uploaded: 2, ready: 3, deprecated: 4 };
/** Statuses only move forward: a late or repeated call never takes a ready checkpoint back, and
 *  `deprecated` is final (a late info or upload report is recorded, the status stays). */
const advance = (cp: StoredCheckpoint, to: CheckpointStatus): void => {
  if (RANK[to] > RANK[cp.status]) cp.status = to;
};

/** The {id} of the path: 400 when it is not a UUID (checked first, like the body, before any lookup). */
const idOf = (ctx: RequestContext, invalidMessage: string): string => {
  const raw = ctx.params.id ?? '';
  return uuidOr400(raw, invalidMessage.replace('%s', raw));
};

function find(ctx: RequestContext, id: string): StoredCheckpoint {
  const cp = ctx.core.store.checkpoints.get(id);
  if (!cp) throw new ApiFailure(404, `checkpoint ${id} not found`);
  return cp;
}

export const checkpointRoutes: Route[] = [
  {
    method: 'GET',
    template: '/v2/checkpoints',
    style: 'v2',
    handle(ctx) {
      const { store } = ctx.core;
      const ids = (ctx.query.ids ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      for (const id of ids) if (!isUuid(id)) throw new ApiFailure(400, `invalid ids: '${id}' is not a UUID`);
      const wanted = new Set(ids.map((id) => id.toLowerCase()));
      const list = wanted.size === 0 ? [...store.checkpoints.values()] : [...wanted].flatMap((id) => store.checkpoints.get(id) ?? []);
      return json(list.map((cp) => checkpointJson(ctx.core, cp)));
    },
  },
  {
    method: 'POST',
    template: '/v2/checkpoints',
    style: 'v2',
    handle(ctx) {
      return text(ctx.core.store.createCheckpoint(ctx.core.now(), { name: null, actionId: null }).id);
    },
  },
  {
    method: 'PUT',
    template: '/v2/checkpoints/info/{id}',
    style: 'v2',
    handle(ctx) {
      const id = idOf(ctx, "invalid id: '%s' is not a UUID");
      const info = bodyAs(ctx.body, CheckpointInfo);
      const cp = find(ctx, id);
      cp.gpu = info.gpu;
      cp.platform = info.platform;
      cp.info = info.info;
      advance(cp, 'updated_info');
      return text(cp.id);
    },
  },
  {
    method: 'POST',
    template: '/v2/checkpoints/uploaded/{id}',
    style: 'v2',
    handle(ctx) {
      const id = idOf(ctx, "Invalid request parameters: id '%s' is not a UUID");
      const success = bodyAs(ctx.body, CheckpointSuccessInfo);
      const cp = find(ctx, id);
      const path = success.restore_path ?? '';
      // Without a restore path the upload cannot be confirmed: Cedana's `possibly_uploaded`.
      if (path === '') advance(cp, 'possibly_uploaded');
      else {
        cp.restorePath = path;
        advance(cp, 'ready');
      }
      return text(cp.id);
    },
  },
  {
    method: 'PATCH',
    template: '/v2/checkpoints/deprecate/{id}',
    style: 'v2',
    handle(ctx) {
      const cp = find(ctx, idOf(ctx, 'Invalid UUID provided'));
      advance(cp, 'deprecated');
      return text(cp.id);
    },
  },
];
