// The Kubernetes clients share their TLS connections: client-node alone opens one per request.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { makeClients } from '../../../src/kube/client-node.ts';
import { LOOPBACK_CERT, send, startStub, type StubServer } from '../cedana/stub-server.ts';

let stub: StubServer | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

const emptyPodList = { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '1' }, items: [] };

function kubeConfigFor(server: string, user: Record<string, unknown> = { name: 'u', token: 'tok' }): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, caData: Buffer.from(LOOPBACK_CERT).toString('base64'), skipTLSVerify: false }],
    users: [user],
    contexts: [{ name: 'ctx', cluster: 'c', user: String(user.name) }],
    currentContext: 'ctx',
  });
  return kc;
}

describe('makeClients', () => {
  it('sends every call over the same TLS connections, each still with its credentials', async () => {
    stub = await startStub(
      (_req, res) => {
        send(res, 200, emptyPodList);
      },
      { tls: true },
    );
    const { core, custom } = makeClients(kubeConfigFor(stub.url));
    for (let i = 0; i < 10; i++) await core.listNamespacedPod({ namespace: 'default' });
    await custom.listNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', plural: 'podcheckpoints', namespace: 'default' });
    expect(stub.seen).toHaveLength(11);
    for (const s of stub.seen) expect(s.headers.authorization).toBe('Bearer tok');
    // undici itself opens a second socket after the first TLS one (a bare undici Agent does the same
    // against this server); from then on every call reuses them.
    expect(stub.connections()).toBeLessThanOrEqual(2);
  });

  it('without it, client-node opens a connection per call (what this guards against)', async () => {
    stub = await startStub(
      (_req, res) => {
        send(res, 200, emptyPodList);
      },
      { tls: true },
    );
    const core = kubeConfigFor(stub.url).makeApiClient(CoreV1Api);
    for (let i = 0; i < 4; i++) await core.listNamespacedPod({ namespace: 'default' });
    expect(stub.connections()).toBe(4);
  });

  it('leaves a user whose credentials come from an exec plugin to client-node', async () => {
    stub = await startStub(
      (_req, res) => {
        send(res, 200, emptyPodList);
      },
      { tls: true },
    );
    const exec = {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: 'sh',
      args: ['-c', `printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}'`],
      interactiveMode: 'Never',
    };
    const { core } = makeClients(kubeConfigFor(stub.url, { name: 'e', exec }));
    for (let i = 0; i < 2; i++) await core.listNamespacedPod({ namespace: 'default' });
    expect(stub.seen.map((s) => s.headers.authorization)).toEqual(['Bearer from-exec', 'Bearer from-exec']);
    expect(stub.connections()).toBe(2);
  });
});
