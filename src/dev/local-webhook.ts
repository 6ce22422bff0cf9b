// The eviction webhook on a local control plane (the demo, the integration tier): the apiserver
// runs outside any cluster network, so the ValidatingWebhookConfiguration names the operator's
// loopback URL instead of the Service the chart renders. Everything else is the chart's: CREATE of
// pods/eviction, failurePolicy Ignore, 5 s, NoneOnDryRun; the operator patches in its CA bundle.
import { createServer } from 'node:net';
import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { VALIDATE_EVICTION_PATH } from '../webhook/server.ts';

/** A free port on 127.0.0.1 (bound, read, released: the caller binds it next). */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

export interface LocalWebhookOptions {
  /** The ValidatingWebhookConfiguration's name: the operator's --webhook-config-name. */
  name: string;
  port: number;
  /** Only evictions in these namespaces reach the webhook (tests share one control plane). */
  namespaces?: string[];
}

export async function createLocalEvictionWebhook(kc: KubeConfig, o: LocalWebhookOptions): Promise<() => Promise<void>> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  await api.createValidatingWebhookConfiguration({
    body: {
      metadata: { name: o.name },
      webhooks: [
        {
          name: 'eviction-hold.cedana.ai',
          clientConfig: { url: `https://127.0.0.1:${String(o.port)}${VALIDATE_EVICTION_PATH}` },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/eviction'], scope: 'Namespaced' }],
          ...(o.namespaces ? { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: o.namespaces }] } } : {}),
          failurePolicy: 'Ignore',
          matchPolicy: 'Equivalent',
          sideEffects: 'NoneOnDryRun',
          timeoutSeconds: 5,
          admissionReviewVersions: ['v1'],
        },
      ],
    },
  });
  return async () => {
    await api.deleteValidatingWebhookConfiguration({ name: o.name }).catch(() => undefined);
  };
}
