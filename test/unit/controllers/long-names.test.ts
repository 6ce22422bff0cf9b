// Long node names: the label is cut to a valid value, the full name is kept for comparisons.
import { describe, expect, it } from 'vitest';
import { LABELS, NODE_ANNOTATION } from '../../../src/api/pod.ts';
import { completedMs, ownedMetadata } from '../../../src/controllers/owned-objects.ts';
import { pod } from './builders.ts';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe('ownedMetadata with a long node name', () => {
  it('cuts the label to a valid value and keeps the full name in an annotation', () => {
    for (const nodeName of [`${'a'.repeat(62)}.ec2.internal`, `${'a'.repeat(62)}-pool-1`]) {
      const meta = ownedMetadata(pod('db-0', undefined), undefined, 'evacuation', 'n', nodeName);
      const value = meta.labels[LABELS.node];
      expect(value?.length).toBeLessThanOrEqual(63);
      expect(value).toMatch(LABEL_VALUE);
      expect(meta.annotations[NODE_ANNOTATION]).toBe(nodeName);
    }
  });
});

describe('completedMs', () => {
  it('sorts a checkpoint without a completion time as the oldest', () => {
    const list = [{ status: {} }, { status: { completedAt: '2026-01-02T00:00:00Z' } }, { status: { completedAt: '2026-01-01T00:00:00Z' } }];
    expect(list.sort((a, b) => completedMs(b) - completedMs(a)).map((c) => c.status.completedAt)).toEqual(['2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z', undefined]);
  });
});
