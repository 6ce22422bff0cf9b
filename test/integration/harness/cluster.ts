// Helpers for integration tests against the control plane that global-setup.ts started (or the one
// KUBECONFIG_EXTERNAL names).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { waitFor } from './wait.ts';
import { loadKubeAccess, type KubeAccess } from '../../../src/kube/access.ts';

export { waitFor, type WaitOptions } from './wait.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** True when the tests run against a cluster they did not start (KUBECONFIG_EXTERNAL). */
export const externalCluster = (process.env.KUBECONFIG_EXTERNAL ?? '') !== '';

export function kubeconfigPath(): string {
  return inject('kubeconfig');
}

/** A fresh KubeConfig for the test cluster (admin credentials). */
export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

let access: KubeAccess | undefined;
/** The operator's own access to the test cluster (access.ts, as in production), one per test file. */
export function kubeAccess(): KubeAccess {
  access ??= loadKubeAccess(kubeconfigPath());
  return access;
}

/** The operator's access (access.ts) with the credentials of `kc`, through a kubeconfig file as a user would give it. */
export function kubeAccessFor(kc: KubeConfig): KubeAccess {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  try {
    return loadKubeAccess(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Kubernetes release pinned in test/controlplane/go.mod, e.g. "v1.36.3". */
export function pinnedKubernetesVersion(): string {
  const gomod = readFileSync(join(repoRoot, 'test/controlplane/go.mod'), 'utf8');
  const m = /^\s*(?:require\s+)?k8s\.io\/kubernetes (v\d+\.\d+\.\d+\S*)/m.exec(gomod);
  if (m?.[1] === undefined) throw new Error('test/controlplane/go.mod does not require k8s.io/kubernetes');
  return m[1];
}

/** The HTTP status and the apiserver's Status message of a failed API call, else undefined. */
export function apiError(err: unknown): { code: number; message: string } | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  let message = typeof body === 'string' ? body : JSON.stringify(body);
  try {
    const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string') {
      message = parsed.message;
    }
  } catch {
    // not JSON: keep the raw body
  }
  return { code: err.code, message };
}

/** The apiserver's message refusing a create that must fail validation (422 Unprocessable Entity). */
export async function refusal(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    const e = apiError(err);
    if (e?.code !== 422) throw new Error(`expected the apiserver to refuse with 422, got ${e ? String(e.code) : String(err)}`);
    return e.message;
  }
  throw new Error('the apiserver accepted an invalid object');
}

export function isNotFound(err: unknown): boolean {
  return apiError(err)?.code === 404;
}

export interface TestNamespace {
  name: string;
  /** Deletes the namespace; with `wait`, until the namespace controller has removed it. */
  cleanup: (opts?: { wait?: boolean }) => Promise<void>;
}

/**
 * Creates a namespace with a unique name from `prefix` (DNS-1123), labelled as a test namespace.
 * Waits for its `default` service account: the ServiceAccount admission plugin refuses pods until
 * the controller manager has made it.
 */
export async function createTestNamespace(prefix: string, { waitForServiceAccount = true }: { waitForServiceAccount?: boolean } = {}): Promise<TestNamespace> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const base = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  const name = `${base === '' ? 'test' : base}-${randomBytes(4).toString('hex')}`;
  await core.createNamespace({
    body: { metadata: { name, labels: { 'cedana.ai/integration-test': 'true' } } },
  });
  if (waitForServiceAccount) {
    await waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace: name }), {
      what: `service account ${name}/default`,
      timeoutMs: 30_000,
    });
  }
  const cleanup = async ({ wait = false }: { wait?: boolean } = {}): Promise<void> => {
    try {
      await core.deleteNamespace({ name, propagationPolicy: 'Background' });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (wait) {
      await waitFor(
        async () => {
          try {
            await core.readNamespace({ name });
            return false;
          } catch (err) {
            if (isNotFound(err)) return true;
            throw err;
          }
        },
        { what: `namespace ${name} to be deleted`, timeoutMs: 90_000, intervalMs: 500 },
      );
    }
  };
  return { name, cleanup };
}
