// The route table and its matcher. Templates are the OpenAPI document's, so route keys
// ("METHOD /template") name operations the same way everywhere: stats, fault filters, logs.
import { adminRoutes } from '../admin.ts';
import type { Route } from '../context.ts';
import { ApiFailure } from '../http.ts';
import { V1_ALIASED, type Profile } from '../profile.ts';
import { actionRoutes } from './actions.ts';
import { checkpointRoutes } from './checkpoints.ts';
import { clusterRoutes } from './clusters.ts';
import { slurmRoutes } from './slurm.ts';
import { v1Routes } from './v1.ts';

/** The reference's operations (and the admin ones); every profile serves them. */
export const ROUTES: readonly Route[] = [...checkpointRoutes, ...actionRoutes, ...slurmRoutes, ...clusterRoutes, ...v1Routes, ...adminRoutes];

/** The routes of a profile: the service's /v1 generation serves the pod, action and checkpoint operations under /v1 too. */
export function routesFor(profile: Profile): readonly Route[] {
  if (profile === 'reference') return ROUTES;
  const taken = new Set(ROUTES.map((r) => `${r.method} ${r.template}`));
  const aliases = ROUTES.filter((r) => r.admin !== true && V1_ALIASED.test(r.template))
    .map((r) => ({ ...r, template: r.template.replace(/^\/v2\//, '/v1/') }))
    .filter((r) => !taken.has(`${r.method} ${r.template}`));
  return [...ROUTES, ...aliases];
}

export type Match = { kind: 'route'; route: Route; key: string; params: Record<string, string> } | { kind: 'wrongMethod'; allowed: string[] } | { kind: 'none' };

interface Compiled {
  route: Route;
  segments: string[];
}

function matchSegments(template: string[], path: string[]): Record<string, string> | null {
  if (template.length !== path.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i] ?? '';
    const p = path[i] ?? '';
    if (t.startsWith('{') && t.endsWith('}')) {
      if (p === '') return null;
      params[t.slice(1, -1)] = p;
    } else if (t !== p) return null;
  }
  return params;
}

export type Router = (method: string, rawPath: string) => Match;

/** A matcher for request paths (percent-encoded, without query). Literal routes win over templated ones. */
export function createRouter(routes: readonly Route[]): Router {
  const compiled: Compiled[] = routes.map((route) => ({ route, segments: route.template.split('/') }));
  return (method, rawPath) => {
    const path = rawPath.split('/');
    const allowed: string[] = [];
    let best: { c: Compiled; params: Record<string, string>; literal: number } | undefined;
    for (const c of compiled) {
      const params = matchSegments(c.segments, path);
      if (!params) continue;
      if (c.route.method !== method) {
        allowed.push(c.route.method);
        continue;
      }
      const literal = c.segments.filter((s) => !s.startsWith('{')).length;
      if (!best || literal > best.literal) best = { c, params, literal };
    }
    if (!best) return allowed.length > 0 ? { kind: 'wrongMethod', allowed } : { kind: 'none' };
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(best.params)) {
      try {
        params[k] = decodeURIComponent(v);
      } catch {
        throw new ApiFailure(400, `path parameter ${k} is not valid percent-encoding`);
      }
    }
    return { kind: 'route', route: best.c.route, key: `${method} ${best.c.route.template}`, params };
  };
}

/** The reference profile's matcher. */
export const matchRoute: Router = createRouter(ROUTES);
