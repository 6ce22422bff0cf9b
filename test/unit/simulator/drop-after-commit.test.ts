// A lost answer: the request takes effect, the client sees the connection die. The operator must
// find the action it created (GET /v2/actions/from_pod) instead of creating a second one.
import { describe, expect, it } from 'vitest';
import { harness, podBody } from './helpers.ts';

describe('dropAfterCommit', () => {
  it('creates the action although the client saw no answer', async () => {
    const h = await harness({ faults: { dropAfterCommitRate: 1, paths: ['POST /v2/checkpoint/pod'] } });
    await expect(h.api.post('/v2/checkpoint/pod', podBody({ pod_id: 'lost-answer-pod' }))).rejects.toThrow(/fetch failed/);

    const stats = h.sim.stats();
    expect(stats.actions).toBe(1);
    expect(stats.faults).toEqual({ dropAfterCommit: 1 });
    const [created] = stats.checkpointActionsByPod['lost-answer-pod'] ?? [];
    expect(created).toBeDefined();

    // What the operator does before retrying: ask whether the action exists.
    const found = await h.api.get('/v2/actions/from_pod/lost-answer-pod');
    expect(found).toMatchObject({ status: 200, text: created });
    expect((await h.api.get(`/v2/checkpoint/status/${found.text}`)).json).toEqual({ status: 'initialized', details: null });
    expect(h.sim.stats().actions).toBe(1);
  });

  it('also commits a restore whose answer is lost', async () => {
    const h = await harness();
    const actionId = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    h.clock.advance(3000);
    h.sim.setFaults({ dropAfterCommitRate: 1, paths: ['POST /v2/restore/pod'] });
    await expect(h.api.post('/v2/restore/pod', { action_id: actionId, reason: 'manual' })).rejects.toThrow();
    expect(h.sim.stats().actions).toBe(2);
  });
});
