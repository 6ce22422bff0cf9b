// The benchmark itself keeps working (a smoke run, N = 5; no timing is asserted): it starts its own
// control plane, the operator and the simulator as their own processes, prints one JSON object whose
// figures add up, takes exactly one Cedana checkpoint per pod, and leaves no server or process behind.
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
      operatorProcess: string;
      goals: Record<string, { ratio: number; limit_ms?: number; measured_ms?: number; limit?: number; measured?: number }>;
      cedanaCallsPerCheckpoint: Record<string, number>;
      cedanaActionsPerPod: { min: number; max: number; pods: number };
      eventsPerCheckpoint: number;
      cpuSecondsDuringRun: { operator: number | null; operatorPerCheckpoint_ms: number | null };
    };
    expect(r).toMatchObject({ N: 5, L_ms: 5, C: 4, bound_ms: 6.25 });
    expect(r.toPostAccepted.p50_ms).toBeGreaterThan(0);
    expect(r.toPostAccepted.p50_ms).toBeLessThanOrEqual(r.toPostAccepted.p99_ms);
    expect(r.toPostAccepted.p99_ms).toBeLessThanOrEqual(r.toPostAccepted.total_ms);
    expect(r.toReady.total_ms).toBeGreaterThanOrEqual(r.toPostAccepted.total_ms);
    expect(r.ratio).toBeCloseTo(r.toPostAccepted.total_ms / r.bound_ms, 1);
    expect(r.cedanaCallsPerCheckpoint['POST /v2/checkpoint/pod']).toBe(1);
    expect(r.cedanaActionsPerPod).toEqual({ min: 1, max: 1, pods: 5 });
    expect(r.operatorProcess).toBe('separate');
    // each goal's ratio is its measured figure over its limit
    for (const g of Object.values(r.goals)) {
      const [measured, limit] = g.limit_ms !== undefined ? [g.measured_ms ?? NaN, g.limit_ms] : [g.measured ?? NaN, g.limit ?? NaN];
      expect(g.ratio).toBeCloseTo(measured / limit, 1);
    }
    expect(r.eventsPerCheckpoint).toBeGreaterThanOrEqual(0);
    expect(r.cpuSecondsDuringRun.operator).toBeGreaterThan(0);
    expect(r.cpuSecondsDuringRun.operatorPerCheckpoint_ms).toBeCloseTo(((r.cpuSecondsDuringRun.operator ?? 0) * 1000) / 5, 0);
    // the operator and the simulator it started are gone: their pids were printed
    const pids = [...stderr.matchAll(/(?:operator|simulator) \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    expect(pids, stderr).toHaveLength(2);
    for (const pid of pids) {
      expect(() => process.kill(pid, 0), `pid ${String(pid)} still running`).toThrow();
    }
    // its control plane is gone: the state directory it named is removed
    const dir = /local-cluster: down: stopped and removed (\S+)/.exec(stderr)?.[1];
    expect(dir, stderr).toBeDefined();
    expect(existsSync(dir ?? '/')).toBe(false);
  });
});
