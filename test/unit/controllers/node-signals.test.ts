import { describe, expect, it } from 'vitest';
import { classifyNode, DEFAULT_EARLY_TAINTS, DEFAULT_TERMINATING_TAINTS, taintMatches } from '../../../src/controllers/node-signals.ts';
import { node } from './builders.ts';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const GRACE = 60_000;
const classify = (n: Parameters<typeof classifyNode>[0]) => classifyNode(n, DEFAULT_TERMINATING_TAINTS, GRACE, DEFAULT_EARLY_TAINTS, NOW);
const ago = (ms: number) => new Date(NOW - ms).toISOString();

describe('taintMatches', () => {
  it('`key` matches the key whatever the value', () => {
    expect(taintMatches('karpenter.sh/disrupted', { key: 'karpenter.sh/disrupted' })).toBe(true);
    expect(taintMatches('karpenter.sh/disrupted', { key: 'karpenter.sh/disrupted', value: 'anything' })).toBe(true);
    expect(taintMatches('karpenter.sh/disrupted', { key: 'karpenter.sh/disruption' })).toBe(false);
  });

  it('`key=value` needs that key and exactly that value', () => {
    expect(taintMatches('karpenter.sh/disruption=disrupting', { key: 'karpenter.sh/disruption', value: 'disrupting' })).toBe(true);
    expect(taintMatches('karpenter.sh/disruption=disrupting', { key: 'karpenter.sh/disruption', value: 'candidate' })).toBe(false);
    expect(taintMatches('karpenter.sh/disruption=disrupting', { key: 'karpenter.sh/disruption' })).toBe(false);
    expect(taintMatches('karpenter.sh/disruption=disrupting', { key: 'other', value: 'disrupting' })).toBe(false);
    expect(taintMatches('k=', { key: 'k' })).toBe(true);
    expect(taintMatches('k=', { key: 'k', value: 'v' })).toBe(false);
  });
});

describe('classifyNode', () => {
  it('an undefined node is gone', () => {
    expect(classify(undefined)).toEqual({ kind: 'gone', reason: 'nodeTermination', cause: 'node deleted' });
  });

  it('a node with a deletionTimestamp is gone, even if otherwise healthy', () => {
    expect(classify(node({}, { deletionTimestamp: ago(1000) }))).toMatchObject({ kind: 'gone', reason: 'nodeTermination' });
  });

  it('the default list holds the known taints', () => {
    expect(DEFAULT_TERMINATING_TAINTS).toContain('karpenter.sh/disruption=disrupting');
    expect(DEFAULT_TERMINATING_TAINTS).toContain('remediator.aks.microsoft.com/unschedulable');
    expect(DEFAULT_TERMINATING_TAINTS).toContain('ToBeDeletedByClusterAutoscaler');
    expect(DEFAULT_EARLY_TAINTS).toEqual(['DeletionCandidateOfClusterAutoscaler']);
  });

  it.each(DEFAULT_TERMINATING_TAINTS)('taint %s means terminating', (pattern) => {
    const i = pattern.indexOf('=');
    const taint = i < 0 ? { key: pattern, value: 'x' } : { key: pattern.slice(0, i), value: pattern.slice(i + 1) };
    const signal = classify(node({ taints: [{ key: 'unrelated', value: 'v' }, taint] }));
    expect(signal).toEqual({ kind: 'terminating', reason: 'nodeTermination', cause: `taint ${taint.key}=${taint.value}` });
  });

  it('karpenter.sh/disruption with another value is not terminating', () => {
    expect(classify(node({ taints: [{ key: 'karpenter.sh/disruption', value: 'candidate' }] }))).toEqual({ kind: 'none' });
    expect(classify(node({ taints: [{ key: 'karpenter.sh/disruption' }] }))).toEqual({ kind: 'none' });
  });

  it('remediator.aks.microsoft.com/unschedulable without a value is terminating, cause names the key only', () => {
    expect(classify(node({ taints: [{ key: 'remediator.aks.microsoft.com/unschedulable' }] }))).toEqual({
      kind: 'terminating',
      reason: 'nodeTermination',
      cause: 'taint remediator.aks.microsoft.com/unschedulable',
    });
  });

  it('a cordon means unschedulable', () => {
    expect(classify(node({ unschedulable: true }))).toEqual({ kind: 'unschedulable', reason: 'nodeUnschedulable', cause: 'cordoned' });
    expect(classify(node({ unschedulable: false }))).toEqual({ kind: 'none' });
  });

  it('a terminating taint wins over a cordon', () => {
    expect(classify(node({ unschedulable: true, taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '123' }] }))).toMatchObject({ kind: 'terminating', reason: 'nodeTermination' });
  });

  it('NotReady for at least the grace means gone', () => {
    expect(classify(node({}, { ready: { status: 'False', since: ago(GRACE) } }))).toEqual({ kind: 'gone', reason: 'nodeTermination', cause: 'NotReady for 60s' });
    expect(classify(node({}, { ready: { status: 'Unknown', since: ago(GRACE * 5) } }))).toMatchObject({ kind: 'gone', reason: 'nodeTermination' });
  });

  it('NotReady within the grace is none, rechecked when the grace runs out', () => {
    const signal = classify(node({}, { ready: { status: 'Unknown', since: ago(20_000) } }));
    expect(signal.kind).toBe('none');
    const recheck = signal.kind === 'none' ? signal.recheckAfterMs : undefined;
    expect(recheck).toBeDefined();
    expect(recheck).toBeGreaterThanOrEqual(40_000);
    expect(recheck).toBeLessThanOrEqual(41_000);
  });

  it('NotReady within the grace on a cordoned node is unschedulable', () => {
    expect(classify(node({ unschedulable: true }, { ready: { status: 'False', since: ago(20_000) } }))).toMatchObject({ kind: 'unschedulable' });
  });

  it('a Ready node with an old transition time is fine', () => {
    expect(classify(node({}, { ready: { status: 'True', since: ago(GRACE * 100) } }))).toEqual({ kind: 'none' });
  });

  it('an early taint means early; a terminating taint or cordon wins over it', () => {
    expect(classify(node({ taints: [{ key: 'DeletionCandidateOfClusterAutoscaler', value: '1700000000', effect: 'PreferNoSchedule' }] }))).toEqual({
      kind: 'early',
      cause: 'taint DeletionCandidateOfClusterAutoscaler',
    });
    expect(classify(node({ unschedulable: true, taints: [{ key: 'DeletionCandidateOfClusterAutoscaler' }] }))).toMatchObject({ kind: 'unschedulable' });
    expect(classify(node({ taints: [{ key: 'DeletionCandidateOfClusterAutoscaler' }, { key: 'karpenter.sh/disrupted' }] }))).toMatchObject({ kind: 'terminating' });
  });

  it('early taints are ignored when none are configured', () => {
    expect(classifyNode(node({ taints: [{ key: 'DeletionCandidateOfClusterAutoscaler' }] }), DEFAULT_TERMINATING_TAINTS, GRACE, [], NOW)).toEqual({ kind: 'none' });
  });

  it('an unrelated taint is none', () => {
    expect(classify(node({ taints: [{ key: 'node.kubernetes.io/disk-pressure' }, { key: 'dedicated', value: 'gpu' }] }))).toEqual({ kind: 'none' });
  });

  it('only the configured terminating taints count', () => {
    const n = node({ taints: [{ key: 'karpenter.sh/disrupted' }] });
    expect(classifyNode(n, [], GRACE, [], NOW)).toEqual({ kind: 'none' });
    expect(classifyNode(node({ taints: [{ key: 'my/taint', value: 'v' }] }), ['my/taint'], GRACE, [], NOW)).toMatchObject({ kind: 'terminating', cause: 'taint my/taint=v' });
  });
});
