import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../../src/api/meta.ts';
import { PodCheckpoint, isJsonObjectString } from '../../../src/api/podcheckpoint.ts';
import { PodRestore } from '../../../src/api/podrestore.ts';

describe('isJsonObjectString', () => {
  it.each(['{}', '{"tcp-established": true}', ' { "a": [1] } '])('accepts %j', (s) => {
    expect(isJsonObjectString(s)).toBe(true);
  });
  it.each(['', 'null', '[]', '[{}]', '"{}"', '42', 'true', '{', "{'a':1}", '{"a":1} x'])('refuses %j', (s) => {
    expect(isJsonObjectString(s)).toBe(false);
  });
});

const meta = { name: 'ckpt-1', namespace: 'shop', uid: 'u1', labels: { a: 'b' }, managedFields: [{ manager: 'kubectl' }] };

describe('PodCheckpoint', () => {
  it('applies the spec defaults and keeps unknown metadata', () => {
    const pc = PodCheckpoint.parse({ apiVersion: API_VERSION, kind: 'PodCheckpoint', metadata: meta, spec: { podName: 'web' } });
    expect(pc.spec).toEqual({ podName: 'web', kind: 'simple', reason: 'manual', deletionPolicy: 'Deprecate' });
    expect(pc.status).toBeUndefined();
    expect(pc.metadata).toEqual(meta);
  });

  it('parses a status with conditions', () => {
    const status = {
      phase: 'Ready',
      actionId: 'a1',
      conditions: [{ type: 'Ready', status: 'True', reason: 'Done', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    };
    const pc = PodCheckpoint.parse({ apiVersion: API_VERSION, kind: 'PodCheckpoint', metadata: meta, spec: { podName: 'web', kind: 'rootfs' }, status });
    expect(pc.spec.kind).toBe('rootfs');
    expect(pc.status).toEqual(status);
  });

  it.each([
    ['an unknown checkpoint kind', { spec: { podName: 'web', kind: 'full' } }],
    ['an unknown deletionPolicy', { spec: { podName: 'web', deletionPolicy: 'Delete' } }],
    ['an empty podName', { spec: { podName: '' } }],
    ['an unknown phase', { spec: { podName: 'web' }, status: { phase: 'Done' } }],
    ['another object kind', { kind: 'PodRestore', spec: { podName: 'web' } }],
    ['another apiVersion', { apiVersion: 'cedana.ai/v1', spec: { podName: 'web' } }],
  ])('refuses %s', (_what, patch) => {
    expect(PodCheckpoint.safeParse({ apiVersion: API_VERSION, kind: 'PodCheckpoint', metadata: meta, ...patch }).success).toBe(false);
  });
});

describe('PodRestore', () => {
  const actionId = '3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b';

  it('applies the default reason', () => {
    const pr = PodRestore.parse({ apiVersion: API_VERSION, kind: 'PodRestore', metadata: meta, spec: { checkpointRef: { name: 'ckpt-1' } } });
    expect(pr.spec).toEqual({ checkpointRef: { name: 'ckpt-1' }, reason: 'manual' });
    const byId = PodRestore.parse({ apiVersion: API_VERSION, kind: 'PodRestore', metadata: meta, spec: { actionId, reason: 'nodeTermination', podName: 'web-2' } });
    expect(byId.spec).toEqual({ actionId, reason: 'nodeTermination', podName: 'web-2' });
  });

  it.each([
    ['an unknown reason', { spec: { actionId, reason: 'whim' } }],
    ['an actionId that is not a uuid', { spec: { actionId: 'not-a-uuid' } }],
    ['another object kind', { kind: 'PodCheckpoint', spec: { actionId } }],
    ['an unknown phase', { spec: { actionId }, status: { phase: 'Ready' } }],
  ])('refuses %s', (_what, patch) => {
    expect(PodRestore.safeParse({ apiVersion: API_VERSION, kind: 'PodRestore', metadata: meta, ...patch }).success).toBe(false);
  });
});
