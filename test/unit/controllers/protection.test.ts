import { describe, expect, it } from 'vitest';
import type { CheckpointPolicy } from '../../../src/api/checkpointpolicy.ts';
import { CheckpointPolicies } from '../../../src/api/kinds.ts';
import { HEARTBEAT_LABEL, NODE_RESTORE_LABEL, Protection, policiesByNamespace } from '../../../src/controllers/protection.ts';
import { fakeStore, pod, policy } from './builders.ts';

const store = (policies: CheckpointPolicy[]) => fakeStore(CheckpointPolicies, policies, [policiesByNamespace]);
const none = () => new Protection(store([]), 0);

describe('Protection with policies', () => {
  it('a matching policy wins over the labels', () => {
    const p = policy('db', { matchLabels: { app: 'db' } }, { onNodeTermination: { checkpoint: true, restore: false, kind: 'rootfs' } });
    const protection = new Protection(store([p]), 0);
    const rule = protection.ruleFor(pod('db-0', { app: 'db', [NODE_RESTORE_LABEL]: 'true', [HEARTBEAT_LABEL]: '30' }));
    expect(rule).toEqual({ policy: p, checkpoint: true, restore: false, kind: 'rootfs', labelHeartbeatMs: undefined });
  });

  it('asks the store for policies of the pod namespace only', () => {
    const mine = policy('mine', {}, { namespace: 'team-a' });
    const other = policy('other', {}, { namespace: 'team-b' });
    const s = store([mine, other]);
    const protection = new Protection(s, 0);
    expect(protection.policyFor(pod('x', undefined, { namespace: 'team-a' }))).toBe(mine);
    expect(protection.policyFor(pod('x', undefined, { namespace: 'team-c' }))).toBeUndefined();
    expect(s.indexCalls).toEqual([
      ['namespace', 'team-a'],
      ['namespace', 'team-c'],
    ]);
  });

  it('of two matching policies, the first by name wins, whatever the store order', () => {
    const b = policy('b-policy', { matchLabels: { app: 'db' } }, { onNodeTermination: { restore: false } });
    const a = policy('a-policy', {}, { onNodeTermination: { restore: true } });
    const c = policy('c-policy', { matchLabels: { app: 'db' } });
    for (const order of [
      [b, a, c],
      [c, b, a],
      [a, c, b],
    ]) {
      const protection = new Protection(store(order), 0);
      expect(protection.policyFor(pod('db-0', { app: 'db' }))?.metadata.name).toBe('a-policy');
    }
  });

  it('a policy that does not select the pod is ignored', () => {
    const p = policy('db', { matchLabels: { app: 'db' } });
    const protection = new Protection(store([p]), 0);
    expect(protection.ruleFor(pod('web-0', { app: 'web' }))).toBeUndefined();
  });

  it('a policy being deleted is ignored; the next one, or the labels, take over', () => {
    const dying = policy('a-dying', {}, { deletionTimestamp: '2026-01-01T00:00:00Z', onNodeTermination: { restore: false } });
    const alive = policy('b-alive', {});
    expect(new Protection(store([dying, alive]), 0).policyFor(pod('x', undefined))).toBe(alive);
    const onlyDying = new Protection(store([dying]), 0);
    expect(onlyDying.ruleFor(pod('x', undefined))).toBeUndefined();
    expect(onlyDying.ruleFor(pod('x', { [NODE_RESTORE_LABEL]: 'true' }))).toEqual({ policy: undefined, checkpoint: true, restore: true, kind: 'simple', labelHeartbeatMs: undefined });
  });
});

describe('Protection with labels', () => {
  it('an unlabelled pod is not protected and has no problem', () => {
    expect(none().ruleFor(pod('x', undefined))).toBeUndefined();
    expect(none().labelProblems(pod('x', { app: 'x' }))).toEqual([]);
  });

  it('node-restore "true" means checkpoint and restore', () => {
    const p = pod('x', { [NODE_RESTORE_LABEL]: 'true' });
    expect(none().ruleFor(p)).toEqual({ policy: undefined, checkpoint: true, restore: true, kind: 'simple', labelHeartbeatMs: undefined });
    expect(none().labelProblems(p)).toEqual([]);
  });

  it('node-restore "false" means not protected, without a problem', () => {
    const p = pod('x', { [NODE_RESTORE_LABEL]: 'false' });
    expect(none().ruleFor(p)).toBeUndefined();
    expect(none().labelProblems(p)).toEqual([]);
  });

  it.each(['yes', 'True', '1', ''])('node-restore %j is a problem naming the value, and does not protect', (value) => {
    const p = pod('x', { [NODE_RESTORE_LABEL]: value });
    expect(none().ruleFor(p)).toBeUndefined();
    const problems = none().labelProblems(p);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${NODE_RESTORE_LABEL}="${value}"`);
  });

  it('heartbeat "30" means a 30 s label heartbeat, without checkpoint or restore on node loss', () => {
    const p = pod('x', { [HEARTBEAT_LABEL]: '30' });
    expect(none().ruleFor(p)).toEqual({ policy: undefined, checkpoint: false, restore: false, kind: 'simple', labelHeartbeatMs: 30_000 });
    expect(none().labelProblems(p)).toEqual([]);
  });

  it('node-restore and heartbeat together', () => {
    expect(none().ruleFor(pod('x', { [NODE_RESTORE_LABEL]: 'true', [HEARTBEAT_LABEL]: '3600' }))).toEqual({
      policy: undefined,
      checkpoint: true,
      restore: true,
      kind: 'simple',
      labelHeartbeatMs: 3_600_000,
    });
  });

  it.each(['0', '-5', 'abc', '1.5', '', ' 30', '30s', '030', '1e3'])('heartbeat %j is a problem naming the value and takes no heartbeats', (value) => {
    const p = pod('x', { [HEARTBEAT_LABEL]: value });
    expect(none().ruleFor(p)).toBeUndefined();
    const problems = none().labelProblems(p);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${HEARTBEAT_LABEL}="${value}"`);
  });

  it('a bad heartbeat does not unprotect a node-restore pod', () => {
    const p = pod('x', { [NODE_RESTORE_LABEL]: 'true', [HEARTBEAT_LABEL]: 'abc' });
    expect(none().ruleFor(p)).toEqual({ policy: undefined, checkpoint: true, restore: true, kind: 'simple', labelHeartbeatMs: undefined });
    expect(none().labelProblems(p)).toHaveLength(1);
  });

  it('a heartbeat below the minimum is a problem that names the minimum, and gives no heartbeat', () => {
    const protection = new Protection(store([]), 60_000);
    const p = pod('x', { [HEARTBEAT_LABEL]: '30' });
    expect(protection.ruleFor(p)).toBeUndefined();
    const problems = protection.labelProblems(p);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('"30"');
    expect(problems[0]).toMatch(/minimum of 60s/);
    expect(protection.ruleFor(pod('x', { [HEARTBEAT_LABEL]: '30', [NODE_RESTORE_LABEL]: 'true' }))?.labelHeartbeatMs).toBeUndefined();
  });

  it('a heartbeat exactly at the minimum is fine', () => {
    const protection = new Protection(store([]), 60_000);
    const p = pod('x', { [HEARTBEAT_LABEL]: '60' });
    expect(protection.ruleFor(p)?.labelHeartbeatMs).toBe(60_000);
    expect(protection.labelProblems(p)).toEqual([]);
  });

  it('two bad labels give two problems', () => {
    expect(none().labelProblems(pod('x', { [NODE_RESTORE_LABEL]: 'yes', [HEARTBEAT_LABEL]: '0' }))).toHaveLength(2);
  });

  it('a policy-protected pod never has a label heartbeat', () => {
    const protection = new Protection(store([policy('all', {})]), 0);
    for (const hb of ['30', '3600', '1']) {
      const rule = protection.ruleFor(pod('x', { [HEARTBEAT_LABEL]: hb }));
      expect(rule?.policy?.metadata.name).toBe('all');
      expect(rule?.labelHeartbeatMs).toBeUndefined();
    }
  });
});
