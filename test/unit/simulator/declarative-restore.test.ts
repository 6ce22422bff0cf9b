// Cedana's declarative restore in the simulator: checkpoints are named by their pod's
// CEDANA_CHECKPOINT (null without it in the service profile, <namespace>/<pod> in the reference
// profile), and a pod created with a value that names a Ready checkpoint gets a restore action,
// seen in GET /v2/actions and from_pod of the new pod, that moves to ready on the clock.
import { describe, expect, it } from 'vitest';
import type { NewPod, SimulatorHooks } from '../../../src/simulator/lifecycle.ts';
import { harness, podBody } from './helpers.ts';

type Listed = { action_id: string; checkpoint_id: string; type: string; status: string };

/** Hooks with a pod-name table for checkpointNameOf, and a handle to create pods. */
function kubeSide(names: Record<string, string | null>) {
  let listener: (pod: NewPod) => void = () => undefined;
  const hooks: SimulatorHooks = {
    checkpointNameOf: ({ podName }) => Promise.resolve(podName === null ? undefined : (names[podName] ?? null)),
    onPodCreated: (l) => {
      listener = l;
    },
  };
  const create = (pod: Partial<NewPod> & { uid: string; name: string }) => {
    listener({ namespace: 'ml', checkpointName: null, restored: false, ...pod });
  };
  return { hooks, create };
}

describe.each(['reference', 'service'] as const)('declarative restore (%s profile)', (profile) => {
  const restoreType = profile === 'service' ? 'restore_pod' : 'restore';

  it('a new pod with the name of a Ready checkpoint gets a restore action of it, visible by from_pod, ready on the clock', async () => {
    const k = kubeSide({ 'web-abc': 'web' });
    const h = await harness({ profile, syncLagMs: 0, hooks: k.hooks });
    const checkpoint = (await h.api.post('/v2/checkpoint/pod', podBody({ pod_name: 'web-abc', pod_id: 'uid-old' }))).text;
    h.clock.advance(3000);
    const checkpointId = ((await h.api.get('/v2/actions')).json as Listed[]).find((a) => a.action_id === checkpoint)?.checkpoint_id;
    expect(((await h.api.get(`/v2/checkpoints?ids=${checkpointId ?? ''}`)).json as { name: string | null }[])[0]?.name).toBe('web');

    k.create({ uid: 'uid-new', name: 'web-def', checkpointName: 'web' });
    const fromPod = await h.api.get('/v2/actions/from_pod/uid-new');
    expect(fromPod.status).toBe(200);
    const listed = (await h.api.get('/v2/actions')).json as Listed[];
    const restore = listed.find((a) => a.action_id === fromPod.text.replaceAll('"', ''));
    expect(restore).toMatchObject({ type: restoreType, checkpoint_id: checkpointId });
    expect(restore?.status).not.toBe('ready');
    h.clock.advance(3000);
    expect(((await h.api.get('/v2/actions')).json as Listed[]).find((a) => a.action_id === restore?.action_id)?.status).toBe('ready');
  });

  it('no Ready checkpoint of its name, no name, or a pod made by a restore: no restore action', async () => {
    const k = kubeSide({ 'web-abc': 'web' });
    const h = await harness({ profile, syncLagMs: 0, hooks: k.hooks });
    await h.api.post('/v2/checkpoint/pod', podBody({ pod_name: 'web-abc', pod_id: 'uid-old' }));
    // Not Ready yet when the pod is created: the pod starts from scratch.
    k.create({ uid: 'uid-early', name: 'web-early', checkpointName: 'web' });
    h.clock.advance(3000);
    k.create({ uid: 'uid-other', name: 'other', checkpointName: 'other' });
    k.create({ uid: 'uid-none', name: 'none', checkpointName: null });
    k.create({ uid: 'uid-restored', name: 'web-abc-restored', checkpointName: 'web', restored: true });
    for (const uid of ['uid-early', 'uid-other', 'uid-none', 'uid-restored']) expect((await h.api.get(`/v2/actions/from_pod/${uid}`)).status, uid).toBe(404);
    expect(((await h.api.get('/v2/actions')).json as Listed[]).filter((a) => a.type === restoreType)).toEqual([]);
  });

  it("a pod without CEDANA_CHECKPOINT: its checkpoint has the profile's name (none in the service profile)", async () => {
    const k = kubeSide({});
    const h = await harness({ profile, syncLagMs: 0, hooks: k.hooks });
    const checkpoint = (await h.api.post('/v2/checkpoint/pod', podBody({ pod_name: 'bare', pod_id: 'uid-bare' }))).text;
    const checkpointId = ((await h.api.get('/v2/actions')).json as Listed[]).find((a) => a.action_id === checkpoint)?.checkpoint_id;
    const name = ((await h.api.get(`/v2/checkpoints?ids=${checkpointId ?? ''}`)).json as { name: string | null }[])[0]?.name;
    expect(name).toBe(profile === 'service' ? null : 'ml/bare');
  });
});
