// The eviction webhook in one call, for the operator's wiring: the decision over the caches, the
// HTTPS server, and its certificate (the operator's own, or files such as cert-manager's). It runs
// on every replica, leader or not. A certificate that cannot be had yet (the Secret not readable,
// the apiserver away) is retried in the background: until then the apiserver cannot reach the
// webhook and, failurePolicy Ignore, lets evictions through; the operator itself starts regardless.
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { KubeClient } from '../kube/client.ts';
import { SelfManagedCerts, type KeyPair } from './certs.ts';
import { EvictionHold, type EvictionHoldDeps } from './eviction-hold.ts';
import { startWebhookServer, type RunningWebhookServer } from './server.ts';

export { EvictionHold, type EvictionHoldDeps } from './eviction-hold.ts';

export interface EvictionWebhookOptions {
  config: Pick<Config, 'webhookBindAddress' | 'webhookCertMode' | 'webhookCertDir' | 'webhookSecretName' | 'webhookServiceName' | 'webhookConfigName'>;
  /** The operator's own namespace (POD_NAMESPACE): the Secret of self mode lives there. */
  namespace: string;
  kube: KubeClient;
  hold: EvictionHoldDeps;
  log: Logger;
  /** Each certificate served, e.g. recordWebhookCertificate(metrics, notAfter). */
  onCertificate?: (notAfter: Date) => void;
}

export interface RunningEvictionWebhook {
  /** Resolves once the server listens (in self mode, once the certificate was had). */
  ready: Promise<RunningWebhookServer>;
  close(): Promise<void>;
}

export function startEvictionWebhook(o: EvictionWebhookOptions): RunningEvictionWebhook {
  const log = o.log.child({ component: 'eviction-webhook' });
  const hold = new EvictionHold(o.hold);
  const stopped = new AbortController();
  let server: RunningWebhookServer | undefined;
  let certs: SelfManagedCerts | undefined;
  const served = (pair: KeyPair): void => {
    try {
      o.onCertificate?.(new Date(new X509Certificate(pair.cert).validTo));
    } catch (err) {
      log.warn({ err }, 'the served certificate does not parse');
    }
  };
  const serve = (certificate: KeyPair | undefined) =>
    startWebhookServer({
      bindAddress: o.config.webhookBindAddress,
      ...(certificate ? { certificate } : { certDir: o.config.webhookCertDir }),
      decide: (ev) => hold.decide(ev),
      log,
    });

  const ready = (async (): Promise<RunningWebhookServer> => {
    if (o.config.webhookCertMode === 'files') {
      server = await serve(undefined);
      const pem = server.currentCertificate();
      if (pem) served({ cert: pem, key: '' });
      return server;
    }
    certs = new SelfManagedCerts({
      kube: o.kube,
      namespace: o.namespace,
      secretName: o.config.webhookSecretName,
      serviceName: o.config.webhookServiceName,
      webhookConfigName: o.config.webhookConfigName,
      onCertificate: (pair) => {
        served(pair);
        try {
          server?.setCertificate(pair);
        } catch (err) {
          log.error({ err }, 'the new webhook certificate does not load; serving the old one');
        }
      },
      log,
    });
    for (let attempt = 0; ; attempt++) {
      try {
        const bundle = await certs.start();
        if (stopped.signal.aborted) {
          certs.stop();
          throw new Error('stopped');
        }
        server = await serve({ cert: bundle.tlsCert, key: bundle.tlsKey });
        return server;
      } catch (err) {
        if (stopped.signal.aborted) throw err;
        const delay = Math.min(30_000, 1_000 * 2 ** attempt);
        log.error({ err, retryInMs: delay, secret: `${o.namespace}/${o.config.webhookSecretName}` }, 'no webhook certificate yet; evictions are not held until there is one');
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  })();
  ready.catch(() => undefined); // a stop before the start finished is not an error

  return {
    ready,
    async close() {
      stopped.abort();
      certs?.stop();
      await server?.close();
    },
  };
}
