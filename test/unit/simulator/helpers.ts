// Shared by the simulator's unit tests: a simulator on loopback with a hand-driven clock, and a
// small fetch-based client (deliberately not the project's Cedana client).
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../../src/simulator/index.ts';

export const TOKEN = 'unit-test-token';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
}

export interface Api {
  call(method: string, path: string, body?: unknown, init?: { headers?: Record<string, string>; timeoutMs?: number; raw?: boolean }): Promise<Answer>;
  get(path: string): Promise<Answer>;
  post(path: string, body?: unknown): Promise<Answer>;
  put(path: string, body?: unknown): Promise<Answer>;
  patch(path: string, body?: unknown): Promise<Answer>;
}

export function apiFor(url: string, token = TOKEN): Api {
  const call: Api['call'] = async (method, path, body, init = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers };
    const res = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: init.raw === true && typeof body === 'string' ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(init.timeoutMs ?? 5000),
    });
    const text = await res.text();
    let json: unknown;
    if ((res.headers.get('content-type') ?? '').startsWith('application/json')) json = JSON.parse(text) as unknown;
    return { status: res.status, headers: res.headers, text, json };
  };
  return {
    call,
    get: (p) => call('GET', p),
    post: (p, b) => call('POST', p, b),
    put: (p, b) => call('PUT', p, b),
    patch: (p, b) => call('PATCH', p, b),
  };
}

export interface Harness {
  sim: RunningSimulator;
  api: Api;
  clock: { t: number; advance(ms: number): void };
}

const running: RunningSimulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

/** A simulator closed after the test; time stands still until the test advances `clock`. */
export async function harness(opts: Partial<SimulatorOptions> = {}): Promise<Harness> {
  const clock = {
    t: Date.UTC(2026, 0, 1),
    advance(ms: number) {
      clock.t += ms;
    },
  };
  const sim = await startSimulator({ token: TOKEN, stepMs: 1000, now: () => clock.t, logger: pino({ level: 'silent' }), ...opts });
  running.push(sim);
  return { sim, api: apiFor(sim.url), clock };
}

export const podBody = (over: Record<string, unknown> = {}) => ({ pod_name: 'trainer-0', pod_id: 'pod-uid-1', namespace: 'ml', cluster_id: 'c1', kind: 'simple', reason: 'manual', ...over });

/** Checkpoints a pod and lets its action become ready; returns the action id. */
export async function readyCheckpoint(h: Harness, over: Record<string, unknown> = {}): Promise<string> {
  const res = await h.api.post('/v2/checkpoint/pod', podBody(over));
  if (res.status !== 200) throw new Error(`checkpoint failed: ${res.status} ${res.text}`);
  h.clock.advance(3000);
  return res.text;
}
