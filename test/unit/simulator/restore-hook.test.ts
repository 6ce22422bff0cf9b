// The Kubernetes side plugs in through hooks: onRestoreReady runs once per pod restore, and the
// restore reports `ready` only after it did its work.
import { describe, expect, it, vi } from 'vitest';
import type { SimulatorHooks } from '../../../src/simulator/index.ts';
import { harness, podBody } from './helpers.ts';

type ReadyArgs = Parameters<NonNullable<SimulatorHooks['onRestoreReady']>>[0];

describe('onRestoreReady', () => {
  it('fires exactly once, with the uploaded pod spec and the restored pod name', async () => {
    const calls: ReadyArgs[] = [];
    const h = await harness({ hooks: { onRestoreReady: (r) => Promise.resolve(void calls.push(r)) } });
    const checkpoint = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    await h.api.post('/v2/actions/upload', { action_id: checkpoint, status: 'initialized', pod_id: 'pod-uid-1', pod_spec: { containers: [{ name: 'c' }] }, pod_metadata_spec: { name: 'trainer-0' } });
    h.clock.advance(3000);
    const restore = (await h.api.post('/v2/restore/pod', { action_id: checkpoint, reason: 'nodeTermination' })).text;
    h.clock.advance(2999);
    expect((await h.api.get(`/v2/checkpoint/status/${restore}`)).json).toEqual({ status: 'checkpoint_created', details: null });
    expect(calls).toHaveLength(0);
    h.clock.advance(1);
    expect((await h.api.get(`/v2/checkpoint/status/${restore}`)).json).toEqual({ status: 'ready', details: null });
    for (let i = 0; i < 5; i++) await h.api.get(`/v2/checkpoint/status/${restore}`);
    await h.api.get('/v2/actions');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      restoreActionId: restore,
      checkpointActionId: checkpoint,
      podName: 'trainer-0-restored',
      reason: 'nodeTermination',
      upload: { status: 'initialized', podId: 'pod-uid-1', podSpec: { containers: [{ name: 'c' }] }, podMetadataSpec: { name: 'trainer-0' } },
    });
  });

  it('fires without anyone polling (the periodic sweep), and uses overrides.pod_name', async () => {
    const onRestoreReady = vi.fn((_r: ReadyArgs) => Promise.resolve());
    const h = await harness({ stepMs: 20, hooks: { onRestoreReady } });
    const checkpoint = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    h.clock.advance(60);
    await h.api.post('/v2/restore/pod', { action_id: checkpoint, reason: 'manual', overrides: { pod_name: 'elsewhere' } });
    h.clock.advance(60);
    await vi.waitFor(() => {
      expect(onRestoreReady).toHaveBeenCalledTimes(1);
    });
    expect(onRestoreReady.mock.calls[0]?.[0]).toMatchObject({ podName: 'elsewhere', upload: undefined });
  });

  it('holds the restore at checkpoint_created while the hook runs, and ends it in error when the hook fails', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let n = 0;
    const h = await harness({
      hooks: {
        onRestoreReady: async () => {
          n++;
          if (n === 1) await gate;
          else throw new Error('pod trainer-0-restored already exists');
        },
      },
    });
    const checkpoint = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    h.clock.advance(3000);
    const slow = (await h.api.post('/v2/restore/pod', { action_id: checkpoint, reason: 'manual' })).text;
    const failing = (await h.api.post('/v2/restore/pod', { action_id: checkpoint, reason: 'manual' })).text;
    h.clock.advance(3000);
    expect((await h.api.get(`/v2/checkpoint/status/${failing}`)).json).toEqual({ status: 'error', details: 'restore failed: pod trainer-0-restored already exists' });
    expect((await h.api.get(`/v2/checkpoint/status/${slow}`)).json).toEqual({ status: 'checkpoint_created', details: null });
    release();
    expect((await h.api.get(`/v2/checkpoint/status/${slow}`)).json).toEqual({ status: 'ready', details: null });
    expect(n).toBe(2);
  });

  it('is not called for a restore doomed by fault injection', async () => {
    const onRestoreReady = vi.fn(() => Promise.resolve());
    const h = await harness({ hooks: { onRestoreReady } });
    const checkpoint = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    h.clock.advance(3000);
    h.sim.setFaults({ failNextActions: 1 });
    const restore = (await h.api.post('/v2/restore/pod', { action_id: checkpoint, reason: 'manual' })).text;
    h.clock.advance(3000);
    expect((await h.api.get(`/v2/checkpoint/status/${restore}`)).json).toMatchObject({ status: 'error' });
    expect(onRestoreReady).not.toHaveBeenCalled();
  });
});
