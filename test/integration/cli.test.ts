// The kubectl-like commands as a user runs them: bin/cedana-operator as a child process, against the
// real control plane, with the operator running in this process and the simulator as Cedana (and
// as Cedana's in-cluster side, which creates restored pods). Faults go through the simulator's
// admin endpoint, as they would for a simulator running elsewhere.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOperator } from '../../src/operator.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { createTestNamespace, kubeConfig, kubeconfigPath, repoRoot, waitFor, type TestNamespace } from './harness/cluster.ts';
import { TOKEN, api, createCr, createPod, getCr, startInProcessOperator, startTestSimulator, waitForPhase } from './harness/stack.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end; KUBECONFIG is the test cluster's unless `env` says otherwise. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(join(repoRoot, 'bin/cedana-operator'), args, { env: { ...process.env, KUBECONFIG: kubeconfigPath(), ...env }, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function setFaults(sim: RunningSimulator, faults: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${sim.url}/_sim/faults`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  expect(res.status).toBe(200);
}

const createdName = (out: string, kind: string): string => {
  const m = new RegExp(`^${kind}\\.cedana\\.ai/(\\S+) created`, 'm').exec(out);
  if (!m?.[1]) throw new Error(`no "${kind} created" line in: ${out}`);
  return m[1];
};

describe('cedana-operator checkpoint, restore and status', () => {
  let ns: TestNamespace;
  let sim: RunningSimulator;
  let op: RunningOperator;
  let checkpointName = '';

  beforeAll(async () => {
    ns = await createTestNamespace('cli');
    sim = await startTestSimulator();
    op = await startInProcessOperator(sim, ns.name);
    await createPod(ns.name, 'trainer-0');
    await waitFor(async () => (await api().core.readNamespacedPod({ namespace: ns.name, name: 'trainer-0' })).status?.phase === 'Running', { what: 'trainer-0 to run' });
  });
  afterAll(async () => {
    await op.stop();
    await sim.close();
    await ns.cleanup();
  });

  it('checkpoint --wait: creates a PodCheckpoint, prints each status it passes through, exits 0 once Ready', async () => {
    const run = await cli(['checkpoint', 'trainer-0', '-n', ns.name, '--wait']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    checkpointName = createdName(run.stdout, 'podcheckpoint');
    expect(checkpointName).toMatch(/^trainer-0-ckpt-[a-z0-9]{5}$/);
    const lines = run.stdout.trimEnd().split('\n');
    // not a terminal: plain lines, one per change, in the order the status moved
    expect(lines.filter((l) => l.startsWith(`PodCheckpoint ${checkpointName}: `)).length).toBeGreaterThanOrEqual(2);
    expect(lines).toContain(`PodCheckpoint ${checkpointName}: Ready (Cedana: ready)`);
    expect(run.stdout).not.toContain('\r');
    const pc = await getCr(ns.name, 'podcheckpoints', checkpointName);
    expect(pc.spec).toMatchObject({ podName: 'trainer-0', kind: 'simple', reason: 'manual' });
    expect(pc.status?.phase).toBe('Ready');
    expect(lines.at(-1)).toBe(`checkpoint ready: PodCheckpoint ${checkpointName}, Cedana action ${String(pc.status?.actionId)}, checkpoint ${String(pc.status?.checkpointId)}`);
  });

  it('checkpoint --wait on a terminal: one live line, rewritten as the status moves', async () => {
    // script(1) gives the CLI a pseudo-terminal as stdout, as an interactive shell would.
    const command = [join(repoRoot, 'bin/cedana-operator'), 'checkpoint', 'trainer-0', '-n', ns.name, '--wait', '--name', 'trainer-0-tty'].join(' ');
    const run = await new Promise<Run>((resolve) => {
      execFile('script', ['-qec', command, '/dev/null'], { env: { ...process.env, KUBECONFIG: kubeconfigPath() }, timeout: 90_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      });
    });
    expect(run.code).toBe(0);
    const out = run.stdout.replaceAll('\r\n', '\n');
    const frames = out.split('\r\x1b[2K').slice(1);
    // every state is a frame of the same line, with the time spent; only the last ends the line
    expect(frames.length).toBeGreaterThanOrEqual(2);
    expect(frames.every((f) => f.startsWith('PodCheckpoint trainer-0-tty: '))).toBe(true);
    expect(frames.slice(0, -1).every((f) => !f.includes('\n'))).toBe(true);
    expect(frames.at(-1)).toMatch(/^PodCheckpoint trainer-0-tty: Ready \(Cedana: ready\) {2}\d+s\ncheckpoint ready: PodCheckpoint trainer-0-tty, /);
  });

  it('checkpoint --wait on a Cedana error: exits 1 with the reason', async () => {
    await createPod(ns.name, 'doomed');
    await setFaults(sim, { failNextActions: 1 });
    try {
      const run = await cli(['checkpoint', 'doomed', '-n', ns.name, '--wait', '--kind', 'rootfs']);
      expect(run.code).toBe(1);
      const name = createdName(run.stdout, 'podcheckpoint');
      expect(run.stdout).toContain(`PodCheckpoint ${name}: Failed (Cedana: error)`);
      expect(run.stderr).toMatch(new RegExp(`^cedana-operator checkpoint: PodCheckpoint ${ns.name}/${name} failed: CheckpointFailed: .+\\n$`));
      expect((await getCr(ns.name, 'podcheckpoints', name)).spec.kind).toBe('rootfs');
    } finally {
      await setFaults(sim, { failNextActions: 0 });
    }
  });

  it('checkpoint -o json: the document alone on stdout, progress on stderr', async () => {
    const run = await cli(['checkpoint', 'trainer-0', '-n', ns.name, '--wait', '-o', 'json', '--name', 'trainer-0-json']);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as { metadata: { name: string; managedFields?: unknown }; status: { phase: string } };
    expect(doc.metadata.name).toBe('trainer-0-json');
    expect(doc.metadata.managedFields).toBeUndefined();
    // the apiserver records the CLI as the writer of the spec
    const stored = await getCr(ns.name, 'podcheckpoints', 'trainer-0-json');
    expect((stored.metadata.managedFields as { manager: string; operation: string }[]).filter((f) => f.operation === 'Update' && f.manager === 'cedana-operator-cli')).toHaveLength(1);
    expect(doc.status.phase).toBe('Ready');
    expect(run.stderr).toContain('podcheckpoint.cedana.ai/trainer-0-json created');
    expect(run.stderr).toContain('checkpoint ready: PodCheckpoint trainer-0-json');
  });

  it('restore --wait: creates a PodRestore and exits 0 once the restored pod exists', async () => {
    const run = await cli(['restore', checkpointName, '-n', ns.name, '--pod-name', 'trainer-0-back', '--wait']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const name = createdName(run.stdout, 'podrestore');
    expect(run.stdout).toContain(`PodRestore ${name}: Succeeded`);
    const pr = await getCr(ns.name, 'podrestores', name);
    expect(pr.spec).toEqual({ checkpointRef: { name: checkpointName }, podName: 'trainer-0-back', reason: 'manual' });
    const pod = await api().core.readNamespacedPod({ namespace: ns.name, name: 'trainer-0-back' });
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^restored: pod ${ns.name}/trainer-0-back( on \\S+)? \\(PodRestore ${name}\\)$`));
    expect(pod.metadata?.labels?.['cedana.ai/restore-action-id']).toBe((pr.status as { restoreActionId?: string } | undefined)?.restoreActionId);
  });

  it('status: protected pods, by policy and by label, their newest Ready checkpoint, what a node loss does', async () => {
    await createPod(ns.name, 'worker-0', { role: 'worker' });
    await createPod(ns.name, 'solo', { 'cedana.ai/node-restore': 'true' });
    await createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', 'workers', { selector: { matchLabels: { role: 'worker' } } });
    await createCr(ns.name, 'podcheckpoints', 'PodCheckpoint', 'worker-0-manual', { podName: 'worker-0' });
    await waitForPhase(ns.name, 'podcheckpoints', 'worker-0-manual', ['Ready']);

    // the operator's setting: labels are acted on by this operator (honour), as the in-process one would with it
    const run = await cli(['status', '-n', ns.name, '--cedana-labels', 'honour']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^POD +NODE +PROTECTED BY +NEWEST READY CHECKPOINT +AGE +NODE LOSS WITH NOTICE +WITHOUT NOTICE$/);
    expect(lines.find((l) => l.startsWith('worker-0 '))).toMatch(
      /^worker-0 +\S+ +policy\/workers +worker-0-manual +\d+s +checkpoint \(simple\), then restore elsewhere +restore from worker-0-manual \(\d+s old\)$/,
    );
    expect(lines.find((l) => l.startsWith('solo '))).toMatch(
      /^solo +\S+ +cedana\.ai\/node-restore=true +<none> +- +checkpoint \(simple\), then restore elsewhere +lost: no Ready checkpoint to restore from$/,
    );
    // trainer-0 and the others are not protected: not listed, but counted
    expect(lines.some((l) => l.startsWith('trainer-0 '))).toBe(false);
    expect(lines.at(-1)).toMatch(new RegExp(`^2 of \\d+ pod\\(s\\) in namespace ${ns.name} protected; 1 without a Ready checkpoint\\.$`));

    // the default, as the operator's: Cedana's labels are Cedana's own controller's
    const json = await cli(['status', '-n', ns.name, '-o', 'json'], { CEDANA_LABELS: '' });
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      namespace: string;
      cedanaLabels: string;
      protectedPods: { pod: string; protectedBy: unknown; newestCheckpoint: { name: string } | null; onNodeLoss: { withNotice: string } }[];
    };
    expect(report).toMatchObject({ namespace: ns.name, cedanaLabels: 'ignore' });
    expect(report.protectedPods.map((p) => [p.pod, p.protectedBy, p.newestCheckpoint?.name ?? null, p.onNodeLoss.withNotice])).toEqual([
      ['solo', { labels: { 'cedana.ai/node-restore': 'true' }, actedOnBy: 'cedana' }, null, "Cedana's controller acts on its labels"],
      ['worker-0', { policy: 'workers' }, 'worker-0-manual', 'checkpoint (simple), then restore elsewhere'],
    ]);
  });

  it('the namespace of the kubeconfig context is the default', async () => {
    const kc = kubeConfig();
    const ctx = kc.getCurrentContext();
    const dir = mkdtempSync(join(tmpdir(), 'cli-kc-'));
    const path = join(dir, 'kubeconfig');
    const doc = JSON.parse(kc.exportConfig()) as { contexts: { name: string; context: Record<string, unknown> }[] };
    for (const c of doc.contexts) if (c.name === ctx) c.context.namespace = ns.name;
    writeFileSync(path, JSON.stringify(doc));
    try {
      const run = await cli(['status', '--kubeconfig', path, '--cedana-labels', 'honour'], { KUBECONFIG: '' });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`in namespace ${ns.name} protected`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('bad input: one clear line and a non-zero exit', () => {
    const oneLine = (run: Run): string => {
      expect(run.stdout).toBe('');
      const lines = run.stderr.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      return lines[0] ?? '';
    };

    it('a pod that does not exist', async () => {
      const run = await cli(['checkpoint', 'no-such-pod', '-n', ns.name, '--wait']);
      expect(run.code).toBe(1);
      expect(oneLine(run)).toBe(`cedana-operator checkpoint: pod ${ns.name}/no-such-pod not found`);
    });

    it('a checkpoint that is not Ready, and one that does not exist', async () => {
      await createCr(ns.name, 'podcheckpoints', 'PodCheckpoint', 'ghost-ckpt', { podName: 'no-such-pod' });
      await waitForPhase(ns.name, 'podcheckpoints', 'ghost-ckpt', ['Failed']);
      const run = await cli(['restore', 'ghost-ckpt', '-n', ns.name]);
      expect(run.code).toBe(1);
      expect(oneLine(run)).toMatch(
        new RegExp(`^cedana-operator restore: PodCheckpoint ${ns.name}/ghost-ckpt is not Ready \\(phase Failed; PodNotFound: .*no-such-pod.*\\): restore from a Ready checkpoint$`),
      );
      const missing = await cli(['restore', 'nope', '-n', ns.name]);
      expect(missing.code).toBe(1);
      expect(oneLine(missing)).toBe(`cedana-operator restore: PodCheckpoint ${ns.name}/nope not found`);
      // nothing was created for either
      const restores = (await api().custom.listNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural: 'podrestores' })) as {
        items: { spec: { checkpointRef?: { name: string } } }[];
      };
      expect(restores.items.filter((r) => r.spec.checkpointRef?.name === 'ghost-ckpt' || r.spec.checkpointRef?.name === 'nope')).toEqual([]);
    });

    /** A kubeconfig for a new service account of the test namespace; the caller removes `dir`. */
    const serviceAccountKubeconfig = async (name: string): Promise<{ dir: string; path: string }> => {
      const { core } = api();
      await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name } } });
      const token = (await core.createNamespacedServiceAccountToken({ namespace: ns.name, name, body: { spec: { audiences: [], expirationSeconds: 600 } } })).status?.token ?? '';
      expect(token).not.toBe('');
      const kc = kubeConfig();
      const doc = JSON.parse(kc.exportConfig()) as { users: { name: string; user: Record<string, unknown> }[] };
      const user = kc.getCurrentUser()?.name;
      for (const u of doc.users) if (u.name === user) u.user = { token };
      const dir = mkdtempSync(join(tmpdir(), `cli-${name}-`));
      const path = join(dir, 'kubeconfig');
      writeFileSync(path, JSON.stringify(doc));
      return { dir, path };
    };

    it('a namespace without access (403), for each command', async () => {
      // A service account with no RBAC at all: authenticated, allowed nothing.
      const { dir, path } = await serviceAccountKubeconfig('nobody');
      try {
        const ck = await cli(['checkpoint', 'trainer-0', '-n', ns.name, '--kubeconfig', path]);
        expect(ck.code).toBe(1);
        expect(oneLine(ck)).toMatch(
          new RegExp(
            `^cedana-operator checkpoint: no access: cannot read pods in namespace ${ns.name} \\(pods "trainer-0" is forbidden: User "system:serviceaccount:${ns.name}:nobody" cannot get resource "pods".*\\)$`,
          ),
        );
        const rs = await cli(['restore', checkpointName, '-n', ns.name, '--kubeconfig', path]);
        expect(rs.code).toBe(1);
        expect(oneLine(rs)).toMatch(new RegExp(`^cedana-operator restore: no access: cannot read podcheckpoints in namespace ${ns.name} \\(.*forbidden.*\\)$`));
        const st = await cli(['status', '-n', ns.name, '--kubeconfig', path]);
        expect(st.code).toBe(1);
        expect(oneLine(st)).toMatch(new RegExp(`^cedana-operator status: no access: cannot list \\S+ in namespace ${ns.name} \\(.*forbidden.*\\)$`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('allowed to create but not to watch: --wait says so at once instead of waiting', async () => {
      const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: ns.name,
        body: {
          metadata: { name: 'create-only' },
          rules: [
            { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
            { apiGroups: ['cedana.ai'], resources: ['podcheckpoints'], verbs: ['create', 'get'] },
          ],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: ns.name,
        body: {
          metadata: { name: 'create-only' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'create-only' },
          subjects: [{ kind: 'ServiceAccount', name: 'creator', namespace: ns.name }],
        },
      });
      const { dir, path } = await serviceAccountKubeconfig('creator');
      try {
        const started = Date.now();
        const run = await cli(['checkpoint', 'trainer-0', '-n', ns.name, '--wait', '--kubeconfig', path]);
        expect(Date.now() - started).toBeLessThan(30_000);
        expect(run.code).toBe(1);
        expect(createdName(run.stdout, 'podcheckpoint')).toMatch(/^trainer-0-ckpt-/);
        expect(run.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(new RegExp(`^cedana-operator checkpoint: no access: cannot watch podcheckpoints in namespace ${ns.name} `))]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('unknown flags and invalid names, before any call to the apiserver', async () => {
      const flag = await cli(['checkpoint', 'trainer-0', '--frobnicate']);
      expect(flag.code).toBe(2);
      expect(oneLine(flag)).toBe("cedana-operator checkpoint: Unknown option '--frobnicate' (see cedana-operator checkpoint --help)");
      const name = await cli(['checkpoint', '..', '-n', ns.name]);
      expect(name.code).toBe(2);
      expect(oneLine(name)).toMatch(/^cedana-operator checkpoint: '\.\.' is not a pod name: a pod name is a DNS-1123 subdomain/);
      const unknownCommand = await cli(['chekpoint', 'trainer-0']);
      expect(unknownCommand.code).toBe(2);
      expect(unknownCommand.stderr.split('\n')[0]).toBe("cedana-operator: unknown command 'chekpoint'");
    });
  });
});
