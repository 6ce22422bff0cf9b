import { describe, expect, it } from 'vitest';
import { disruptionRestoreReason } from '../../../src/controllers/pod-protection.ts';

describe('disruptionRestoreReason', () => {
  it.each(['TerminationByKubelet', 'DeletionByTaintManager'])('%s is a node termination', (reason) => {
    expect(disruptionRestoreReason(reason)).toBe('nodeTermination');
  });

  it.each(['PreemptionByScheduler', 'EvictionByEvictionAPI', 'DeletionByPodGC', '', 'terminationbykubelet', undefined])('%j is manual', (reason) => {
    expect(disruptionRestoreReason(reason)).toBe('manual');
  });
});
