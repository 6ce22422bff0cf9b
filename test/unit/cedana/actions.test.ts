// Free-string action types and statuses (REAL-SERVICE.md): the classifiers, and a listing that
// never depends on the server's type filter.
import { afterEach, describe, expect, it } from 'vitest';
import { CedanaClient, actionKind, actionOutcome, isActionDone, isActionFailed, isActionRunning, isPodCheckpointAction, isPodRestoreAction } from '../../../src/cedana/index.ts';
import { UUID_A, UUID_B, send, startStub } from './stub-server.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('actionOutcome', () => {
  it.each([
    ['success', 'done'],
    ['completed', 'done'],
    ['ready', 'done'],
    ['Ready', 'done'],
    [' SUCCESS ', 'done'],
    ['failed', 'failed'],
    ['error', 'failed'],
    ['ERROR', 'failed'],
    ['not_found', 'failed'],
    ['initialized', 'running'],
    ['processing', 'running'],
    ['checkpoint_created', 'running'],
    ['uploading', 'running'],
    ['something new', 'running'],
    ['', 'running'],
    [null, 'running'],
    [undefined, 'running'],
  ] as const)('%s is %s', (status, outcome) => {
    expect(actionOutcome(status)).toBe(outcome);
    expect(isActionDone(status)).toBe(outcome === 'done');
    expect(isActionFailed(status)).toBe(outcome === 'failed');
    expect(isActionRunning(status)).toBe(outcome === 'running');
  });
});

describe('actionKind', () => {
  it.each([
    ['checkpoint', 'checkpoint'],
    ['checkpoint_pod', 'checkpoint'],
    ['heartbeat', 'heartbeat'],
    ['restore', 'restore'],
    ['restore_pod', 'restore'],
    ['RESTORE_POD', 'restore'],
    ['slurm_checkpoint', 'slurm_checkpoint'],
    ['slurm_restore', 'slurm_restore'],
    ['migration', 'other'],
    ['', 'other'],
  ] as const)('%s is %s', (type, kind) => {
    expect(actionKind(type)).toBe(kind);
  });

  it('a heartbeat is a pod checkpoint (one can restore from it); a restore is not', () => {
    expect(['checkpoint', 'checkpoint_pod', 'heartbeat', 'restore_pod', 'slurm_checkpoint'].map((type) => isPodCheckpointAction({ type }))).toEqual([true, true, true, false, false]);
    expect(['restore', 'restore_pod', 'checkpoint_pod'].map((type) => isPodRestoreAction({ type }))).toEqual([true, true, false]);
  });
});

describe("listActions with the service's free strings", () => {
  const action = (id: string, type: string, status: string) => ({ action_id: id, checkpoint_id: UUID_B, details: null, gpu: '', platform: 'linux/amd64', status, type, total_duration: 3_000_000_000 });
  const listing = [
    action(UUID_A, 'checkpoint_pod', 'success'),
    action('11111111-2222-4333-8444-555555555555', 'restore_pod', 'in progress (step 2/5)'),
    action('66666666-7777-4888-8999-000000000000', 'heartbeat', 'COMPLETED'),
    action('aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', 'a type from the future', 'failed'),
  ];

  async function client(): Promise<{ c: CedanaClient }> {
    // A server that ignores ?type= entirely: the client must filter itself.
    const s = await startStub((_req, res) => {
      send(res, 200, listing);
    });
    const c = new CedanaClient({ baseUrl: s.url, token: 't' });
    cleanup.push(
      () => s.close(),
      () => c.close(),
    );
    return { c };
  }

  it('accepts any status and type, and large nanosecond durations', async () => {
    const { c } = await client();
    const all = await c.listActions();
    expect(all.map((a) => [a.type, a.status, actionOutcome(a.status)])).toEqual([
      ['checkpoint_pod', 'success', 'done'],
      ['restore_pod', 'in progress (step 2/5)', 'running'],
      ['heartbeat', 'COMPLETED', 'done'],
      ['a type from the future', 'failed', 'failed'],
    ]);
  });

  it('filters by exact type on our side too, whatever the server did with ?type=', async () => {
    const { c } = await client();
    expect((await c.listActions({ type: 'restore_pod' })).map((a) => a.type)).toEqual(['restore_pod']);
    expect(await c.listActions({ type: 'checkpoint' })).toEqual([]);
  });

  it('filters by kind on our side only (no query sent)', async () => {
    const s = await startStub((_req, res) => {
      send(res, 200, listing);
    });
    const c = new CedanaClient({ baseUrl: s.url, token: 't' });
    cleanup.push(
      () => s.close(),
      () => c.close(),
    );
    expect((await c.listActions({ kind: 'checkpoint' })).map((a) => a.type)).toEqual(['checkpoint_pod']);
    expect((await c.listActions({ kind: ['checkpoint', 'heartbeat'] })).map((a) => a.type)).toEqual(['checkpoint_pod', 'heartbeat']);
    expect((await c.listActions({ kind: 'other' })).map((a) => a.type)).toEqual(['a type from the future']);
    expect(s.seen.map((r) => r.url)).toEqual(['/v2/actions', '/v2/actions', '/v2/actions']);
  });
});
