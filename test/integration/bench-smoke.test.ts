// The benchmark itself keeps working (a smoke run, N = 5; no timing is asserted): it starts its own
// control plane, prints one JSON object whose figures add up, takes exactly one Cedana checkpoint per
// pod, and leaves no server behind.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './harness/cluster.ts';

const run = promisify(execFile);

describe('bench/termination.ts', () => {
  it('prints the figures of a run with N = 5 and stops everything it started', { timeout: 180_000 }, async () => {
    const { stdout, stderr } = await run(process.execPath, [join(repoRoot, 'bench/termination.ts'), '--n', '5', '--latency-ms', '5', '--concurrency', '4', '--timeout-s', '120'], {
      cwd: repoRoot,
      maxBuffer: 1 << 24,
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0] ?? '') as {
      N: number;
      L_ms: number;
      C: number;
      toPostAccepted: { p50_ms: number; p99_ms: number; total_ms: number };
      toReady: { total_ms: number };
      bound_ms: number;
      ratio: number;
      cedanaCallsPerCheckpoint: Record<string, number>;
    };
    expect(r).toMatchObject({ N: 5, L_ms: 5, C: 4, bound_ms: 6.25 });
    expect(r.toPostAccepted.p50_ms).toBeGreaterThan(0);
    expect(r.toPostAccepted.p50_ms).toBeLessThanOrEqual(r.toPostAccepted.p99_ms);
    expect(r.toPostAccepted.p99_ms).toBeLessThanOrEqual(r.toPostAccepted.total_ms);
    expect(r.toReady.total_ms).toBeGreaterThanOrEqual(r.toPostAccepted.total_ms);
    expect(r.ratio).toBeCloseTo(r.toPostAccepted.total_ms / r.bound_ms, 1);
    expect(r.cedanaCallsPerCheckpoint['POST /v2/checkpoint/pod']).toBe(1);
    // its control plane is gone: the state directory it named is removed
    const dir = /local-cluster: down: stopped and removed (\S+)/.exec(stderr)?.[1];
    expect(dir, stderr).toBeDefined();
    expect(existsSync(dir ?? '/')).toBe(false);
  });
});
