import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Pods } from '../../../src/api/kinds.ts';
import type { KubeAccess } from '../../../src/kube/access.ts';
import { Manager } from '../../../src/kube/manager.ts';
import { createMetrics } from '../../../src/metrics.ts';

/** An apiserver that never answers (nothing listens on port 1). */
const unreachable = (): KubeAccess => ({
  server: 'https://127.0.0.1:1',
  source: 'test',
  prepare: () => Promise.resolve({ headers: {}, dispatcher: undefined }),
  close: () => Promise.resolve(),
});

describe('Manager', () => {
  it('stops cleanly when its caches never synced (the apiserver away since start)', async () => {
    const metrics = createMetrics();
    const mgr = new Manager({ access: unreachable(), namespaces: [], logger: pino({ level: 'silent' }), metrics, workers: 1, leaderElector: undefined, httpBindAddress: '127.0.0.1:0' });
    let reconciled = 0;
    mgr
      .controller('pods')
      .for(Pods)
      .complete({
        reconcile: () => {
          reconciled++;
          return Promise.resolve(undefined);
        },
      });
    const running = await mgr.start();
    const ready = await fetch(`${running.httpUrl}/readyz`);
    expect(ready.status).toBe(503);
    await running.stop();
    expect(await running.done).toBe('stopped');
    expect(reconciled).toBe(0);
    expect(running.isLeader()).toBe(false);
  });

  it('refuses two controllers of one name, and owns() before for()', () => {
    const mgr = new Manager({
      access: unreachable(),
      namespaces: [],
      logger: pino({ level: 'silent' }),
      metrics: createMetrics(),
      workers: 1,
      leaderElector: undefined,
      httpBindAddress: '127.0.0.1:0',
    });
    mgr
      .controller('a')
      .for(Pods)
      .complete({ reconcile: () => Promise.resolve(undefined) });
    expect(() => mgr.controller('a')).toThrow(/two controllers are named a/);
    expect(() => mgr.controller('b').owns(Pods)).toThrow(/owns\(\) needs for\(\) first/);
  });
});
