// The zod side of admission validation: the operator parses CRs with these schemas, so they must
// refuse exactly what the CRDs' CEL rules refuse (test/integration/admission-validation.test.ts
// checks the apiserver side with the same cases).
import { describe, expect, it } from 'vitest';
import { CheckpointPolicySpec, LabelSelector, SELECTOR_LIMITS } from '../../../src/api/checkpointpolicy.ts';
import { isDns1123Subdomain, isLabelKey, isLabelValue } from '../../../src/api/names.ts';
import { PodCheckpointSpec } from '../../../src/api/podcheckpoint.ts';
import { PodRestoreSpec } from '../../../src/api/podrestore.ts';
import { BAD_NAMES, BAD_SELECTORS, GOOD_NAMES, GOOD_SELECTORS } from './name-cases.ts';

const messages = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }): string[] => r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

describe('object names (DNS-1123 subdomains)', () => {
  it.each(BAD_NAMES)('refuses %j (%s)', (name) => {
    expect(isDns1123Subdomain(name)).toBe(false);
    const pc = PodCheckpointSpec.safeParse({ podName: name });
    expect(pc.success).toBe(false);
    expect(messages(pc).join('\n')).toMatch(/podName: (podName must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.'|Too big)/);
  });

  it.each(GOOD_NAMES)('accepts %j', (name) => {
    expect(isDns1123Subdomain(name)).toBe(true);
    expect(PodCheckpointSpec.parse({ podName: name }).podName).toBe(name);
    expect(PodRestoreSpec.parse({ checkpointRef: { name }, podName: name }).podName).toBe(name);
  });

  it("refuses a restore's checkpointRef.name and podName alike", () => {
    const ref = PodRestoreSpec.safeParse({ checkpointRef: { name: '..' } });
    expect(messages(ref)).toEqual([expect.stringMatching(/^checkpointRef\.name: checkpointRef\.name must be a DNS-1123 subdomain/)]);
    const pod = PodRestoreSpec.safeParse({ checkpointRef: { name: 'ok' }, podName: 'A/B' });
    expect(messages(pod)).toEqual([expect.stringMatching(/^podName: podName must be a DNS-1123 subdomain/)]);
  });

  it('refuses an empty name', () => {
    expect(PodCheckpointSpec.safeParse({ podName: '' }).success).toBe(false);
  });
});

describe('label keys and values', () => {
  it.each([
    ['app', true],
    ['app.kubernetes.io/name', true],
    ['cedana.ai/node-restore', true],
    ['A_b.c-D', true],
    ['a'.repeat(63), true],
    [`${'p'.repeat(253)}/${'n'.repeat(63)}`, true],
    ['', false],
    ['a'.repeat(64), false],
    ['-app', false],
    ['app_', false],
    ['/app', false],
    ['a/b/c', false],
    ['Example.com/app', false],
    ['example.com/', false],
    [`${'p'.repeat(254)}/n`, false],
    ['app name', false],
  ])('label key %j: %s', (key, ok) => {
    expect(isLabelKey(key)).toBe(ok);
  });

  it.each([
    ['', true],
    ['v1', true],
    ['a-b_c.D', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['-v', false],
    ['v.', false],
    ['a/b', false],
    ['a b', false],
  ])('label value %j: %s', (value, ok) => {
    expect(isLabelValue(value)).toBe(ok);
  });
});

describe('CheckpointPolicy selectors', () => {
  it('accepts valid matchLabels and matchExpressions, empty values included', () => {
    const sel = { matchLabels: { 'app.kubernetes.io/name': 'trainer', tier: '' }, matchExpressions: [{ key: 'team', operator: 'In' as const, values: ['ml', 'ml-2'] }] };
    expect(LabelSelector.parse(sel)).toEqual(sel);
    expect(CheckpointPolicySpec.parse({ selector: {} }).selector).toEqual({});
  });

  it.each(BAD_SELECTORS)('refuses %j (%s)', (selector) => {
    expect(LabelSelector.safeParse(selector).success).toBe(false);
  });

  it.each(GOOD_SELECTORS)('accepts %j', (selector) => {
    expect(LabelSelector.parse(selector)).toEqual(selector);
  });

  it('refuses a bad matchLabels key or value, naming the rule', () => {
    const key = LabelSelector.safeParse({ matchLabels: { 'bad key': 'x' } });
    expect(key.success).toBe(false);
    expect(JSON.stringify(key.error?.issues)).toContain('a matchLabels key must be a label key');
    const value = LabelSelector.safeParse({ matchLabels: { app: 'trainer!' } });
    expect(messages(value)).toEqual([expect.stringMatching(/^matchLabels\.app: a matchLabels value must be a label value: empty, or at most 63 characters/)]);
  });

  it('refuses a bad expression key, operator or value', () => {
    expect(messages(LabelSelector.safeParse({ matchExpressions: [{ key: 'a/b/c', operator: 'Exists' }] }))).toEqual([expect.stringMatching(/^matchExpressions\.0\.key: key must be a label key/)]);
    expect(LabelSelector.safeParse({ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] }).success).toBe(false);
    expect(messages(LabelSelector.safeParse({ matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', 'not ok'] }] }))).toEqual([
      expect.stringMatching(/^matchExpressions\.0\.values\.1: each of values must be a label value/),
    ]);
  });

  it('bounds the sizes that the CEL cost budget depends on', () => {
    const labels = Object.fromEntries(Array.from({ length: SELECTOR_LIMITS.matchLabels + 1 }, (_, i) => [`k${String(i)}`, 'v']));
    expect(LabelSelector.safeParse({ matchLabels: labels }).success).toBe(false);
    const values = Array.from({ length: SELECTOR_LIMITS.values + 1 }, (_, i) => `v${String(i)}`);
    expect(LabelSelector.safeParse({ matchExpressions: [{ key: 'a', operator: 'In', values }] }).success).toBe(false);
    const expressions = Array.from({ length: SELECTOR_LIMITS.matchExpressions + 1 }, () => ({ key: 'a', operator: 'Exists' }));
    expect(LabelSelector.safeParse({ matchExpressions: expressions }).success).toBe(false);
  });
});
