import { describe, expect, it } from 'vitest';
import type { Condition } from '../../../src/api/meta.ts';
import { findCondition, setCondition } from '../../../src/kube/conditions.ts';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T00:05:00.456Z');

describe('setCondition', () => {
  const ready = { type: 'Ready', status: 'False', reason: 'Pending', message: 'waiting' } as const;

  it('appends a new condition with second-precision lastTransitionTime and observedGeneration', () => {
    const other: Condition = { type: 'Submitted', status: 'True', reason: 'Sent', message: '', lastTransitionTime: '2025-12-31T00:00:00Z' };
    const list = setCondition([other], ready, 3, t0);
    expect(list).toEqual([other, { ...ready, lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 3 }]);
  });

  it('keeps lastTransitionTime when the status does not change, but updates reason, message and generation', () => {
    const first = setCondition(undefined, ready, 1, t0);
    const second = setCondition(first, { ...ready, reason: 'StillPending', message: 'still waiting' }, 2, t1);
    expect(second).toEqual([{ type: 'Ready', status: 'False', reason: 'StillPending', message: 'still waiting', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 2 }]);
  });

  it('moves lastTransitionTime when the status changes, and keeps the other conditions in place', () => {
    const other: Condition = { type: 'Submitted', status: 'True', reason: 'Sent', message: '', lastTransitionTime: '2025-12-31T00:00:00Z' };
    const first = setCondition([other], ready, 1, t0);
    const second = setCondition(first, { ...ready, status: 'True', reason: 'Done' }, 1, t1);
    expect(second.map((c) => c.type)).toEqual(['Submitted', 'Ready']);
    expect(second[0]).toEqual(other);
    expect(findCondition(second, 'Ready')?.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
    expect(findCondition(second, 'Ready')?.status).toBe('True');
  });

  it('does not mutate its input and omits observedGeneration when generation is undefined', () => {
    const input: Condition[] = [];
    const list = setCondition(input, ready, undefined, t0);
    expect(input).toEqual([]);
    expect(list[0]).not.toHaveProperty('observedGeneration');
  });
});
