// The chart's alerts and Grafana dashboard, proven: they render only when enabled and pass
// `helm lint --strict`; the rules as rendered pass `promtool check rules` and the cases of
// test/promtool/alerts.test.yaml (each alert fires, and does not); the dashboard's queries parse; and
// every metric an alert or a panel reads is in a real /metrics scrape of an operator that has worked
// against this tier's control plane and the simulator. promtool is built from its Go module and
// cached (scripts/promtool.sh), like the control plane.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CheckpointPolicy } from '../../src/api/checkpointpolicy.ts';
import { Pod } from '../../src/api/pod.ts';
import { PodCheckpoint } from '../../src/api/podcheckpoint.ts';
import { CedanaClient } from '../../src/cedana/client.ts';
import { matchesSelector } from '../../src/kube/selector.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { RunningOperator } from '../../src/operator.ts';
import { recordEviction, startCedanaProbe } from '../../src/protection/operations.ts';
import { computeRecoveryPoint, policyBoundMs, recordRecoveryPoint } from '../../src/protection/recovery-point.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { CHART_DIR, helmBinary, helmTemplate, pinnedKubeVersion, splitDocuments } from '../../scripts/manifests.ts';
import { createTestNamespace, repoRoot, waitFor, type TestNamespace } from './harness/cluster.ts';
import { TOKEN, api, createCr, getCr, startInProcessOperator, startTestSimulator } from './harness/stack.ts';

const run = promisify(execFile);
const RULES_FILE = join(CHART_DIR, 'files/prometheus-rules.yaml');
const DASHBOARD_FILE = join(CHART_DIR, 'files/grafana-dashboard.json');
const PROMTOOL_TESTS = join(repoRoot, 'test/promtool/alerts.test.yaml');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: RuleFile;
  data?: Record<string, string>;
}
interface Dashboard {
  panels: { title: string; type: string; targets?: { expr: string }[] }[];
  templating: { list: { name: string; query?: unknown }[] };
}

let helm = '';
let promtool = '';
let work = '';

beforeAll(async () => {
  helm = await helmBinary();
  // Built once per version into ~/.cache/cedana-operator (a few minutes cold); then it is a lookup.
  const { stdout } = await run('sh', [join(repoRoot, 'scripts/promtool.sh'), 'build'], { maxBuffer: 1 << 24 });
  promtool = stdout.trim().split('\n').at(-1) ?? '';
  work = await mkdtemp(join(tmpdir(), 'cedana-alerts-'));
}, 900_000);
afterAll(async () => {
  if (work !== '') await rm(work, { recursive: true, force: true });
});

async function exec(bin: string, args: string[], cwd = work): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(bin, args, { cwd, maxBuffer: 1 << 24 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: (e.stdout ?? '') + (e.stderr ?? String(err)) };
  }
}

const render = async (setJson: Record<string, unknown> = {}): Promise<Doc[]> => splitDocuments(await helmTemplate({ helm, setJson })).map((d) => d.obj as unknown as Doc);
const enabled = { 'prometheusRule.enabled': true, 'grafanaDashboard.enabled': true };
const ruleOf = (docs: Doc[]): RuleFile => {
  const rules = docs.filter((d) => d.kind === 'PrometheusRule');
  expect(rules).toHaveLength(1);
  return rules[0]?.spec as RuleFile;
};
const alertsOf = (rules: RuleFile): Rule[] => rules.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
const dashboardExprs = (d: Dashboard): string[] => d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

/** Metric names in a PromQL expression: identifiers of ours, not label names or functions. */
const metricNames = (expr: string): string[] => [...new Set([...expr.matchAll(/\bcedana_operator_[a-z0-9_]+/g)].map((m) => m[0]))];

describe('the PrometheusRule and the Grafana dashboard in the chart', () => {
  it('render only when enabled, with the labels Prometheus and the Grafana sidecar select on', async () => {
    const off = await render();
    expect(off.filter((d) => d.kind === 'PrometheusRule')).toEqual([]);
    expect(off.filter((d) => d.kind === 'ConfigMap' && d.metadata.name.endsWith('-dashboard'))).toEqual([]);

    const on = await render({
      ...enabled,
      'prometheusRule.labels': { release: 'kube-prometheus-stack' },
      'grafanaDashboard.namespace': 'monitoring',
      'grafanaDashboard.annotations': { grafana_folder: 'Cedana' },
    });
    const rule = on.find((d) => d.kind === 'PrometheusRule');
    expect(rule?.metadata).toMatchObject({ name: 'cedana-operator', namespace: 'cedana-system', labels: { release: 'kube-prometheus-stack', 'app.kubernetes.io/name': 'cedana-operator' } });
    const cms = on.filter((d) => d.kind === 'ConfigMap' && d.metadata.name === 'cedana-operator-dashboard');
    expect(cms).toHaveLength(1);
    expect(cms[0]?.metadata).toMatchObject({ namespace: 'monitoring', labels: { grafana_dashboard: '1' }, annotations: { grafana_folder: 'Cedana' } });
    // The dashboard is the file, byte for byte, and JSON.
    expect(cms[0]?.data?.['cedana-operator.json']).toBe(readFileSync(DASHBOARD_FILE, 'utf8').trimEnd());
    expect(() => {
      JSON.parse(cms[0]?.data?.['cedana-operator.json'] ?? '');
    }).not.toThrow();
    // The rules are the file's, with the placeholder gone.
    expect(ruleOf(on)).toEqual(parse(readFileSync(RULES_FILE, 'utf8').replaceAll('cedana_selector=""', '')) as RuleFile);
    expect(stringify(ruleOf(on))).not.toContain('cedana_selector');
  });

  it('pass helm lint --strict, enabled or not; a selector that is not PromQL matchers is refused', async () => {
    const kube = ['--kube-version', pinnedKubeVersion()];
    for (const sets of [[], ['--set', 'prometheusRule.enabled=true', '--set', 'grafanaDashboard.enabled=true', '--set-string', 'prometheusRule.selector=job="cedana-operator-metrics"']]) {
      const r = await exec(helm, ['lint', '--strict', CHART_DIR, ...kube, ...sets]);
      expect(r.out, r.out).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(r.code).toBe(0);
    }
    const bad = await exec(helm, ['lint', '--strict', CHART_DIR, ...kube, '--set', 'prometheusRule.enabled=true', '--set-string', 'prometheusRule.selector=job="x"} or vector(1) #']);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain('/prometheusRule/selector');
  });

  it('promtool check rules: the rendered rules, without a selector and with one', async () => {
    for (const selector of ['', 'job="cedana-operator-metrics", namespace="cedana-system"']) {
      const rules = ruleOf(await render({ ...enabled, 'prometheusRule.selector': selector }));
      const alerts = alertsOf(rules);
      expect(alerts.map((a) => a.alert)).toEqual([
        'CedanaOperatorCheckpointsFailing',
        'CedanaOperatorReconcileErrors',
        'CedanaOperatorRecoveryPointMissed',
        'CedanaOperatorCedanaUnreachable',
        'CedanaOperatorCedanaTokenRejected',
        'CedanaOperatorCedanaErrors',
        'CedanaOperatorEvictionHeldPastBound',
        'CedanaOperatorWebhookCertificateExpiring',
        'CedanaOperatorNoLeader',
      ]);
      for (const a of alerts) {
        expect(['critical', 'warning'], a.alert).toContain(a.labels?.severity);
        expect(a.annotations?.runbook_url, a.alert).toMatch(new RegExp(`docs/operations\\.md#${(a.alert ?? '').toLowerCase()}$`));
        // Every selector of our metrics carries the selector.
        if (selector !== '') for (const m of a.expr.matchAll(/\bcedana_operator_[a-z0-9_]+(\{[^}]*\})?/g)) expect(m[1] ?? '', `${a.alert}: ${m[0]}`).toContain(selector);
      }
      const file = join(work, `rules-${String(selector.length)}.yaml`);
      writeFileSync(file, stringify(rules));
      const r = await exec(promtool, ['check', 'rules', file]);
      expect(r.out, r.out).toContain(`SUCCESS: ${String(alerts.length)} rules found`);
      expect(r.code).toBe(0);
    }
    // and it does find faults: a misspelt function fails the check
    const broken = join(work, 'broken.yaml');
    writeFileSync(broken, stringify({ groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'rat(cedana_operator_leader[5m]) > 0' }] }] }));
    expect((await exec(promtool, ['check', 'rules', broken])).code).not.toBe(0);
  });

  it('promtool test rules: every alert has a case that fires and one that does not, and they pass', async () => {
    const rules = ruleOf(await render(enabled));
    const dir = await mkdtemp(join(work, 'test-'));
    writeFileSync(join(dir, 'rules.yaml'), stringify(rules));
    copyFileSync(PROMTOOL_TESTS, join(dir, 'alerts.test.yaml'));
    const cases = (parse(readFileSync(PROMTOOL_TESTS, 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] }).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const a of alertsOf(rules)) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${String(a.alert)} has a case that fires`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${String(a.alert)} has a case that does not`,
      ).toBe(true);
    }
    const r = await exec(promtool, ['test', 'rules', 'alerts.test.yaml'], dir);
    expect(r.out, r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);

    // and the cases can fail: an alert whose threshold moved no longer meets them
    const moved = structuredClone(rules);
    for (const rule of moved.groups.flatMap((g) => g.rules)) if (rule.alert === 'CedanaOperatorCheckpointsFailing') rule.expr = rule.expr.replace('> 0.1', '> 0.5');
    writeFileSync(join(dir, 'rules.yaml'), stringify(moved));
    const fails = await exec(promtool, ['test', 'rules', 'alerts.test.yaml'], dir);
    expect(fails.code).not.toBe(0);
    expect(fails.out).toContain('CedanaOperatorCheckpointsFailing');
  });

  it("the dashboard's queries parse (as recording rules, with Grafana's variables filled in)", async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
    const exprs = dashboardExprs(dashboard);
    expect(exprs.length).toBeGreaterThan(10);
    const filled = exprs.map((e) => e.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.*'));
    for (const e of filled) expect(e, e).not.toMatch(/\$[a-z_]/i);
    const file = join(work, 'dashboard-rules.yaml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: filled.map((expr, i) => ({ record: `dashboard:panel_${String(i)}`, expr })) }] }));
    const r = await exec(promtool, ['check', 'rules', file]);
    expect(r.out, r.out).toContain(`SUCCESS: ${String(exprs.length)} rules found`);
    // The panels the issue asks for.
    const titles = dashboard.panels.map((p) => p.title).join('\n');
    for (const t of [/by outcome/i, /Cedana latency by operation/, /Fan-out latency/, /queue depth/i, /checkpoint age per policy/i]) expect(titles).toMatch(t);
  });
});

describe('every metric the alerts and the dashboard read is exported', () => {
  let ns: TestNamespace;
  let sim: RunningSimulator;
  let op: RunningOperator;
  let node = '';
  const probe = new AbortController();

  beforeAll(async () => {
    ns = await createTestNamespace('alerts');
    sim = await startTestSimulator();
    op = await startInProcessOperator(sim, ns.name, { minHeartbeatInterval: 500 });
  });
  afterAll(async () => {
    probe.abort();
    await op.stop();
    await sim.close();
    if (node !== '') await api().core.deleteNode({ name: node });
    await ns.cleanup();
  });

  const scrape = async (): Promise<string> => {
    const res = await fetch(`${op.httpUrl}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };
  /** Series names with at least one sample in a scrape ("name{...} value" or "name value"). */
  const sampled = (text: string): Set<string> => new Set(text.split('\n').flatMap((l) => (l.startsWith('#') || l === '' ? [] : [/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)?.[0] ?? ''])));
  const value = (text: string, name: string, labels: Record<string, string> = {}): number | undefined => {
    for (const l of text.split('\n')) {
      if (!l.startsWith(`${name}{`) && !l.startsWith(`${name} `)) continue;
      if (!Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) continue;
      return Number(l.slice(l.lastIndexOf(' ') + 1));
    }
    return undefined;
  };

  it('after a node termination, a checkpoint, a restore and a failing Cedana call: a sample of each, in a real scrape', async () => {
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    // A protected pod on a node of its own, which Karpenter then disrupts: the fan-out histogram,
    // checkpoints Ready (action durations), the pod gone, a restore (restores created).
    await createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', 'workers', { selector: { matchLabels: { app: 'worker' } }, heartbeat: { interval: '1h' } });
    node = `alerts-${randomBytes(3).toString('hex')}`;
    await api().core.createNode({ body: { metadata: { name: node, annotations: { 'kwok.x-k8s.io/node': 'fake' }, labels: { type: 'kwok-alerts' } } } });
    await waitFor(async () => (await api().core.readNode({ name: node })).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), {
      what: `node ${node} Ready`,
      timeoutMs: 60_000,
    });
    await api().core.createNamespacedPod({
      namespace: ns.name,
      body: { metadata: { name: 'worker-0', labels: { app: 'worker' } }, spec: { nodeName: node, terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'registry.invalid/app:1' }] } },
    });
    await waitFor(async () => (await getCr(ns.name, 'checkpointpolicies', 'workers')).status?.protectedPods === 1, { what: 'the policy to protect worker-0' });
    await api().core.patchNode({ name: node, body: { spec: { taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }] } } }, merge);
    const listCk = async () =>
      ((await api().custom.listNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural: 'podcheckpoints' })) as { items: unknown[] }).items.map((o) =>
        PodCheckpoint.parse(o),
      );
    await waitFor(async () => (await listCk()).some((c) => c.status?.phase === 'Ready'), { what: 'the evacuation checkpoint to be Ready', timeoutMs: 60_000 });
    await api().core.deleteNamespacedPod({ namespace: ns.name, name: 'worker-0', gracePeriodSeconds: 0 });
    await waitFor(async () => value(await scrape(), 'cedana_operator_restores_created_total') !== undefined, { what: 'a restore created', timeoutMs: 60_000 });

    // A Cedana 5xx where the reconcile gives up and requeues (the deprecation of a deleted
    // checkpoint): a reconcile error.
    sim.setFaults({ errorRate: 1, paths: ['PATCH /v2/checkpoints/deprecate/{id}'] });
    const ready = (await listCk()).find((c) => c.status?.phase === 'Ready');
    await api().custom.deleteNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural: 'podcheckpoints', name: ready?.metadata.name ?? '' });
    await waitFor(async () => value(await scrape(), 'cedana_operator_reconcile_errors_total') !== undefined, { what: 'a reconcile error', timeoutMs: 30_000 });
    sim.setFaults({ errorRate: 0, paths: [] });

    // Through the calls the wiring makes (src/protection/), until the controllers make them:
    // the policy controller's recovery point, from the objects as the apiserver has them...
    // The restored pod is protected too (a new uid, so no checkpoint yet): one of it, the way a user takes one.
    const policy = CheckpointPolicy.parse(await getCr(ns.name, 'checkpointpolicies', 'workers'));
    const protectedPods = async () =>
      (await api().core.listNamespacedPod({ namespace: ns.name })).items.map((p) => Pod.parse(p)).filter((p) => matchesSelector(policy.spec.selector, p.metadata.labels));
    const restored = await waitFor(async () => (await protectedPods()).find((p) => p.metadata.name !== 'worker-0'), { what: 'the restored pod', timeoutMs: 60_000 });
    await createCr(ns.name, 'podcheckpoints', 'PodCheckpoint', 'restored-ckpt', { podName: restored.metadata.name });
    await waitFor(async () => (await getCr(ns.name, 'podcheckpoints', 'restored-ckpt')).status?.phase === 'Ready', { what: 'a checkpoint of the restored pod', timeoutMs: 60_000 });
    const pods = await protectedPods();
    const summary = computeRecoveryPoint({ pods, checkpoints: await listCk(), boundMs: policyBoundMs(policy), now: new Date() });
    recordRecoveryPoint(op.metrics, ns.name, 'workers', summary);
    // ...the probe of Cedana with the operator's token (and one with a wrong token says 0)...
    const cedana = (token: string) => new CedanaClient({ baseUrl: sim.url, token, timeoutMs: 2_000 });
    const log = pino({ level: 'silent' });
    const wrong = createMetrics();
    await startCedanaProbe({ cedana: cedana('not-the-token-0000000000'), metrics: wrong, log, signal: probe.signal });
    expect(await wrong.cedanaUp.get()).toMatchObject({ values: [{ value: 0 }] });
    await startCedanaProbe({ cedana: cedana(TOKEN), metrics: op.metrics, log, signal: probe.signal });
    // ...and the eviction webhook's hold, once it exists.
    recordEviction(op.metrics, 'ready', 4);

    const text = await scrape();
    const names = sampled(text);
    const rules = alertsOf(ruleOf(await render(enabled)));
    const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
    const wanted = new Map<string, string>();
    for (const r of rules) for (const n of metricNames(r.expr)) wanted.set(n, `alert ${String(r.alert)}`);
    for (const p of dashboard.panels) for (const t of p.targets ?? []) for (const n of metricNames(t.expr)) wanted.set(n, `panel "${p.title}"`);
    for (const v of dashboard.templating.list) for (const n of metricNames(JSON.stringify(v.query ?? ''))) wanted.set(n, `variable $${v.name}`);
    expect(wanted.size).toBeGreaterThan(15);
    const missing = [...wanted].filter(([n]) => !names.has(n)).map(([n, where]) => `${n} (${where})`);
    expect(missing, `not in the scrape:\n${missing.join('\n')}`).toEqual([]);

    // and the values are the ones the flows above made
    expect(value(text, 'cedana_operator_cedana_up')).toBe(1);
    expect(value(text, 'cedana_operator_leader')).toBe(1);
    expect(value(text, 'cedana_operator_action_duration_seconds_count', { type: 'checkpoint', result: 'ready' })).toBeGreaterThanOrEqual(1);
    expect(value(text, 'cedana_operator_signal_to_checkpoint_requested_seconds_count', { scope: 'node' })).toBeGreaterThanOrEqual(1);
    expect(value(text, 'cedana_operator_evictions_total', { outcome: 'hold-max' })).toBe(0);
    expect(value(text, 'cedana_operator_protected_pods_without_checkpoint', { namespace: ns.name, policy: 'workers' })).toBe(summary.podsWithoutCheckpoint);
    expect(value(text, 'cedana_operator_recovery_point_bound_seconds', { namespace: ns.name, policy: 'workers' })).toBe(7200);
    expect(summary.pods.map((p) => p.checkpoint)).toEqual(['restored-ckpt']);
    expect(value(text, 'cedana_operator_protected_pod_checkpoint_age_seconds', { namespace: ns.name, policy: 'workers' })).toBeLessThan(60);
  });
});
