// `cedana-operator status` without a cluster: which pods are protected and by what (the operator's
// own Protection rules), the newest Ready checkpoint of each, and what a node loss would do.
import { describe, expect, it } from 'vitest';
import { CheckpointPolicy } from '../../../src/api/checkpointpolicy.ts';
import { Pod } from '../../../src/api/pod.ts';
import { PodCheckpoint } from '../../../src/api/podcheckpoint.ts';
import { formatStatus, statusReport } from '../../../src/commands/status.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString();

const pod = (name: string, labels: Record<string, string>, extra: { phase?: string; node?: string } = {}) =>
  Pod.parse({ metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels }, spec: { nodeName: extra.node ?? 'node-1' }, status: { phase: extra.phase ?? 'Running' } });
const policy = (name: string, selector: object, onNodeTermination?: object) =>
  CheckpointPolicy.parse({
    apiVersion: 'cedana.ai/v1alpha1',
    kind: 'CheckpointPolicy',
    metadata: { name, namespace: 'ns', uid: `uid-${name}` },
    spec: { selector, ...(onNodeTermination ? { onNodeTermination } : {}) },
  });
const checkpoint = (name: string, podUID: string, phase: string, completedSecondsAgo?: number) =>
  PodCheckpoint.parse({
    apiVersion: 'cedana.ai/v1alpha1',
    kind: 'PodCheckpoint',
    metadata: { name, namespace: 'ns' },
    spec: { podName: 'x' },
    status: { phase, podUID, ...(completedSecondsAgo !== undefined ? { completedAt: ago(completedSecondsAgo) } : {}) },
  });

const pods = [
  pod('worker-0', { app: 'worker' }),
  pod('worker-1', { app: 'worker' }),
  pod('solo', { 'cedana.ai/node-restore': 'true' }),
  pod('ticker', { 'cedana.ai/heartbeat-checkpoint': '600' }),
  pod('typo', { 'cedana.ai/node-restore': 'yes' }),
  pod('plain', {}),
  pod('done', { app: 'worker' }, { phase: 'Succeeded' }),
  pod('keeper', { app: 'keep' }),
];
const policies = [policy('workers', { matchLabels: { app: 'worker' } }), policy('keep-only', { matchLabels: { app: 'keep' } }, { checkpoint: true, restore: false, kind: 'rootfs' })];
const checkpoints = [
  checkpoint('worker-0-old', 'uid-worker-0', 'Ready', 3600),
  checkpoint('worker-0-new', 'uid-worker-0', 'Ready', 125),
  checkpoint('worker-0-failed', 'uid-worker-0', 'Failed', 5),
  checkpoint('worker-1-other-pod', 'uid-someone-else', 'Ready', 10),
  checkpoint('solo-hb', 'uid-solo', 'Ready', 30),
];

describe('status report', () => {
  const report = statusReport('ns', pods, policies, checkpoints, 60_000, 'honour', NOW);
  const byPod = Object.fromEntries(report.protectedPods.map((p) => [p.pod, p]));

  it('lists the protected pods of running ones only, by name, with what protects each', () => {
    expect(report.pods).toBe(7);
    expect(report.protectedPods.map((p) => p.pod)).toEqual(['keeper', 'solo', 'ticker', 'worker-0', 'worker-1']);
    expect(byPod['worker-0']?.protectedBy).toEqual({ policy: 'workers' });
    expect(byPod.solo?.protectedBy).toEqual({ labels: { 'cedana.ai/node-restore': 'true' }, actedOnBy: 'operator' });
    expect(byPod.ticker?.protectedBy).toEqual({ labels: { 'cedana.ai/heartbeat-checkpoint': '600' }, actedOnBy: 'operator' });
  });

  it("takes the newest Ready checkpoint of the pod's own uid", () => {
    expect(byPod['worker-0']?.newestCheckpoint).toEqual({ name: 'worker-0-new', completedAt: ago(125), ageSeconds: 125 });
    expect(byPod['worker-1']?.newestCheckpoint).toBeNull();
  });

  it('says what a node loss would do, with notice and without', () => {
    expect(byPod['worker-0']?.onNodeLoss).toEqual({ withNotice: 'checkpoint (simple), then restore elsewhere', withoutNotice: 'restore from worker-0-new (2m5s old)' });
    expect(byPod['worker-1']?.onNodeLoss.withoutNotice).toBe('lost: no Ready checkpoint to restore from');
    expect(byPod.keeper?.onNodeLoss).toEqual({ withNotice: 'checkpoint (rootfs), no restore', withoutNotice: 'nothing: not restored' });
    expect(byPod.ticker?.onNodeLoss).toEqual({ withNotice: 'nothing: no checkpoint', withoutNotice: 'nothing: not restored' });
  });

  it("reports Cedana labels that protect nothing, in the operator's words", () => {
    expect(report.problems).toEqual(['pod typo: label cedana.ai/node-restore="yes" is not "true" (or "false"); the pod is not protected by it']);
  });

  it('prints a table, a summary and the warnings', () => {
    const text = formatStatus(report);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^POD +NODE +PROTECTED BY +NEWEST READY CHECKPOINT +AGE +NODE LOSS WITH NOTICE +WITHOUT NOTICE$/);
    expect(lines.find((l) => l.startsWith('worker-0 '))).toMatch(
      /^worker-0 +node-1 +policy\/workers +worker-0-new +2m5s +checkpoint \(simple\), then restore elsewhere +restore from worker-0-new \(2m5s old\)$/,
    );
    expect(lines.find((l) => l.startsWith('ticker '))).toMatch(/cedana\.ai\/heartbeat-checkpoint=600 +<none> +- +nothing/);
    expect(text).toContain('5 of 7 pod(s) in namespace ns protected; 3 without a Ready checkpoint.\n');
    expect(lines.at(-1)).toBe('warning: pod typo: label cedana.ai/node-restore="yes" is not "true" (or "false"); the pod is not protected by it');
  });

  it("with --cedana-labels=ignore (the operator's default) label-protected pods are Cedana's controller's", () => {
    const ignore = statusReport('ns', pods, policies, checkpoints, 60_000, 'ignore', NOW);
    const solo = ignore.protectedPods.find((p) => p.pod === 'solo');
    expect(solo?.protectedBy).toEqual({ labels: { 'cedana.ai/node-restore': 'true' }, actedOnBy: 'cedana' });
    expect(solo?.onNodeLoss).toEqual({ withNotice: "Cedana's controller acts on its labels", withoutNotice: "Cedana's controller acts on its labels" });
    // policies are the operator's either way; malformed labels are not its to report
    expect(ignore.protectedPods.find((p) => p.pod === 'worker-0')?.onNodeLoss.withNotice).toBe('checkpoint (simple), then restore elsewhere');
    expect(ignore.problems).toEqual([]);
    expect(formatStatus(ignore)).toContain("note: with --cedana-labels=ignore (the operator's default) pods protected by labels are Cedana's controller's");
    expect(formatStatus(report)).not.toContain('note:');
  });

  it('says so when nothing is protected', () => {
    expect(formatStatus(statusReport('ns', [pod('plain', {})], [], [], 60_000, 'ignore', NOW))).toBe(
      'No protected pods in namespace ns (1 pod(s)): protect them with a CheckpointPolicy or the label cedana.ai/node-restore=true.\n',
    );
  });
});
