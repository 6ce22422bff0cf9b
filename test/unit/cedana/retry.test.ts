import { describe, expect, it } from 'vitest';
import { backoffDelay, isIdempotent, parseRetryAfter, retryDelay, sleep } from '../../../src/cedana/retry.ts';
import { CedanaApiError } from '../../../src/cedana/errors.ts';

const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };

describe('backoff', () => {
  it('is full jitter under a doubling ceiling, capped at maxDelayMs', () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 5, 6].map((r) => backoffDelay(r, policy, top))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(200);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 7 ', now)).toBe(7000);
    expect(parseRetryAfter(['2', '9'], now)).toBe(2000);
  });
  it('reads an HTTP date, and a past date as 0', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
  it('wins over backoff, capped at maxDelayMs', () => {
    const err = (retryAfterMs?: number) => new CedanaApiError({ kind: 'http', status: 429, operation: 'x', method: 'GET', path: '/p', description: 'd', retryAfterMs });
    expect(retryDelay(err(700), 1, policy, () => 0)).toBe(700);
    expect(retryDelay(err(60_000), 1, policy, () => 0)).toBe(1000);
    expect(retryDelay(err(), 2, policy, () => 0.5)).toBe(100);
  });
});

describe('idempotency', () => {
  it('retries GET, PUT and PATCH, never POST', () => {
    expect(['GET', 'PUT', 'PATCH', 'patch'].map(isIdempotent)).toEqual([true, true, true, true]);
    expect(isIdempotent('POST')).toBe(false);
  });
});

describe('sleep', () => {
  it('waits, and rejects with the reason when aborted', async () => {
    const started = Date.now();
    await sleep(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    await expect(sleep(10, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });
});
