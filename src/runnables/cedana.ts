// Cedana's side of start-up and readiness: the token checked once before anything starts, and a
// probe on every replica that keeps cedana_operator_cedana_up and readiness current.
import type { Logger } from 'pino';
import type { CedanaClient } from '../cedana/client.ts';
import { CedanaApiError } from '../cedana/errors.ts';
import type { Manager, Runnable } from '../kube/manager.ts';
import type { Metrics } from '../metrics.ts';
import { startCedanaProbe } from '../protection/operations.ts';

/** Start-up refused: the operator cannot work as configured (one clear line, no stack). */
export class StartupError extends Error {
  override name = 'StartupError';
}

/**
 * GET /v2/user once before anything starts: a token Cedana rejects stops start-up with one line (a
 * Deployment then shows it in CrashLoopBackOff). Cedana unreachable does not: the probe below keeps
 * the gauge and the log, and work is retried with backoff.
 */
export async function checkToken(cedana: CedanaClient, log: Logger): Promise<void> {
  try {
    const user = await cedana.getUser({ signal: AbortSignal.timeout(5_000) });
    log.info({ cedana: cedana.baseUrl, user }, 'Cedana token accepted');
  } catch (err) {
    if (err instanceof CedanaApiError && err.isTokenRejected)
      throw new StartupError(`Cedana at ${cedana.baseUrl} rejects the token (GET /v2/user: ${err.message}); check CEDANA_AUTH_TOKEN or the token file`);
    log.warn({ err, cedana: cedana.baseUrl }, 'Cedana did not answer the start-up token check; starting anyway, work is retried');
  }
}

/**
 * GET /v2/user every 30 s on every replica (cedana_operator_cedana_up). A token rejected later (a
 * rotation gone wrong) keeps this replica unready rather than stopping it: the running operator
 * keeps its caches and resumes as soon as the Secret is fixed.
 */
export function cedanaProbe(cedana: CedanaClient, metrics: Metrics, log: Logger, mgr: Manager): Runnable {
  const stop = new AbortController();
  let tokenRejected = false;
  mgr.addReadyCheck('cedana-token', () => !tokenRejected);
  return {
    name: 'cedana-probe',
    needLeaderElection: false,
    start: () =>
      startCedanaProbe({
        cedana,
        metrics,
        log,
        signal: stop.signal,
        onResult: (r) => {
          tokenRejected = r.tokenRejected;
        },
      }),
    stop: () => {
      stop.abort();
      return Promise.resolve();
    },
  };
}
