// The simulator tells the truth about a pod that goes away: a checkpoint action whose pod left
// (deleted or terminating, as the Kubernetes side reports through checkpointInterrupted) before the
// dump (checkpoint_created) ends in `error` with details saying so; one that left after it does not.
import { describe, expect, it, vi } from 'vitest';
import type { SimulatorHooks } from '../../../src/simulator/index.ts';
import { harness, podBody } from '../simulator/helpers.ts';

type Gone = Map<string, { at: number; details: string }>;
const hooksFor = (gone: Gone): SimulatorHooks => ({
  checkpointInterrupted: (pod, takenAt) => {
    const g = pod.id ? gone.get(pod.id) : undefined;
    return g && g.at < takenAt ? g : null;
  },
});

describe('a checkpoint whose pod goes away', () => {
  it('before the dump: error from the moment the pod went, with the details', async () => {
    const gone: Gone = new Map();
    const h = await harness({ hooks: hooksFor(gone) });
    const id = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    h.clock.advance(1200);
    expect((await h.api.get(`/v2/checkpoint/status/${id}`)).json).toEqual({ status: 'processing', details: null });
    gone.set('pod-uid-1', { at: h.clock.t, details: 'Failed to find checkpointable resource: pod ml/trainer-0 started terminating before the checkpoint was taken' });
    expect((await h.api.get(`/v2/checkpoint/status/${id}`)).json).toEqual({ status: 'error', details: expect.stringContaining('started terminating') as unknown });
    h.clock.advance(5000);
    expect((await h.api.get(`/v2/checkpoint/status/${id}`)).json).toMatchObject({ status: 'error' });
  });

  it('after the dump: the checkpoint is taken and becomes ready', async () => {
    const gone: Gone = new Map();
    const h = await harness({ hooks: hooksFor(gone) });
    const id = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    h.clock.advance(2100); // checkpoint_created at 2 steps: the dump is done
    gone.set('pod-uid-1', { at: h.clock.t, details: 'gone' });
    expect((await h.api.get(`/v2/checkpoint/status/${id}`)).json).toEqual({ status: 'checkpoint_created', details: null });
    h.clock.advance(1000);
    expect((await h.api.get(`/v2/checkpoint/status/${id}`)).json).toEqual({ status: 'ready', details: null });
  });

  it('another pod going away changes nothing', async () => {
    const gone: Gone = new Map([['other-uid', { at: Date.UTC(2026, 0, 1), details: 'gone' }]]);
    const h = await harness({ hooks: hooksFor(gone) });
    const id = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    h.clock.advance(3000);
    expect((await h.api.get(`/v2/checkpoint/status/${id}`)).json).toEqual({ status: 'ready', details: null });
  });

  it('closing the simulator closes the hooks', async () => {
    const close = vi.fn();
    const h = await harness({ hooks: { close } });
    await h.sim.close();
    expect(close).toHaveBeenCalledTimes(1);
  });
});
