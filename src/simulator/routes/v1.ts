// GET /v1/checkpoints/{checkpoint_id} (003 in the reference): the newer {data}/{error} envelope style.
import type { Route } from '../context.ts';
import { ApiFailure, isUuid, json } from '../http.ts';
import { v1CheckpointJson } from './views.ts';

export const v1Routes: Route[] = [
  {
    method: 'GET',
    template: '/v1/checkpoints/{checkpoint_id}',
    style: 'v1',
    handle(ctx) {
      const { core } = ctx;
      const key = ctx.params.checkpoint_id ?? '';
      let cp = isUuid(key) ? core.store.checkpoints.get(key.toLowerCase()) : undefined;
      if (!cp) {
        // A display name can repeat (a pod checkpointed twice): the newest live one wins, like GET /v2/checkpoint/path.
        const named = core.store.checkpointsNamed(key);
        cp = named.filter((c) => core.lifecycle.checkpoint(c).status !== 'deprecated').at(-1) ?? named.at(-1);
      }
      if (!cp) throw new ApiFailure(404, `checkpoint '${key}' not found`);
      return json({ data: v1CheckpointJson(core, cp) });
    },
  },
];
