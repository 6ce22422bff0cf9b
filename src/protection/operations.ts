// The operational metrics the alerts read that no reconciler records by itself: evictions the webhook
// held or allowed, the webhook's certificate expiry, and whether Cedana answers with our token. Each
// is one call for whoever owns the event (docs/operations.md).
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { CedanaClient } from '../cedana/client.ts';
import { CedanaApiError } from '../cedana/errors.ts';
import type { Metrics } from '../metrics.ts';

/**
 * What the eviction webhook answered: `held` is one 429; the others allow the eviction — the
 * checkpoint is `ready`, the hold reached `--eviction-hold-max` (`hold-max`), the checkpoint
 * `failed`, or the pod is `unprotected`.
 */
export const EVICTION_OUTCOMES = ['held', 'ready', 'hold-max', 'failed', 'unprotected'] as const;
export type EvictionOutcome = (typeof EVICTION_OUTCOMES)[number];

/**
 * One eviction answered, in the shape of the webhook's onDecision (src/webhook/eviction-hold.ts):
 * holdSeconds is how long this pod's evictions were held, for the outcomes that allow one.
 */
export function recordEviction(metrics: Metrics, outcome: EvictionOutcome, holdSeconds?: number): void {
  metrics.evictions.inc({ outcome });
  if (outcome !== 'held' && holdSeconds !== undefined) metrics.evictionHold.observe({ outcome }, Math.max(0, holdSeconds));
}

/** The serving certificate in use (a Date, or its PEM): its NotAfter. undefined: none, 0. */
export function recordWebhookCertificate(metrics: Metrics, cert: Date | string | undefined): void {
  const notAfter = cert === undefined ? undefined : typeof cert === 'string' ? new X509Certificate(cert).validToDate : cert;
  metrics.webhookCertificateExpiry.set(notAfter === undefined ? 0 : Math.floor(notAfter.getTime() / 1000));
}

/**
 * Keeps the expiry gauge on the certificate served now (e.g. the webhook server's
 * currentCertificate), now and every intervalMs, so that rotations need no call of their own.
 */
export function watchWebhookCertificate(metrics: Metrics, current: () => string | undefined, signal: AbortSignal, intervalMs = 60_000): void {
  const look = (): void => {
    try {
      recordWebhookCertificate(metrics, current());
    } catch {
      // An unreadable certificate is none: the gauge goes to 0, it never claims a validity.
      recordWebhookCertificate(metrics, undefined);
    }
  };
  look();
  const timer = setInterval(look, intervalMs);
  timer.unref();
  signal.addEventListener(
    'abort',
    () => {
      clearInterval(timer);
    },
    { once: true },
  );
}

export interface CedanaProbeOptions {
  cedana: Pick<CedanaClient, 'getUser'>;
  metrics: Metrics;
  log: Logger;
  /** Between two probes. */
  intervalMs?: number;
  /** Stops the probe. */
  signal: AbortSignal;
  /** Each probe's outcome: `tokenRejected` (401) is what keeps the operator unready. */
  onResult?: (r: { up: boolean; tokenRejected: boolean }) => void;
}

/**
 * Probes Cedana with GET /v2/user (the call that checks a token) now and every intervalMs, and sets
 * cedana_operator_cedana_up: 1 when it answers, 0 on a rejected token, a 5xx, a timeout or no
 * connection. Resolves after the first probe, so that the gauge is never 0 only for want of a probe.
 */
export async function startCedanaProbe(o: CedanaProbeOptions): Promise<void> {
  const intervalMs = o.intervalMs ?? 30_000;
  let last: boolean | undefined;
  const probe = async (): Promise<void> => {
    let up = false;
    let why = '';
    let tokenRejected = false;
    try {
      await o.cedana.getUser({ signal: o.signal });
      up = true;
    } catch (err) {
      if (o.signal.aborted) return;
      why = err instanceof CedanaApiError ? err.message : String(err);
      tokenRejected = err instanceof CedanaApiError && err.isTokenRejected;
    }
    o.metrics.cedanaUp.set(up ? 1 : 0);
    o.onResult?.({ up, tokenRejected });
    // Log transitions only: a probe every 30 s must not fill the log while Cedana is down.
    if (last !== up && up) o.log.info('Cedana API reachable, token accepted');
    if (last !== up && !up) o.log.warn({ reason: why }, 'Cedana API unreachable or token rejected');
    last = up;
  };
  await probe();
  const timer = setInterval(() => {
    void probe();
  }, intervalMs);
  timer.unref();
  o.signal.addEventListener(
    'abort',
    () => {
      clearInterval(timer);
    },
    { once: true },
  );
}
