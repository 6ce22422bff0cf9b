// Fault injection: seeded and reproducible, limited by `paths`, and each kind does what it says.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/cedana/schemas.ts';
import { createFaultInjector, NO_FAULTS } from '../../../src/simulator/faults.ts';
import { harness, podBody } from './helpers.ts';

const KEY = 'POST /v2/checkpoint/pod';

describe('fault injector', () => {
  it('replays the same faults for the same seed', () => {
    const run = (seed: number) => {
      const f = createFaultInjector({ seed, errorRate: 0.3, rateLimitRate: 0.2, hangRate: 0.1, actionErrorRate: 0.5 });
      return Array.from({ length: 50 }, () => [f.requestFault(KEY).kind, f.actionFailure(KEY)]);
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('restarts the sequence when a seed is set again', () => {
    const f = createFaultInjector({ seed: 3, errorRate: 0.5 });
    const first = Array.from({ length: 20 }, () => f.requestFault(KEY).kind);
    f.update({ seed: 3 });
    expect(Array.from({ length: 20 }, () => f.requestFault(KEY).kind)).toEqual(first);
  });

  it('hits each rate about as often as asked', () => {
    const f = createFaultInjector({ seed: 1, errorRate: 0.2, rateLimitRate: 0.1, dropRate: 0.05 });
    const counts: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const k = f.requestFault(KEY).kind;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(counts.error).toBeGreaterThan(1800);
    expect(counts.error).toBeLessThan(2200);
    expect(counts.rateLimit).toBeGreaterThan(850);
    expect(counts.rateLimit).toBeLessThan(1150);
    expect(counts.drop).toBeGreaterThan(400);
    expect(counts.drop).toBeLessThan(600);
  });

  it('faults only the operations listed in paths ("*" for any method)', () => {
    const f = createFaultInjector({ seed: 1, errorRate: 1, paths: ['POST /v2/checkpoint/pod', '* /v2/checkpoint/status/{action_id}'] });
    expect(f.requestFault(KEY).kind).toBe('error');
    expect(f.requestFault('GET /v2/checkpoint/status/{action_id}').kind).toBe('error');
    expect(f.requestFault('GET /v2/actions').kind).toBe('none');
    expect(f.latencyFor('GET /v2/actions')).toBe(0);
  });

  it('fails exactly the next N actions, then consults actionErrorRate', () => {
    const f = createFaultInjector({ seed: 1, failNextActions: 2 });
    expect([f.actionFailure(KEY), f.actionFailure(KEY), f.actionFailure(KEY)]).toEqual(['failNextActions', 'failNextActions', null]);
    expect(f.current().failNextActions).toBe(0);
  });

  it('rejects unknown keys, out-of-range values and rates that add up past 1', () => {
    expect(() => createFaultInjector({ errorRate: 1.5 })).toThrow();
    expect(() => createFaultInjector({ errorRate: 0.6, hangRate: 0.6 })).toThrow(/must not exceed 1/);
    const f = createFaultInjector({});
    expect(() => f.update({ paths: ['not a key'] })).toThrow(/METHOD \/path-template/);
    expect(f.current()).toEqual({ ...NO_FAULTS, seed: f.current().seed });
    expect(typeof f.current().seed).toBe('number');
  });

  it('adds latency plus jitter below jitterMs', () => {
    const f = createFaultInjector({ seed: 1, latencyMs: 100, jitterMs: 50 });
    for (let i = 0; i < 100; i++) {
      const ms = f.latencyFor(KEY);
      expect(ms).toBeGreaterThanOrEqual(100);
      expect(ms).toBeLessThan(150);
    }
  });
});

describe('faults over HTTP', () => {
  it('answers 500 or 503 with an ApiError, and does nothing', async () => {
    const h = await harness({ faults: { seed: 5, errorRate: 1 } });
    const statuses = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const res = await h.api.post('/v2/checkpoint/pod', podBody());
      statuses.add(res.status);
      expect(ApiError.parse(res.json).code).toBe(String(res.status));
    }
    expect([...statuses].sort()).toEqual([500, 503]);
    expect(h.sim.stats().actions).toBe(0);
    expect(h.sim.stats().faults).toMatchObject({ error500: expect.any(Number) as unknown, error503: expect.any(Number) as unknown });
  });

  it('answers 429 with Retry-After', async () => {
    const h = await harness({ faults: { rateLimitRate: 1, retryAfterSeconds: 7 } });
    const res = await h.api.get('/v2/actions');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.json).toMatchObject({ code: '429' });
  });

  it('answers v1 faults in the v1 envelope', async () => {
    const h = await harness({ faults: { rateLimitRate: 1 } });
    const res = await h.api.get('/v1/checkpoints/anything');
    expect(res.status).toBe(429);
    expect(res.json).toEqual({ error: { code: 'rate_limited', message: 'rate limit exceeded (simulated)' } });
  });

  it('delays answers by latencyMs', async () => {
    const h = await harness({ faults: { latencyMs: 150 } });
    const started = performance.now();
    expect((await h.api.get('/v2/actions')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('leaves a hanging request unanswered until the client gives up, and close() still ends it', async () => {
    const h = await harness({ faults: { hangRate: 1 } });
    await expect(h.api.call('GET', '/v2/actions', undefined, { timeoutMs: 200 })).rejects.toThrow(/abort|timeout/i);
    const pending = h.api.call('GET', '/v2/actions', undefined, { timeoutMs: 10_000 });
    const failed = expect(pending).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await h.sim.close();
    expect(performance.now() - started).toBeLessThan(1000);
    await failed;
  });

  it('does not let a long latency hold close()', async () => {
    const h = await harness({ faults: { latencyMs: 60_000 } });
    const pending = expect(h.api.call('GET', '/v2/actions', undefined, { timeoutMs: 120_000 })).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await h.sim.close();
    expect(performance.now() - started).toBeLessThan(1000);
    await pending;
  });

  it('drops the connection before doing anything', async () => {
    const h = await harness({ faults: { dropRate: 1 } });
    await expect(h.api.post('/v2/checkpoint/pod', podBody())).rejects.toThrow(/fetch failed/);
    expect(h.sim.stats().actions).toBe(0);
    expect(h.sim.stats().faults).toEqual({ drop: 1 });
  });

  it('applies faults set at run time, only on the listed paths', async () => {
    const h = await harness();
    h.sim.setFaults({ errorRate: 1, paths: ['GET /v2/actions'] });
    expect((await h.api.get('/v2/actions')).status).toBeGreaterThanOrEqual(500);
    expect((await h.api.get('/v2/checkpoints')).status).toBe(200);
    expect(h.sim.faults()).toMatchObject({ errorRate: 1, paths: ['GET /v2/actions'] });
  });

  it('ends a share of new actions in error (actionErrorRate)', async () => {
    const h = await harness({ faults: { seed: 11, actionErrorRate: 0.5 } });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await h.api.post('/v2/checkpoint/pod', podBody({ pod_id: `p${i}` }))).text);
    h.clock.advance(3000);
    const byStatus = h.sim.stats().actionsByStatus;
    expect(byStatus.error).toBeGreaterThan(10);
    expect(byStatus.ready).toBeGreaterThan(10);
    expect((byStatus.error ?? 0) + (byStatus.ready ?? 0)).toBe(40);
  });
});
