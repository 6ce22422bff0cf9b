// The token check and cluster registration, against the simulator in both profiles.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CedanaClient } from '../../../src/cedana/index.ts';
import { startSimulator, type Profile, type RunningSimulator } from '../../../src/simulator/index.ts';
import { failure } from './failure.ts';

const TOKEN = 'cluster-test-token';
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(profile: Profile, token = TOKEN): Promise<{ sim: RunningSimulator; c: CedanaClient }> {
  const sim = await startSimulator({ token: TOKEN, profile, logger: pino({ level: 'silent' }) });
  // The URL Cedana's docs tell users to set.
  const c = new CedanaClient({ baseUrl: `${sim.url}/v1`, token, retry: { maxAttempts: 1 } });
  cleanup.push(
    () => sim.close(),
    () => c.close(),
  );
  return { sim, c };
}

describe.each(['reference', 'service'] as const)('token and cluster, %s profile', (profile) => {
  it('getUser answers the user id; a wrong token is rejected, said plainly', async () => {
    const { c } = await setup(profile);
    const user = await c.getUser();
    expect(user).toMatch(/^[0-9a-f-]{36}$/);
    await expect(c.getUser()).resolves.toBe(user);
    const { c: wrong } = await setup(profile, 'not-the-token');
    const err = await failure(wrong.getUser());
    expect(err).toMatchObject({ status: 401, isTokenRejected: true, retryable: false });
    expect(err.message).toContain('the Cedana token was rejected');
    if (profile === 'service') expect(err.apiMessage).toBe('Invalid API key');
  });

  it('registers a cluster (again: the same id), lists it, deletes it', async () => {
    const { c } = await setup(profile);
    const id = await c.registerCluster('prod-eu-1');
    await expect(c.registerCluster('prod-eu-1')).resolves.toBe(id);
    const other = await c.registerCluster('staging');
    expect(other).not.toBe(id);
    const listed = await c.listClusters();
    expect(listed.map((x) => [x.id, x.name])).toEqual([
      [id, 'prod-eu-1'],
      [other, 'staging'],
    ]);
    // A pod call naming the cluster is a sync.
    await c.checkpointPod({ pod_name: 'p', namespace: 'ns', cluster_id: id });
    expect((await c.listClusters()).find((x) => x.id === id)?.last_sync).toMatch(/^\d{4}-\d\d-\d\dT/);
    await c.deleteCluster(id);
    expect((await c.listClusters()).map((x) => x.id)).toEqual([other]);
    const gone = await failure(c.deleteCluster(id));
    expect(gone).toMatchObject({ status: 404, retryable: false });
  });

  it('refuses an empty cluster name before it leaves', async () => {
    const { c, sim } = await setup(profile);
    const err = await failure(c.registerCluster(''));
    expect(err.kind).toBe('contract');
    expect(sim.stats().calls['POST /v2/cluster']).toBeUndefined();
  });
});
