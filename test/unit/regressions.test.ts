// Bugs found by review, kept as tests so they stay fixed.
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { pollDelay } from '../../src/controllers/reconcile-kit.ts';
import { WorkQueue } from '../../src/kube/workqueue.ts';

const base = { CEDANA_URL: 'https://acme.cedana.ai', CEDANA_AUTH_TOKEN: 'tok', CEDANA_CLUSTER_ID: 'cluster-1' };

describe('regressions', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a malformed --workers is reported as malformed, not as missing', () => {
    for (const w of ['abc', '2.5']) {
      expect(() => loadConfig(['--workers', w], base)).toThrow(/^workers: (?!is required)/);
    }
  });

  it("an error's retryAfterMs above backoff.maxMs is still honoured", async () => {
    vi.useFakeTimers();
    let calls = 0;
    const q = new WorkQueue({
      name: 't',
      workers: 1,
      backoff: { baseMs: 5, maxMs: 50 },
      logger: pino({ level: 'silent' }),
      handler: () => {
        calls++;
        return calls > 1 ? Promise.resolve(undefined) : Promise.reject(Object.assign(new Error('429'), { retryAfterMs: 200 }));
      },
    });
    q.start();
    q.add('a');
    await vi.advanceTimersByTimeAsync(199);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(2);
    expect(calls).toBe(2);
    await q.shutdown();
  });

  it('an unparsable start time polls at the minimum, not at NaN (a hot loop)', () => {
    expect(pollDelay('not-a-date', 1000, 10_000, Date.parse('2026-01-01T00:00:00Z'))).toBe(1000);
  });

  it('a token from the environment is trimmed like one from a file', () => {
    expect(loadConfig([], { ...base, CEDANA_AUTH_TOKEN: ' tok\n' }).cedanaToken).toBe('tok');
    expect(() => loadConfig([], { ...base, CEDANA_AUTH_TOKEN: '   ' })).toThrow(/^cedanaToken: is required/);
  });
});
