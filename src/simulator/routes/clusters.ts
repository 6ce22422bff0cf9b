// The token check and cluster registration the service has and the reference pages lack
// (REAL-SERVICE.md; openapi/project-additions.json): GET /v2/user, POST and GET /v2/cluster,
// DELETE /v2/cluster/{id}.
import { RegisterCluster } from '../../cedana/schemas.ts';
import type { Route } from '../context.ts';
import { ApiFailure, bodyAs, json, text } from '../http.ts';

export const clusterRoutes: Route[] = [
  {
    method: 'GET',
    template: '/v2/user',
    style: 'v2',
    handle: (ctx) => text(ctx.core.userId),
  },
  {
    method: 'POST',
    template: '/v2/cluster',
    style: 'v2',
    handle(ctx) {
      const { cluster_name: name } = bodyAs(ctx.body, RegisterCluster);
      if (name.trim() === '') throw new ApiFailure(400, 'invalid request body: cluster_name must not be blank');
      // Registering a name again updates that cluster: the same id comes back.
      return text(ctx.core.store.registerCluster(name, ctx.core.now()).id);
    },
  },
  {
    method: 'GET',
    template: '/v2/cluster',
    style: 'v2',
    handle(ctx) {
      return json(
        [...ctx.core.store.clusters.values()].map((c) => ({
          id: c.id,
          name: c.name,
          status: c.lastSyncAt === null ? 'registered' : 'active',
          ...(c.lastSyncAt === null ? {} : { last_sync: new Date(c.lastSyncAt).toISOString() }),
          metadata: {},
        })),
      );
    },
  },
  {
    method: 'DELETE',
    template: '/v2/cluster/{id}',
    style: 'v2',
    handle(ctx) {
      const id = ctx.params.id ?? '';
      if (!ctx.core.store.clusters.delete(id.toLowerCase())) throw new ApiFailure(404, `cluster ${id} not found`);
      return text(id);
    },
  },
];
