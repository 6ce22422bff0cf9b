// Malformed Cedana answers against a real control plane (issue 16, last bullet): the simulator
// answers the checkpoint POST or the status poll with a malformed 200 (each kind in turn: a wrong
// content type, a truncated body, a body that is not JSON, one that breaks the schema, an empty id).
// The request took effect; only its answer is wrong. Every PodCheckpoint still reaches Ready, with
// exactly one Cedana action per pod (a lost POST answer is adopted through from_pod, never posted
// again), Ready only with that action's ids, and while it fails the status says why. Every status
// the PodCheckpoint goes through is recorded from a watch, so "never Ready before" is checked on
// every state the apiserver held, not on samples.
import { Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOperator } from '../../src/operator.ts';
import type { Malformation, RunningSimulator } from '../../src/simulator/index.ts';
import { createTestNamespace, kubeConfig, waitFor, type TestNamespace } from './harness/cluster.ts';
import { TOKEN, api, createCr, createPod, startInProcessOperator, startTestSimulator } from './harness/stack.ts';

const POST = 'POST /v2/checkpoint/pod';
const STATUS = 'GET /v2/checkpoint/status/{action_id}';
const KINDS: readonly Malformation[] = ['contentType', 'truncated', 'notJson', 'schema', 'emptyId'];
// A status answer ({status, details}) has no id field to empty: emptyId leaves it as it is.
const POLL_KINDS = KINDS.filter((k) => k !== 'emptyId');

/** How the client words each malformed answer (src/cedana/http.ts), after "Cedana <METHOD> <path>: ". */
const SAYS: Record<Malformation, RegExp> = {
  contentType: /content-type is text\/html, expected (text\/plain|application\/json)/,
  truncated: /Invalid UUID|body is not JSON/,
  notJson: /body is not JSON|Invalid UUID/,
  schema: /Invalid input|Invalid option|Invalid UUID|expected/,
  emptyId: /empty body where a value was expected/,
};
const CONTRACT = /\(200 response does not match the contract\)/;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface CheckpointObj {
  metadata: { name: string; resourceVersion?: string };
  status?: { phase?: string; actionId?: string; checkpointId?: string; message?: string; conditions?: Condition[] };
}

/** Every version of every PodCheckpoint of a namespace, in the order the watch delivered them. */
class Recorder {
  private readonly seen = new Map<string, CheckpointObj[]>();
  private abort: AbortController | undefined;
  private stopped = false;
  private resourceVersion: string | undefined;
  private readonly path: string;

  constructor(namespace: string) {
    this.path = `/apis/cedana.ai/v1alpha1/namespaces/${namespace}/podcheckpoints`;
  }

  async start(): Promise<void> {
    const params: Record<string, string | boolean> = { allowWatchBookmarks: true };
    if (this.resourceVersion !== undefined) params.resourceVersion = this.resourceVersion;
    this.abort = await new Watch(kubeConfig()).watch(
      this.path,
      params,
      (type: string, obj: CheckpointObj) => {
        if (obj.metadata.resourceVersion !== undefined) this.resourceVersion = obj.metadata.resourceVersion;
        if (type === 'BOOKMARK') return;
        const list = this.seen.get(obj.metadata.name) ?? [];
        list.push(obj);
        this.seen.set(obj.metadata.name, list);
      },
      () => {
        // A watch the apiserver ends is picked up where it stopped: no state goes unseen.
        if (!this.stopped) void this.start();
      },
    );
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }

  states(name: string): CheckpointObj[] {
    return this.seen.get(name) ?? [];
  }
}

const isReady = (o: CheckpointObj): boolean => o.status?.phase === 'Ready' || (o.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

describe('malformed Cedana answers', () => {
  let ns: TestNamespace;
  let sim: RunningSimulator;
  let op: RunningOperator;
  let recorder: Recorder;

  beforeAll(async () => {
    ns = await createTestNamespace('malformed');
    sim = await startTestSimulator();
    op = await startInProcessOperator(sim, ns.name);
    recorder = new Recorder(ns.name);
    await recorder.start();
  });
  afterAll(async () => {
    recorder.stop();
    await op.stop();
    await sim.close();
    await ns.cleanup();
  });

  /** The simulator's record of an action (GET /v2/actions is never faulted here). */
  const cedanaAction = async (actionId: string): Promise<{ action_id: string; checkpoint_id: string; status: string } | undefined> => {
    const res = await fetch(`${sim.url}/v2/actions`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const all = (await res.json()) as { action_id: string; checkpoint_id: string; status: string }[];
    return all.find((a) => a.action_id === actionId);
  };
  const readCheckpoint = async (name: string): Promise<CheckpointObj> =>
    (await api().custom.getNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural: 'podcheckpoints', name })) as CheckpointObj;
  const malformedCount = (kind: Malformation): number => sim.stats().faults[`malformed:${kind}`] ?? 0;
  const calls = (key: string): number => sim.stats().calls[key] ?? 0;

  /** Ready, with the one action Cedana has for the pod and that action's checkpoint; never Ready with anything else. */
  async function expectReadyWithItsAction(name: string, uid: string): Promise<string> {
    const pc = await waitFor(
      async () => {
        const o = await readCheckpoint(name);
        return o.status?.phase === 'Ready' || o.status?.phase === 'Failed' ? o : undefined;
      },
      { what: `PodCheckpoint ${name} Ready or Failed`, timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(pc.status?.phase).toBe('Ready');
    const actions = sim.stats().checkpointActionsByPod[uid] ?? [];
    expect(actions).toHaveLength(1);
    const [actionId = ''] = actions;
    expect(pc.status?.actionId).toBe(actionId);
    expect(pc.status?.checkpointId).toBe((await cedanaAction(actionId))?.checkpoint_id);
    await waitFor(() => recorder.states(name).some((s) => s.status?.phase === 'Ready'), { what: `the watch to deliver ${name} Ready` });
    for (const s of recorder.states(name).filter(isReady)) expect(s.status).toMatchObject({ phase: 'Ready', actionId, checkpointId: pc.status?.checkpointId });
    return actionId;
  }

  it.each(KINDS)('a %s answer to the checkpoint POST: Submitted=Unknown CedanaUnavailable names it; the action is adopted, not posted again; Ready with it', async (kind) => {
    const name = `post-${kind.toLowerCase()}`;
    const { uid } = await createPod(ns.name, name);
    const posts = calls(POST);
    const malformed = malformedCount(kind);
    // Every POST answer is malformed, to the end: a second POST would be a second action.
    sim.setFaults({ malformedRate: 1, malformedKinds: [kind], paths: [POST] });
    try {
      await createCr(ns.name, 'podcheckpoints', 'PodCheckpoint', `${name}-ckpt`, { podName: name });
      await expectReadyWithItsAction(`${name}-ckpt`, uid);
    } finally {
      sim.setFaults({ malformedRate: 0, paths: null });
    }
    expect(calls(POST) - posts).toBe(1);
    expect(malformedCount(kind) - malformed).toBe(1);

    // While the answer was missing, the status said why, naming the malformed answer; then Submitted.
    const states = recorder.states(`${name}-ckpt`);
    const submitted = states.map((s) => s.status?.conditions?.find((c) => c.type === 'Submitted'));
    const failing = submitted.findIndex((c) => c?.reason === 'CedanaUnavailable');
    expect(failing, `states seen: ${JSON.stringify(submitted)}`).toBeGreaterThanOrEqual(0);
    const c = submitted[failing];
    expect(c?.status).toBe('Unknown');
    expect(c?.message).toContain(`Cedana ${POST}`);
    expect(c?.message).toMatch(CONTRACT);
    expect(c?.message).toMatch(SAYS[kind]);
    expect(submitted.slice(failing + 1).some((x) => x?.status === 'True' && x.reason === 'Submitted')).toBe(true);
    expect(states.slice(0, failing + 1).some(isReady)).toBe(false);
  });

  /**
   * A PodCheckpoint whose status polls are all answered malformed (kind), observed until Cedana's
   * action is ready and three more malformed answers went out after that. Returns what it saw then.
   */
  async function pollFailing(kind: Malformation, name: string): Promise<{ uid: string; actionId: string; now: CheckpointObj }> {
    const { uid } = await createPod(ns.name, name);
    sim.setFaults({ malformedRate: 1, malformedKinds: [kind], paths: [STATUS] });
    await createCr(ns.name, 'podcheckpoints', 'PodCheckpoint', `${name}-ckpt`, { podName: name });
    const actionId = await waitFor(() => sim.stats().checkpointActionsByPod[uid]?.[0], { what: `the checkpoint of ${name} posted` });
    await waitFor(async () => (await cedanaAction(actionId))?.status === 'ready', { what: `Cedana's action ${actionId} ready` });
    const after = malformedCount(kind);
    await waitFor(() => malformedCount(kind) >= after + 3, { what: 'three malformed status answers after Cedana was ready', timeoutMs: 60_000 });
    // The client retries a GET a few times before the reconcile hears of it: wait for its write.
    const now = await waitFor(
      async () => {
        const c = await readCheckpoint(`${name}-ckpt`);
        return c.status?.actionId ? c : undefined;
      },
      { what: `the action id recorded on ${name}-ckpt`, timeoutMs: 60_000 },
    );
    return { uid, actionId, now };
  }

  it.each(POLL_KINDS)('a %s answer to the status poll: never Ready while the answers are malformed; Ready with the right action once retries get through', async (kind) => {
    const name = `poll-${kind.toLowerCase()}`;
    try {
      const { uid, actionId, now } = await pollFailing(kind, name);
      // Cedana is done, but the operator has not heard it: not Ready, the action recorded.
      expect(now.status?.phase).not.toBe('Ready');
      expect(now.status?.actionId).toBe(actionId);
      expect(recorder.states(`${name}-ckpt`).some(isReady)).toBe(false);
      // Then half the answers are malformed: retries get through.
      sim.setFaults({ malformedRate: 0.5, seed: 16 });
      expect(await expectReadyWithItsAction(`${name}-ckpt`, uid)).toBe(actionId);
    } finally {
      sim.setFaults({ malformedRate: 0, paths: null });
    }
    expect((await fetch(`${op.httpUrl}/healthz`)).status).toBe(200);
  });

  // A status poll that keeps failing says why (Ready=False CedanaUnavailable), once per distinct reason.
  it.each(POLL_KINDS)('a %s answer to the status poll is named in the status while it lasts', async (kind) => {
    const name = `named-${kind.toLowerCase()}`;
    try {
      await pollFailing(kind, name);
      // The client retries a GET a few times before the reconcile hears of it: wait for the write, do not race it.
      const said = await waitFor(async () => ((await readCheckpoint(`${name}-ckpt`)).status?.conditions ?? []).find((c) => c.reason === 'CedanaUnavailable' && c.status !== 'True'), {
        what: `a CedanaUnavailable condition on ${name}-ckpt`,
        timeoutMs: 60_000,
      });
      expect(said.message).toContain(`Cedana GET /v2/checkpoint/status/`);
      expect(said.message).toMatch(CONTRACT);
      expect(said.message).toMatch(SAYS[kind]);
    } finally {
      sim.setFaults({ malformedRate: 0, paths: null });
    }
  });
});
