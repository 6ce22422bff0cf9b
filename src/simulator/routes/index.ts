// The route table and its matcher. Templates are the OpenAPI document's, so route keys
// ("METHOD /template") name operations the same way everywhere: stats, fault filters, logs.
import { adminRoutes } from '../admin.ts';
import type { Route } from '../context.ts';
import { ApiFailure } from '../http.ts';
import { actionRoutes } from './actions.ts';
import { checkpointRoutes } from './checkpoints.ts';
import { slurmRoutes } from './slurm.ts';
import { v1Routes } from './v1.ts';

export const ROUTES: readonly Route[] = [...checkpointRoutes, ...actionRoutes, ...slurmRoutes, ...v1Routes, ...adminRoutes];

export type Match = { kind: 'route'; route: Route; key: string; params: Record<string, string> } | { kind: 'wrongMethod'; allowed: string[] } | { kind: 'none' };

interface Compiled {
  route: Route;
  segments: string[];
}
const compiled: Compiled[] = ROUTES.map((route) => ({ route, segments: route.template.split('/') }));

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

/** Finds the route for a request path (percent-encoded, without query). Literal routes win over templated ones. */
export function matchRoute(method: string, rawPath: string): Match {
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
}
