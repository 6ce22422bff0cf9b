import { describe, expect, it } from 'vitest';
import { CedanaApiError, type CedanaApiErrorInit } from '../../../src/cedana/errors.ts';
import { pollDelay, triage } from '../../../src/controllers/reconcile-kit.ts';

const apiError = (init: Partial<CedanaApiErrorInit>): CedanaApiError =>
  new CedanaApiError({ kind: 'http', operation: 'checkpointPod', method: 'POST', path: '/v2/checkpoint/pod', description: 'failed', ...init });

describe('pollDelay', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  it('is the minimum with no start time, or shortly after the start', () => {
    expect(pollDelay(undefined, 1000, 10_000, now)).toBe(1000);
    expect(pollDelay('2026-01-01T00:09:59Z', 1000, 10_000, now)).toBe(1000);
  });
  it('is a quarter of the time waited so far, between min and max', () => {
    expect(pollDelay('2026-01-01T00:09:52Z', 1000, 10_000, now)).toBe(2000);
    expect(pollDelay('2026-01-01T00:09:30Z', 1000, 10_000, now)).toBe(7500);
  });
  it('is capped at the maximum', () => {
    expect(pollDelay('2026-01-01T00:00:00Z', 1000, 10_000, now)).toBe(10_000);
  });
  it('treats a start time in the future (clock skew) as just started', () => {
    expect(pollDelay('2026-01-01T01:00:00Z', 1000, 10_000, now)).toBe(1000);
  });
});

describe('triage', () => {
  it('calls retryable Cedana errors transient', () => {
    for (const err of [apiError({ status: 503 }), apiError({ status: 429 }), apiError({ kind: 'network', code: 'ECONNRESET' }), apiError({ kind: 'timeout' })]) {
      expect(triage(err)).toEqual({ kind: 'transient', message: err.message });
    }
  });
  it("calls a 400 permanent, with the API's own message", () => {
    expect(triage(apiError({ status: 400, apiMessage: 'pod not found on any node', description: 'HTTP 400' }))).toEqual({
      kind: 'permanent',
      message: 'pod not found on any node',
    });
  });
  it('falls back to the error message for a permanent error without apiMessage', () => {
    expect(triage(apiError({ status: 404, description: 'HTTP 404' }))).toEqual({ kind: 'permanent', message: 'Cedana POST /v2/checkpoint/pod: HTTP 404' });
  });
  it('calls anything else transient', () => {
    expect(triage(new Error('socket hang up'))).toEqual({ kind: 'transient', message: 'socket hang up' });
    expect(triage('weird')).toEqual({ kind: 'transient', message: 'weird' });
  });
});
