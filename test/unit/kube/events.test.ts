// EventRecorder: Events go out in the background, a few at a time, in order; a failure is logged and
// the rest still go; the Event's body is the core/v1 Event kubectl describe shows.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../../../src/kube/events.ts';

interface Sent {
  path: string;
  body: Record<string, unknown>;
}

function fakeKube(o: { failEvery?: number } = {}) {
  const sent: Sent[] = [];
  const open: (() => void)[] = [];
  let peak = 0;
  let n = 0;
  return {
    sent,
    peak: () => peak,
    /** Answers every request in flight. */
    answerAll: () => {
      for (const answer of open.splice(0)) answer();
    },
    create(path: string, body: object): Promise<unknown> {
      sent.push({ path, body: body as Record<string, unknown> });
      const fail = o.failEvery !== undefined && ++n % o.failEvery === 0;
      return new Promise((resolve, reject) => {
        open.push(() => {
          if (fail) reject(new Error('apiserver says no'));
          else resolve({});
        });
        peak = Math.max(peak, open.length);
      });
    },
  };
}

const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', uid: `uid-${name}` } });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('EventRecorder', () => {
  it('sends at most 4 at once, every one of a burst, in order', async () => {
    const kube = fakeKube();
    const events = new EventRecorder(kube, pino({ level: 'silent' }), 'replica-a');
    for (let i = 0; i < 100; i++) events.record(pod(`p-${String(i)}`), 'Normal', 'Ready', `checkpoint ${String(i)} ready`);
    expect(kube.sent).toHaveLength(4);
    while (events.backlog > 0) {
      kube.answerAll();
      await settle();
    }
    expect(kube.peak()).toBe(4);
    expect(kube.sent.map((s) => (s.body.involvedObject as { name: string }).name)).toEqual(Array.from({ length: 100 }, (_, i) => `p-${String(i)}`));
  });

  it('a failed Event is logged and the others still go', async () => {
    const kube = fakeKube({ failEvery: 3 });
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const events = new EventRecorder(kube, log, 'replica-a');
    for (let i = 0; i < 9; i++) events.record(pod(`p-${String(i)}`), 'Warning', 'CheckpointFailed', 'no');
    while (events.backlog > 0) {
      kube.answerAll();
      await settle();
    }
    expect(kube.sent).toHaveLength(9);
    expect(lines.filter((l) => l.includes('could not record event'))).toHaveLength(3);
  });

  it('writes the Event kubectl describe shows', () => {
    const kube = fakeKube();
    new EventRecorder(kube, pino({ level: 'silent' }), 'replica-a').record(pod('trainer-0'), 'Normal', 'Ready', 'x'.repeat(2000));
    const [first] = kube.sent;
    expect(first?.path).toBe('/api/v1/namespaces/ns/events');
    expect(first?.body).toMatchObject({
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'trainer-0', namespace: 'ns', uid: 'uid-trainer-0' },
      type: 'Normal',
      reason: 'Ready',
      count: 1,
      source: { component: 'cedana-operator' },
      reportingComponent: 'cedana.ai/cedana-operator',
      reportingInstance: 'replica-a',
    });
    expect((first?.body.message as string).length).toBe(1024);
    expect((first?.body.metadata as { name: string }).name).toMatch(/^trainer-0\.[0-9a-f]+$/);
  });
});
