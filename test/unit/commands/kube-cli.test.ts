// The kubectl-like commands without a cluster: argument parsing, kubeconfig resolution, error lines,
// progress and output formatting. test/integration/cli.test.ts runs them against a real apiserver.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { KubeHttpError } from '../../../src/kube/errors.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { PodCheckpoint } from '../../../src/api/podcheckpoint.ts';
import { PodRestore } from '../../../src/api/podrestore.ts';
import { checkpointLine, checkpointObject, checkpointOutcome, parseCheckpointArgs } from '../../../src/commands/checkpoint.ts';
import { CliError, Progress, describeKubeError, formatAge, formatDocument, formatTable, kubeTarget, parseTimeout } from '../../../src/commands/kube-cli.ts';
import { notRestorable, parseRestoreArgs, restoreLine, restoreObject, restoreOutcome } from '../../../src/commands/restore.ts';
import { parseStatusArgs } from '../../../src/commands/status.ts';

const cliError = (fn: () => unknown): CliError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof CliError) return err;
    throw err;
  }
  throw new Error('no CliError thrown');
};

describe('checkpoint arguments', () => {
  it('defaults: kind simple, no wait, 10 minute timeout, namespace from the kubeconfig', () => {
    expect(parseCheckpointArgs(['trainer-0'])).toEqual({
      pod: 'trainer-0',
      kind: 'simple',
      name: undefined,
      wait: false,
      timeoutMs: 600_000,
      output: undefined,
      namespace: undefined,
      kubeconfig: undefined,
      context: undefined,
    });
  });

  it('reads every flag, short and long, before or after the pod', () => {
    expect(parseCheckpointArgs(['-n', 'team-a', 'trainer-0', '--kind', 'rootfs', '--wait', '--timeout', '1m30s', '-o', 'json', '--name', 'mine', '--kubeconfig', '/k', '--context', 'c'])).toEqual({
      pod: 'trainer-0',
      kind: 'rootfs',
      name: 'mine',
      wait: true,
      timeoutMs: 90_000,
      output: 'json',
      namespace: 'team-a',
      kubeconfig: '/k',
      context: 'c',
    });
    expect(parseCheckpointArgs(['--help'])).toBeUndefined();
  });

  it.each([
    [['--frobnicate', 'x'], "checkpoint: Unknown option '--frobnicate' (see cedana-operator checkpoint --help)"],
    [[], 'checkpoint: missing POD (see cedana-operator checkpoint --help)'],
    [['a', 'b'], "checkpoint: unexpected argument 'b' (see cedana-operator checkpoint --help)"],
    [['..'], "checkpoint: '..' is not a pod name: a pod name is a DNS-1123 subdomain"],
    [['Trainer'], "checkpoint: 'Trainer' is not a pod name"],
    [['a', '--kind', 'full'], "checkpoint: --kind must be one of simple, rootfs, rootfsonly, not 'full'"],
    [['a', '-o', 'xml'], "checkpoint: --output must be json or yaml, not 'xml'"],
    [['a', '-n', 'Team_A'], "checkpoint: 'Team_A' is not a namespace name"],
    [['a', '--timeout', '5m'], 'checkpoint: --timeout applies only with --wait'],
    [['a', '--wait', '--timeout', '5 minutes'], "checkpoint: --timeout must be a duration like 90s, 5m or 1h (got '5 minutes')"],
    [['a', '-n'], "checkpoint: Option '-n, --namespace <value>' argument missing"],
  ])('refuses %j in one line, exit 2', (argv, message) => {
    const err = cliError(() => parseCheckpointArgs(argv));
    expect(err.message.startsWith(message)).toBe(true);
    expect(err.message).not.toContain('\n');
    expect(err.exitCode).toBe(2);
  });

  it('creates what a user would apply: generateName from the pod, or the given name', () => {
    expect(checkpointObject({ pod: 'trainer-0', kind: 'simple', name: undefined })).toEqual({
      apiVersion: 'cedana.ai/v1alpha1',
      kind: 'PodCheckpoint',
      metadata: { generateName: 'trainer-0-ckpt-' },
      spec: { podName: 'trainer-0', kind: 'simple', reason: 'manual' },
    });
    expect(checkpointObject({ pod: 'p', kind: 'rootfs', name: 'mine' }).metadata).toEqual({ name: 'mine' });
    // a long pod name leaves room for the suffix and never ends the base in a dash
    const long = checkpointObject({ pod: `${'a'.repeat(239)}-b`, kind: 'simple', name: undefined }).metadata.generateName ?? '';
    expect(long).toBe(`${'a'.repeat(239)}-ckpt-`);
  });
});

describe('restore and status arguments', () => {
  it('restore: --pod-name, and the checks of names', () => {
    expect(parseRestoreArgs(['ck', '--pod-name', 'back', '--wait'])).toMatchObject({ checkpoint: 'ck', podName: 'back', wait: true });
    expect(cliError(() => parseRestoreArgs(['ck', '--pod-name', 'a/b'])).message).toMatch(/^restore: --pod-name 'a\/b' is not a pod name/);
    expect(cliError(() => parseRestoreArgs(['ck', '--force'])).exitCode).toBe(2);
    expect(restoreObject({ checkpoint: 'ck', podName: 'back', name: undefined })).toEqual({
      apiVersion: 'cedana.ai/v1alpha1',
      kind: 'PodRestore',
      metadata: { generateName: 'ck-restore-' },
      spec: { checkpointRef: { name: 'ck' }, reason: 'manual', podName: 'back' },
    });
    expect(restoreObject({ checkpoint: 'ck', podName: undefined, name: 'r' }).spec).toEqual({ checkpointRef: { name: 'ck' }, reason: 'manual' });
  });

  it('status: takes no arguments', () => {
    const saved = process.env.CEDANA_LABELS;
    try {
      delete process.env.CEDANA_LABELS;
      expect(parseStatusArgs(['-n', 'x', '-o', 'yaml'])).toEqual({ cedanaLabels: 'ignore', namespace: 'x', output: 'yaml', kubeconfig: undefined, context: undefined });
      process.env.CEDANA_LABELS = 'honour';
      expect(parseStatusArgs([])?.cedanaLabels).toBe('honour');
      expect(parseStatusArgs(['--cedana-labels', 'ignore'])?.cedanaLabels).toBe('ignore');
      expect(cliError(() => parseStatusArgs(['--cedana-labels', 'always'])).message).toBe("status: --cedana-labels must be ignore or honour, not 'always'");
    } finally {
      if (saved === undefined) delete process.env.CEDANA_LABELS;
      else process.env.CEDANA_LABELS = saved;
    }
    expect(cliError(() => parseStatusArgs(['pods'])).message).toBe("status: unexpected argument 'pods' (see cedana-operator status --help)");
  });

  it('durations', () => {
    expect(parseTimeout('x', '500ms')).toBe(500);
    expect(parseTimeout('x', '1h2m3s')).toBe(3_723_000);
    expect(parseTimeout('x', '1.5m')).toBe(90_000);
    for (const bad of ['', '5', 'm', '0s', '5m ', '-1s']) expect(() => parseTimeout('x', bad)).toThrow(CliError);
  });
});

describe('the kubeconfig, as kubectl finds it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-kc-'));
  const config = (file: string, contexts: { name: string; namespace?: string }[], current: string): string => {
    const path = join(dir, file);
    const ctx = contexts.map((c) => `- name: ${c.name}\n  context: {cluster: c1, user: u1${c.namespace ? `, namespace: ${c.namespace}` : ''}}`).join('\n');
    writeFileSync(
      path,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster: {server: 'https://127.0.0.1:6443'}\nusers:\n- name: u1\n  user: {token: t}\ncontexts:\n${ctx}\ncurrent-context: ${current}\n`,
    );
    return path;
  };
  const saved = process.env.KUBECONFIG;
  afterEach(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });

  it("the current context's namespace by default, -n over it, 'default' without either", () => {
    const path = config('a', [{ name: 'dev', namespace: 'team-a' }, { name: 'prod' }], 'dev');
    expect(kubeTarget('status', { kubeconfig: path }).namespace).toBe('team-a');
    expect(kubeTarget('status', { kubeconfig: path, namespace: 'other' }).namespace).toBe('other');
    expect(kubeTarget('status', { kubeconfig: path, context: 'prod' }).namespace).toBe('default');
    expect(kubeTarget('status', { kubeconfig: path }).server).toBe('https://127.0.0.1:6443');
  });

  it('$KUBECONFIG when there is no --kubeconfig', () => {
    process.env.KUBECONFIG = config('b', [{ name: 'env', namespace: 'from-env' }], 'env');
    expect(kubeTarget('status', {}).namespace).toBe('from-env');
  });

  it('an unknown context or an unreadable file is one line', () => {
    const path = config('c', [{ name: 'dev' }], 'dev');
    expect(cliError(() => kubeTarget('status', { kubeconfig: path, context: 'nope' })).message).toBe("status: the kubeconfig has no context 'nope'");
    expect(cliError(() => kubeTarget('status', { kubeconfig: join(dir, 'missing') })).message).toMatch(/^status: cannot load the kubeconfig: ENOENT/);
  });
});

describe('error lines', () => {
  const target = { server: 'https://127.0.0.1:6443' };
  const status = (code: number, message: string) => new ApiException(code, 'x', JSON.stringify({ kind: 'Status', code, message }), {});

  it('404 names the object, 403 says what was not allowed and why', () => {
    expect(describeKubeError(status(404, 'pods "x" not found'), target, 'pod ns/x', 'read pods in namespace ns')).toBe('pod ns/x not found');
    expect(describeKubeError(status(403, 'pods "x" is forbidden: User "u" cannot get resource "pods"'), target, 'pod ns/x', 'read pods in namespace ns')).toBe(
      'no access: cannot read pods in namespace ns (pods "x" is forbidden: User "u" cannot get resource "pods")',
    );
    expect(describeKubeError(status(404, 'the server could not find the requested resource'), target, 'namespace ns', 'create podcheckpoints in namespace ns')).toBe(
      'cannot create podcheckpoints in namespace ns: the apiserver does not serve it (are the cedana.ai CRDs installed?)',
    );
    expect(describeKubeError(status(401, 'Unauthorized'), target, 'w', 'a')).toBe("the apiserver at https://127.0.0.1:6443 does not accept the kubeconfig's credentials: Unauthorized");
    expect(describeKubeError(status(422, 'spec.podName: Invalid value'), target, 'w', 'create podcheckpoints')).toBe(
      'the apiserver refused to create podcheckpoints (HTTP 422): spec.podName: Invalid value',
    );
    expect(describeKubeError(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:6443') }), target, 'w', 'a')).toBe(
      'cannot reach the apiserver at https://127.0.0.1:6443: connect ECONNREFUSED 127.0.0.1:6443',
    );
  });

  it("the operator's own client's errors (the watch of --wait) read the same", () => {
    const ours = (code: number, message: string) => new KubeHttpError(code, `GET /apis/cedana.ai/v1alpha1/namespaces/ns/podcheckpoints: HTTP ${String(code)}: ${message}`);
    expect(describeKubeError(ours(404, 'the server could not find the requested resource'), target, 'w', 'watch podcheckpoints in namespace ns')).toBe(
      'cannot watch podcheckpoints in namespace ns: the apiserver does not serve it (are the cedana.ai CRDs installed?)',
    );
    expect(describeKubeError(ours(403, 'podcheckpoints is forbidden: User "u" cannot watch resource "podcheckpoints"'), target, 'w', 'watch podcheckpoints')).toBe(
      'no access: cannot watch podcheckpoints (podcheckpoints is forbidden: User "u" cannot watch resource "podcheckpoints")',
    );
    expect(describeKubeError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }), target, 'w', 'a')).toBe(
      'cannot reach the apiserver at https://127.0.0.1:6443: connect ECONNREFUSED 127.0.0.1:6443',
    );
  });
});

const pc = (status: Record<string, unknown> | undefined) =>
  PodCheckpoint.parse({ apiVersion: 'cedana.ai/v1alpha1', kind: 'PodCheckpoint', metadata: { name: 'ck', namespace: 'ns' }, spec: { podName: 'p' }, ...(status ? { status } : {}) });
const pr = (status: Record<string, unknown> | undefined) =>
  PodRestore.parse({ apiVersion: 'cedana.ai/v1alpha1', kind: 'PodRestore', metadata: { name: 'rs', namespace: 'ns' }, spec: { checkpointRef: { name: 'ck' } }, ...(status ? { status } : {}) });
const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastTransitionTime: '2026-01-01T00:00:00Z' });

describe('progress and outcome lines', () => {
  it('checkpoint: phase, Cedana status, and why it waits', () => {
    expect(checkpointLine(pc(undefined))).toBe('PodCheckpoint ck: Pending');
    expect(checkpointLine(pc({ phase: 'Checkpointing', cedanaStatus: 'processing' }))).toBe('PodCheckpoint ck: Checkpointing (Cedana: processing)');
    expect(checkpointLine(pc({ phase: 'Pending', conditions: [cond('Submitted', 'Unknown', 'CedanaUnavailable', 'HTTP 503')] }))).toBe(
      'PodCheckpoint ck: Pending; Submitted: CedanaUnavailable (HTTP 503)',
    );
    expect(checkpointOutcome(pc({ phase: 'Ready', actionId: 'a1', checkpointId: 'c1' }))).toEqual({ ok: true, line: 'checkpoint ready: PodCheckpoint ck, Cedana action a1, checkpoint c1' });
    expect(checkpointOutcome(pc({ phase: 'Failed', message: 'Cedana reported error', conditions: [cond('Ready', 'False', 'CheckpointFailed', 'x')] }))).toEqual({
      ok: false,
      line: 'PodCheckpoint ns/ck failed: CheckpointFailed: Cedana reported error',
    });
  });

  it('restore: lines, outcome, and a checkpoint that is not Ready', () => {
    expect(restoreLine(pr({ phase: 'Restoring', cedanaStatus: 'initialized' }))).toBe('PodRestore rs: Restoring (Cedana: initialized)');
    expect(restoreOutcome(pr({ phase: 'Succeeded', restoredPod: { name: 'p-restored', nodeName: 'n1' } }))).toEqual({ ok: true, line: 'restored: pod ns/p-restored on n1 (PodRestore rs)' });
    expect(restoreOutcome(pr({ phase: 'Failed', message: 'no such action', conditions: [cond('Ready', 'False', 'CedanaRejected', 'x')] })).line).toBe(
      'PodRestore ns/rs failed: CedanaRejected: no such action',
    );
    expect(notRestorable(pc({ phase: 'Ready' }))).toBeUndefined();
    expect(notRestorable(pc({ phase: 'Failed', message: 'pod gone', conditions: [cond('Ready', 'False', 'PodNotFound', 'x')] }))).toBe(
      'PodCheckpoint ns/ck is not Ready (phase Failed; PodNotFound: pod gone): restore from a Ready checkpoint',
    );
    expect(notRestorable(pc(undefined))).toBe('PodCheckpoint ns/ck is not Ready (phase Pending): restore from a Ready checkpoint');
  });

  it('a plain line per change off a terminal; one rewritten line on a terminal', () => {
    const plain: string[] = [];
    const p = new Progress({ write: (s: string) => plain.push(s) });
    for (const l of ['a', 'a', 'b']) p.update(l);
    p.stop();
    expect(plain).toEqual(['a\n', 'b\n']);

    const tty: string[] = [];
    const t = new Progress({ write: (s: string) => tty.push(s), isTTY: true, columns: 80 });
    t.update('PodCheckpoint ck: Pending');
    t.update('PodCheckpoint ck: Ready');
    t.stop();
    expect(tty).toEqual(['\r\x1b[2KPodCheckpoint ck: Pending  0s', '\r\x1b[2KPodCheckpoint ck: Ready  0s', '\n']);
  });

  it('a live line is cut to the terminal width', () => {
    const tty: string[] = [];
    const t = new Progress({ write: (s: string) => tty.push(s), isTTY: true, columns: 12 });
    t.update('PodCheckpoint very-long-name: Pending');
    t.stop();
    expect(tty[0]).toBe('\r\x1b[2KPodCheckpo…'); // 11 columns: the cursor never wraps
  });
});

describe('formatting', () => {
  it.each([
    [0, '0s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [200_000, '3m20s'],
    [720_000, '12m'],
    [3_600_000, '1h'],
    [18_600_000, '5h10m'],
    [3 * 86_400_000, '3d'],
    [-5, '0s'],
  ])('age of %i ms is %s', (ms, s) => {
    expect(formatAge(ms)).toBe(s);
  });

  it('tables as kubectl prints them', () => {
    expect(
      formatTable(
        ['NAME', 'AGE'],
        [
          ['a', '1s'],
          ['longer', '2m'],
        ],
      ),
    ).toBe('NAME    AGE\na       1s\nlonger  2m\n');
  });

  it('json and yaml documents', () => {
    expect(JSON.parse(formatDocument({ a: 1 }, 'json'))).toEqual({ a: 1 });
    expect(formatDocument({ a: 1, b: ['x'] }, 'yaml')).toBe('a: 1\nb:\n  - x\n');
    // as kubectl prints objects: no managedFields
    expect(JSON.parse(formatDocument({ kind: 'PodCheckpoint', metadata: { name: 'ck', managedFields: [{ manager: 'm' }] } }, 'json'))).toEqual({ kind: 'PodCheckpoint', metadata: { name: 'ck' } });
  });
});
