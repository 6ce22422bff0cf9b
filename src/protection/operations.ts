// The operational metrics the alerts read that no reconciler records by itself: evictions the webhook
// held or allowed, the webhook's certificate expiry, and whether Cedana answers with our token. Each
// is one call for whoever owns the event (docs/operations.md).
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

/** One eviction answered. `heldSinceMs`: when this pod's first held eviction came (allowed outcomes only). */
export function recordEviction(metrics: Metrics, outcome: EvictionOutcome, heldSinceMs?: number, nowMs = Date.now()): void {
  metrics.evictions.inc({ outcome });
  if (outcome !== 'held' && heldSinceMs !== undefined) metrics.evictionHold.observe({ outcome }, Math.max(0, nowMs - heldSinceMs) / 1000);
}

/** The serving certificate now in use: its NotAfter. Call on every load or rotation. */
export function recordWebhookCertificate(metrics: Metrics, notAfter: Date): void {
  metrics.webhookCertificateExpiry.set(Math.floor(notAfter.getTime() / 1000));
}

export interface CedanaProbeOptions {
  cedana: Pick<CedanaClient, 'getUser'>;
  metrics: Metrics;
  log: Logger;
  /** Between two probes. */
  intervalMs?: number;
  /** Stops the probe. */
  signal: AbortSignal;
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
    try {
      await o.cedana.getUser({ signal: o.signal });
      up = true;
    } catch (err) {
      if (o.signal.aborted) return;
      why = err instanceof CedanaApiError ? err.message : String(err);
    }
    o.metrics.cedanaUp.set(up ? 1 : 0);
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
