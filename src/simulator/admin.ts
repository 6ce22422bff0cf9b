// /_sim/*: the simulator's own control surface (same bearer token), never faulted.
import { z } from 'zod';
import type { Route, SimulatorCore } from './context.ts';
import { FaultsPatch } from './faults.ts';
import { ApiFailure, bodyAs, json, noContent } from './http.ts';

export interface SimulatorStats {
  /** Requests received per "METHOD /path-template", faulted ones included. */
  calls: Record<string, number>;
  /** Injected request faults by kind: error500, error503, rateLimit, hang, drop, dropAfterCommit. */
  faults: Record<string, number>;
  /** pods_to_actions: pod id → its checkpoint action ids, oldest first. */
  checkpointActionsByPod: Record<string, string[]>;
  actions: number;
  checkpoints: number;
  actionsByStatus: Record<string, number>;
}

export function statsOf(core: SimulatorCore): SimulatorStats {
  const { store } = core;
  const actionsByStatus: Record<string, number> = {};
  for (const a of store.actions.values()) {
    const s = core.lifecycle.action(a).status;
    actionsByStatus[s] = (actionsByStatus[s] ?? 0) + 1;
  }
  return {
    calls: { ...store.stats.calls },
    faults: { ...store.stats.faults },
    checkpointActionsByPod: Object.fromEntries([...store.podsToActions].map(([pod, ids]) => [pod, [...ids]])),
    actions: store.actions.size,
    checkpoints: store.checkpoints.size,
    actionsByStatus,
  };
}

export const adminRoutes: Route[] = [
  { method: 'GET', template: '/_sim/faults', style: 'v2', admin: true, handle: (ctx) => json(ctx.core.faults.current()) },
  {
    method: 'PUT',
    template: '/_sim/faults',
    style: 'v2',
    admin: true,
    handle(ctx) {
      const patch = bodyAs(ctx.body, FaultsPatch);
      try {
        return json(ctx.core.faults.update(patch));
      } catch (err) {
        if (err instanceof z.ZodError) throw new ApiFailure(400, `invalid faults: ${err.issues.map((i) => i.message).join('; ')}`);
        throw err;
      }
    },
  },
  { method: 'DELETE', template: '/_sim/faults', style: 'v2', admin: true, handle: (ctx) => json(ctx.core.faults.clear()) },
  { method: 'GET', template: '/_sim/stats', style: 'v2', admin: true, handle: (ctx) => json(statsOf(ctx.core)) },
  {
    method: 'POST',
    template: '/_sim/reset',
    style: 'v2',
    admin: true,
    handle(ctx) {
      ctx.core.store.clear();
      return noContent();
    },
  },
];
