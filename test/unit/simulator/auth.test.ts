// Every endpoint needs `Authorization: Bearer <token>`; the token never reaches a log line or an exchange.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Exchange } from '../../../src/simulator/index.ts';
import { apiFor, harness, TOKEN } from './helpers.ts';

const V2_PATHS: [string, string][] = [
  ['GET', '/v2/checkpoints'],
  ['POST', '/v2/checkpoints'],
  ['PATCH', '/v2/checkpoints/deprecate/00000000-0000-0000-0000-000000000000'],
  ['PUT', '/v2/checkpoints/info/00000000-0000-0000-0000-000000000000'],
  ['POST', '/v2/checkpoints/uploaded/00000000-0000-0000-0000-000000000000'],
  ['GET', '/v2/actions'],
  ['GET', '/v2/actions/from_pod/x'],
  ['POST', '/v2/actions/upload'],
  ['GET', '/v2/checkpoint/path?name=x'],
  ['POST', '/v2/checkpoint/pod'],
  ['GET', '/v2/checkpoint/status/00000000-0000-0000-0000-000000000000'],
  ['POST', '/v2/restore/pod'],
  ['POST', '/v2/slurm/checkpoint/job'],
  ['POST', '/v2/slurm/restore/job'],
  ['GET', '/_sim/stats'],
];

describe('bearer auth', () => {
  it('answers 401 ApiError on every v2 and admin endpoint without the right token', async () => {
    const h = await harness();
    for (const [method, path] of V2_PATHS) {
      for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: `Basic ${TOKEN}` }, { authorization: 'Bearer' }]) {
        const res = await fetch(`${h.sim.url}${path}`, { method, headers });
        expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(await res.json()).toEqual({ code: '401', message: 'missing or invalid bearer token' });
      }
    }
    expect(h.sim.stats().actions).toBe(0);
  });

  it('answers v1 with its {error} envelope', async () => {
    const h = await harness();
    const res = await apiFor(h.sim.url, 'wrong').get('/v1/checkpoints/x');
    expect(res).toMatchObject({ status: 401, json: { error: { code: 'unauthenticated', message: 'missing or invalid bearer token' } } });
  });

  it('accepts the scheme in any case', async () => {
    const h = await harness();
    expect((await h.api.call('GET', '/v2/actions', undefined, { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('checks auth before routing: an unknown path without a token is 401', async () => {
    const h = await harness();
    expect((await fetch(`${h.sim.url}/v3/anything`)).status).toBe(401);
  });

  it('never logs the token, and redacts it from exchanges', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const exchanges: Exchange[] = [];
    const h = await harness({ logger: pino({ level: 'trace' }, sink), onExchange: (e) => exchanges.push(e) });
    await h.api.post('/v2/checkpoint/pod', { pod_name: 'p' });
    await apiFor(h.sim.url, `${TOKEN}-wrong`).get('/v2/actions');
    await h.api.get('/v2/nowhere');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(lines.join('')).not.toContain(TOKEN);
    expect(JSON.stringify(exchanges)).not.toContain(TOKEN);
    expect(exchanges[0]?.requestHeaders.authorization).toBe('Bearer [REDACTED]');
    const request = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request');
    expect(request).toMatchObject({ method: 'POST', path: '/v2/checkpoint/pod', status: 200, ms: expect.any(Number) as unknown });
  });
});
