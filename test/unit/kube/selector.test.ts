import { describe, expect, it } from 'vitest';
import { LabelSelector } from '../../../src/api/checkpointpolicy.ts';
import { matchesSelector } from '../../../src/kube/selector.ts';

const sel = (s: unknown): LabelSelector => LabelSelector.parse(s);

describe('matchesSelector', () => {
  it('an empty selector matches everything, including a pod without labels', () => {
    expect(matchesSelector(sel({}), undefined)).toBe(true);
    expect(matchesSelector(sel({}), {})).toBe(true);
    expect(matchesSelector(sel({ matchLabels: {}, matchExpressions: [] }), { a: 'b' })).toBe(true);
  });

  it('matchLabels: every pair must hold', () => {
    const s = sel({ matchLabels: { app: 'db', tier: 'back' } });
    expect(matchesSelector(s, { app: 'db', tier: 'back', extra: 'x' })).toBe(true);
    expect(matchesSelector(s, { app: 'db' })).toBe(false);
    expect(matchesSelector(s, { app: 'db', tier: 'front' })).toBe(false);
    expect(matchesSelector(s, undefined)).toBe(false);
    expect(matchesSelector(sel({ matchLabels: { app: '' } }), {})).toBe(false);
    expect(matchesSelector(sel({ matchLabels: { app: '' } }), { app: '' })).toBe(true);
  });

  it('In: the key must be present with one of the values', () => {
    const s = sel({ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'stage'] }] });
    expect(matchesSelector(s, { env: 'prod' })).toBe(true);
    expect(matchesSelector(s, { env: 'stage' })).toBe(true);
    expect(matchesSelector(s, { env: 'dev' })).toBe(false);
    expect(matchesSelector(s, {})).toBe(false);
    expect(matchesSelector(s, undefined)).toBe(false);
  });

  it('NotIn: absent keys match, present keys must not have one of the values', () => {
    const s = sel({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] });
    expect(matchesSelector(s, { env: 'dev' })).toBe(true);
    expect(matchesSelector(s, {})).toBe(true);
    expect(matchesSelector(s, undefined)).toBe(true);
    expect(matchesSelector(s, { env: 'prod' })).toBe(false);
  });

  it('Exists and DoesNotExist look at the key only (an empty value exists)', () => {
    const exists = sel({ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] });
    expect(matchesSelector(exists, { gpu: '' })).toBe(true);
    expect(matchesSelector(exists, { gpu: 'a100' })).toBe(true);
    expect(matchesSelector(exists, { other: 'x' })).toBe(false);
    expect(matchesSelector(exists, undefined)).toBe(false);
    const absent = sel({ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] });
    expect(matchesSelector(absent, { other: 'x' })).toBe(true);
    expect(matchesSelector(absent, undefined)).toBe(true);
    expect(matchesSelector(absent, { gpu: '' })).toBe(false);
  });

  it('an inherited property name is not a label', () => {
    expect(matchesSelector(sel({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }), {})).toBe(false);
    expect(matchesSelector(sel({ matchExpressions: [{ key: 'constructor', operator: 'DoesNotExist' }] }), {})).toBe(true);
  });

  it('matchLabels and every expression must all hold together', () => {
    const s = sel({
      matchLabels: { app: 'db' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod'] },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    });
    expect(matchesSelector(s, { app: 'db', env: 'prod' })).toBe(true);
    expect(matchesSelector(s, { app: 'db', env: 'prod', canary: 'true' })).toBe(false);
    expect(matchesSelector(s, { app: 'web', env: 'prod' })).toBe(false);
    expect(matchesSelector(s, { app: 'db', env: 'dev' })).toBe(false);
  });
});
