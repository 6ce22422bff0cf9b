// Exponential backoff with full jitter, shared by watches, the work queue and polling.
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** The un-jittered delay for the n-th consecutive failure (n from 0): base·2ⁿ, capped. */
export const exponentialDelay = (policy: BackoffPolicy, n: number): number => Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n, 52));

/** Full jitter (AWS architecture blog): uniformly in [d/2, d], so retries of many keys spread out. */
export const jittered = (delayMs: number, random: () => number = Math.random): number => delayMs / 2 + random() * (delayMs / 2);

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
