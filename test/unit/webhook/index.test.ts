// startEvictionWebhook in files mode (cert-manager's Secret mounted): it serves the files, reports
// the certificate's expiry, answers a review through the decision, and closes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../src/kube/client.ts';
import { ensureBundle, serviceSans } from '../../../src/webhook/certs.ts';
import { startEvictionWebhook } from '../../../src/webhook/index.ts';
import { evictionReview } from './fixtures.ts';

describe('startEvictionWebhook', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('files mode: serves the mounted certificate and answers through the decision', async () => {
    const bundle = ensureBundle(undefined, { ...serviceSans('svc', 'ns'), now: Date.now() }).bundle;
    const dir = await mkdtemp(join(tmpdir(), 'webhook-files-'));
    dirs.push(dir);
    await writeFile(join(dir, 'tls.crt'), bundle.tlsCert);
    await writeFile(join(dir, 'tls.key'), bundle.tlsKey);
    const expiries: Date[] = [];
    const wh = startEvictionWebhook({
      config: { webhookBindAddress: '127.0.0.1:0', webhookCertMode: 'files', webhookCertDir: dir, webhookSecretName: 's', webhookServiceName: 'svc', webhookConfigName: 'c' },
      namespace: 'ns',
      // files mode reads nothing from the apiserver
      kube: new KubeClient({ server: 'https://127.0.0.1:1', source: 'test', prepare: () => Promise.resolve({ headers: {}, dispatcher: undefined }), close: () => Promise.resolve() }),
      hold: {
        pod: () => undefined,
        node: () => undefined,
        checkpointsOfPod: () => [],
        ruleFor: () => undefined,
        createEvacuationCheckpoint: () => Promise.reject(new Error('unused')),
        recordEvent: () => undefined,
        onDecision: () => undefined,
        holdMaxMs: 20_000,
        terminatingTaints: [],
        nodeNotReadyGraceMs: 300_000,
        now: Date.now,
        log: pino({ level: 'silent' }),
      },
      log: pino({ level: 'silent' }),
      onCertificate: (notAfter) => expiries.push(notAfter),
    });
    const server = await wh.ready;
    expect(expiries).toHaveLength(1);
    expect(expiries[0]?.getTime()).toBeGreaterThan(Date.now());
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/validate-eviction', method: 'POST', ca: bundle.caBundle }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (s: string) => (text += s));
        res.on('end', () => {
          resolve(text);
        });
      });
      req.on('error', reject);
      req.end(JSON.stringify(evictionReview()));
    });
    expect(JSON.parse(answer)).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: true } });
    await wh.close();
  });
});
