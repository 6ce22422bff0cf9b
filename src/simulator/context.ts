// What a route handler gets: the simulator's parts and the parsed request.
import type { Logger } from 'pino';
import type { FaultInjector } from './faults.ts';
import type { ErrorStyle, ParsedBody, Reply } from './http.ts';
import type { Lifecycle, SimulatorHooks } from './lifecycle.ts';
import type { Profile } from './profile.ts';
import type { Store } from './state.ts';

export interface SimulatorCore {
  store: Store;
  lifecycle: Lifecycle;
  faults: FaultInjector;
  hooks: SimulatorHooks;
  now: () => number;
  stepMs: number;
  logger: Logger;
  profile: Profile;
  /** Service profile: a pod younger than this (by the podCreatedAt hook) gets the sync-lag 404. */
  syncLagMs: number;
  /** The user id GET /v2/user answers. */
  userId: string;
}

export interface RequestContext {
  core: SimulatorCore;
  /** "METHOD /path-template", e.g. "GET /v2/checkpoint/status/{action_id}": the key of stats and fault filters. */
  key: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: ParsedBody;
}

export interface Route {
  method: string;
  /** The path as the OpenAPI document writes it, with {name} parameters. */
  template: string;
  style: ErrorStyle;
  /** Admin routes are never faulted. */
  admin?: boolean;
  handle(ctx: RequestContext): Reply | Promise<Reply>;
}
