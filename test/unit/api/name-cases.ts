// Names and selectors that admission must refuse or accept: shared by the zod unit tests and the
// apiserver test (test/integration/admission-validation.test.ts), so both sides see the same cases.

/** [name, why it is invalid] */
export const BAD_NAMES: [string, string][] = [
  ['..', 'a path to the parent'],
  ['.', 'a path to the list'],
  ['a/b', 'a path below'],
  ['Trainer-0', 'uppercase'],
  ['-a', 'starts with a dash'],
  ['a-', 'ends with a dash'],
  ['a..b', 'an empty label'],
  ['a_b', 'an underscore'],
  ['a'.repeat(254), 'over 253 characters'],
];

export const GOOD_NAMES = ['a', 'trainer-0', 'web.v2.example', '0', 'a'.repeat(253), `${'a'.repeat(63)}.${'b'.repeat(63)}`];

/** [label selector, why it is invalid] */
export const BAD_SELECTORS: [Record<string, unknown>, string][] = [
  [{ matchLabels: { 'bad key': 'x' } }, 'a matchLabels key with a space'],
  [{ matchLabels: { 'a/b/c': 'x' } }, 'a matchLabels key with two slashes'],
  [{ matchLabels: { ['k'.repeat(64)]: 'x' } }, 'a matchLabels key name over 63 characters'],
  [{ matchLabels: { app: 'trainer!' } }, 'a matchLabels value with a "!"'],
  [{ matchLabels: { app: 'v'.repeat(64) } }, 'a matchLabels value over 63 characters'],
  [{ matchExpressions: [{ key: '-team', operator: 'Exists' }] }, 'an expression key starting with a dash'],
  [{ matchExpressions: [{ key: 'team', operator: 'In', values: ['ml', 'not ok'] }] }, 'an expression value with a space'],
];

export const GOOD_SELECTORS: Record<string, unknown>[] = [
  {},
  { matchLabels: { 'app.kubernetes.io/name': 'trainer', tier: '' } },
  { matchLabels: { [`${'p'.repeat(253)}/${'n'.repeat(63)}`]: 'v'.repeat(63) } },
  {
    matchExpressions: [
      { key: 'team', operator: 'In', values: ['ml', 'ml_2.x'] },
      { key: 'cedana.ai/skip', operator: 'DoesNotExist' },
    ],
  },
];
