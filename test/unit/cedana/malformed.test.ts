// Malformed answers (issue 16, item 7): the simulator's malformed-answer faults, and the client
// turning each into a retryable CedanaApiError with a clear message: never a crash, never a value.
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CedanaClient } from '../../../src/cedana/index.ts';
import { startSimulator, type Malformation, type RunningSimulator } from '../../../src/simulator/index.ts';
import { failure } from './failure.ts';

const TOKEN = 'malformed-token';
let clock = Date.UTC(2026, 0, 1);
let sim: RunningSimulator;
let client: CedanaClient;
const attempts: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({ token: TOKEN, stepMs: 1000, now: () => clock, logger: pino({ level: 'silent' }) });
  client = new CedanaClient({
    baseUrl: sim.url,
    token: TOKEN,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    sleep: () => Promise.resolve(),
    onCall: (i) => attempts.push(`${i.method} ${i.pathTemplate} ${String(i.status)}`),
  });
});
afterAll(async () => {
  await client.close();
  await sim.close();
});
beforeEach(() => {
  sim.setFaults({ malformedRate: 0, paths: null });
  attempts.length = 0;
});

/** A checkpoint action made while no fault is on, ready. */
async function readyAction(pod: string): Promise<string> {
  const id = await client.checkpointPod({ pod_name: pod, pod_id: `uid-${pod}`, namespace: 'ml' });
  clock += 5000;
  return id;
}

type Op = { name: string; key: string; run: (action: string) => Promise<unknown> };
const ops: Op[] = [
  { name: 'checkpointPod (a text id)', key: 'POST /v2/checkpoint/pod', run: () => client.checkpointPod({ pod_name: 'p', namespace: 'ml' }) },
  { name: 'latestPodAction (a text id)', key: 'GET /v2/actions/from_pod/{id}', run: () => client.latestPodAction('uid-seed') },
  { name: 'uploadPodSpec (an acknowledgement)', key: 'POST /v2/actions/upload', run: (a) => client.uploadPodSpec({ action_id: a, status: 'initialized', pod_spec: {} }) },
  { name: 'listActions (a JSON list)', key: 'GET /v2/actions', run: () => client.listActions() },
  { name: 'registerCluster (a text id)', key: 'POST /v2/cluster', run: () => client.registerCluster('c') },
];
const statusOp: Op = { name: 'getCheckpointStatus (a JSON object)', key: 'GET /v2/checkpoint/status/{action_id}', run: (a) => client.getCheckpointStatus(a) };

const MESSAGES: Record<Malformation, RegExp> = {
  contentType: /content-type is text\/html, expected (text\/plain|application\/json)/,
  truncated: /Invalid UUID|body is not JSON|expected the action id or "Success"/,
  notJson: /body is not JSON|Invalid UUID|expected an id|expected the action id or "Success"/,
  schema: /Invalid input|Invalid option|expected an id|Invalid UUID|expected the action id or "Success"/,
  emptyId: /empty body where a value was expected|Invalid UUID/,
};

describe.each(['contentType', 'truncated', 'notJson', 'schema', 'emptyId'] as const)('a %s answer', (kind) => {
  // A status answer has no id field to empty; every other malformation applies to it.
  // A cluster id has no documented format (only "a token"): half of one is still one, so truncation cannot show.
  const cases = (kind === 'emptyId' ? ops : [...ops, statusOp]).filter((op) => !(kind === 'truncated' && op.key === 'POST /v2/cluster'));
  it.each(cases.map((op) => [op.name, op] as const))('%s is a retryable CedanaApiError, then the call works again', async (_name, op) => {
    await client.checkpointPod({ pod_name: 'seed', pod_id: 'uid-seed', namespace: 'ml' });
    const action = await readyAction(`pod-${kind}`);
    attempts.length = 0;
    sim.setFaults({ malformedRate: 1, malformedKinds: [kind], paths: [op.key], seed: 7 });
    const err = await failure(op.run(action));
    expect(err).toMatchObject({ kind: 'malformed', retryable: true, status: 200 });
    expect(err.message).toMatch(/\(200 response does not match the contract\)$/);
    expect(err.message).toMatch(MESSAGES[kind]);
    // Idempotent calls were tried again (and were malformed again); POSTs once.
    const tries = attempts.filter((a) => a.startsWith(`${op.key} `)).length;
    expect(tries).toBe(op.key.startsWith('GET') ? 2 : 1);
    expect(sim.stats().faults[`malformed:${kind}`]).toBeGreaterThan(0);
    sim.setFaults({ malformedRate: 0 });
    await expect(op.run(action)).resolves.toBeDefined();
  });
});

describe('malformed faults take effect first', () => {
  it('a POST whose answer is malformed has created its action, like dropAfterCommit', async () => {
    sim.setFaults({ malformedRate: 1, malformedKinds: ['truncated'], paths: ['POST /v2/checkpoint/pod'] });
    const before = sim.stats().actions;
    await failure(client.checkpointPod({ pod_name: 'committed', pod_id: 'uid-committed', namespace: 'ml' }));
    expect(sim.stats().actions).toBe(before + 1);
    sim.setFaults({ malformedRate: 0 });
    await expect(client.latestPodAction('uid-committed')).resolves.toMatch(/^[0-9a-f-]{36}$/);
  });

  it('an error answer is left as it is', async () => {
    sim.setFaults({ malformedRate: 1, paths: ['GET /v2/checkpoint/status/{action_id}'] });
    const err = await failure(client.getCheckpointStatus('6a1c0000-0000-4000-8000-000000000000'));
    expect(err).toMatchObject({ kind: 'http', status: 404, retryable: false });
  });
});
