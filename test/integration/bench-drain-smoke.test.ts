// The drain benchmark keeps working (a smoke run, N = 3; no timing is asserted): its own control
// plane, the operator with its eviction webhook and the simulator as their own processes, the built
// kubectl drain; one JSON object whose figures agree with each other, every eviction held until its
// checkpoint was taken, exactly one Cedana checkpoint action per pod, and nothing left behind.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './harness/cluster.ts';

const run = promisify(execFile);

interface Summary {
  min_ms: number;
  p50_ms: number;
  max_ms: number;
}

describe('bench/drain.ts', () => {
  it('prints the figures of a drain of N = 3 protected pods and stops everything it started', { timeout: 240_000 }, async () => {
    const { stdout, stderr } = await run(process.execPath, [join(repoRoot, 'bench/drain.ts'), '--n', '3', '--latency-ms', '5', '--timeout-s', '120'], {
      cwd: repoRoot,
      maxBuffer: 1 << 24,
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0] ?? '') as {
      N: number;
      L_ms: number;
      operatorProcess: string;
      drainToLastEvictionAllowed_ms: number;
      simulatorCheckpoints_ms: number;
      ratio: number;
      drainExit_ms: number;
      drainExitCode: number;
      holdAddedToDrain_ms: number;
      baselineUnprotected: { drainToLastEvictionAllowed_ms: number; drainExit_ms: number; evictions: Record<string, number> };
      simulator: { firstPostAccepted_ms: number; lastCheckpointCompleted_ms: number; actionsNotCompleted: string[] };
      evictionAllowedSinceDrain: Summary;
      podsEvictedBeforeTheirCheckpoint: number;
      podCheckpointsFailed: number;
      evictions: Record<string, number>;
      evictionsHeld: number;
      evictionsAllowed: number;
      cedanaActionsPerPod: { min: number; max: number; pods: number };
      podCheckpointsPerPod: { min: number; max: number };
      duplicateExamples: unknown[];
    };
    expect(r).toMatchObject({ N: 3, L_ms: 5, operatorProcess: 'separate', drainExitCode: 0 });
    // the headline figures agree with each other
    expect(r.drainToLastEvictionAllowed_ms).toBe(r.evictionAllowedSinceDrain.max_ms);
    expect(r.evictionAllowedSinceDrain.min_ms).toBeLessThanOrEqual(r.evictionAllowedSinceDrain.p50_ms);
    expect(r.evictionAllowedSinceDrain.p50_ms).toBeLessThanOrEqual(r.evictionAllowedSinceDrain.max_ms);
    expect(r.drainExit_ms).toBeGreaterThanOrEqual(r.drainToLastEvictionAllowed_ms);
    expect(r.simulatorCheckpoints_ms).toBeCloseTo(r.simulator.lastCheckpointCompleted_ms - r.simulator.firstPostAccepted_ms, 0);
    expect(r.simulatorCheckpoints_ms).toBeGreaterThan(0);
    expect(r.ratio).toBeCloseTo(r.drainToLastEvictionAllowed_ms / r.simulatorCheckpoints_ms, 1);
    expect(r.simulator.actionsNotCompleted).toEqual([]);
    // the baseline: N unprotected pods of another node, allowed at once
    expect(r.baselineUnprotected.evictions).toMatchObject({ unprotected: 3, held: 0 });
    expect(r.baselineUnprotected.drainExit_ms).toBeGreaterThanOrEqual(r.baselineUnprotected.drainToLastEvictionAllowed_ms);
    expect(r.holdAddedToDrain_ms).toBeCloseTo(r.drainToLastEvictionAllowed_ms - r.baselineUnprotected.drainToLastEvictionAllowed_ms, 0);
    // the hold: every pod left after its checkpoint was taken; each was held once at least, then allowed as Ready
    expect(r.podsEvictedBeforeTheirCheckpoint).toBe(0);
    expect(r.podCheckpointsFailed).toBe(0);
    expect(r.evictionsAllowed).toBe(3);
    expect(r.evictions.ready).toBe(3);
    expect(r.evictionsHeld).toBe(r.evictions.held);
    expect(r.evictionsHeld).toBeGreaterThanOrEqual(1);
    // one PodCheckpoint and exactly one Cedana checkpoint action per pod
    expect(r.podCheckpointsPerPod).toEqual({ min: 1, max: 1 });
    expect(r.cedanaActionsPerPod, JSON.stringify(r.duplicateExamples)).toEqual({ min: 1, max: 1, pods: 3 });
    // the operator, the simulator and both kubectl drains are gone: their pids were printed
    const pids = [...stderr.matchAll(/(?:operator|simulator|kubectl drain \S+) \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    expect(pids, stderr).toHaveLength(4); // the operator, the simulator, the baseline's drain and the measured one
    for (const pid of pids) {
      expect(() => process.kill(pid, 0), `pid ${String(pid)} still running`).toThrow();
    }
    const dir = /local-cluster: down: stopped and removed (\S+)/.exec(stderr)?.[1];
    expect(dir, stderr).toBeDefined();
    expect(existsSync(dir ?? '/')).toBe(false);
  });
});
