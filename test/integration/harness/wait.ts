// Polling for conditions the cluster reaches asynchronously. Free of vitest imports, so the global
// setup (which runs outside the test workers) can use it too.
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Names the awaited condition in the timeout error: "pod ns/x to be Running". */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Calls `fn` until it returns something other than undefined, null or false, and returns that.
 * Errors thrown by `fn` count as "not yet" (the API may not serve a new resource at once); the last
 * one is part of the timeout error, next to what was awaited.
 */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, { what, timeoutMs = 30_000, intervalMs = 250 }: WaitOptions): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  let lastError: unknown = undefined;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
      last = v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const why = lastError !== undefined ? `; last error: ${describe(lastError)}` : `; last result: ${describe(last)}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}

function describe(v: unknown): string {
  if (v instanceof Error) return v.message;
  if (typeof v === 'string') return v;
  try {
    // JSON.stringify gives undefined for undefined and functions, whatever its type says.
    const json = JSON.stringify(v) as string | undefined;
    return json ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
