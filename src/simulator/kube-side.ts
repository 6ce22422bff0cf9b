// Plays Cedana's in-cluster side for the simulator: a checkpoint needs its pod to exist, and a
// finished restore creates the pod again from the spec uploaded with the checkpoint: a new name
// (the override, or <pod>-restored), no node (the scheduler picks one), labels that tie it to the
// restore action. Service-account token volumes are dropped: the apiserver injects fresh ones.
// A pod that is deleted or starts terminating before its checkpoint is taken fails that checkpoint
// (a watch on pods records when each went), as a checkpoint racing an eviction fails for real.
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import { declaredCheckpoint } from '../api/checkpoint-name.ts';
import { RESTORE_ACTION_LABEL } from '../api/pod.ts';
import { statusCodeOf } from '../kube/errors.ts';
import type { NewPod, SimulatorHooks } from './lifecycle.ts';

export const RESTORED_FROM_LABEL = 'cedana.ai/restored-from-action';

const UploadedMetadata = z.looseObject({
  name: z.string(),
  namespace: z.string(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const UploadedSpec = z.looseObject({
  nodeName: z.string().optional(),
  volumes: z.array(z.looseObject({ name: z.string() })).optional(),
  containers: z.array(z.looseObject({ name: z.string(), volumeMounts: z.array(z.looseObject({ name: z.string() })).optional() })),
  initContainers: z.array(z.looseObject({ name: z.string(), volumeMounts: z.array(z.looseObject({ name: z.string() })).optional() })).optional(),
});

const isTokenVolume = (name: string): boolean => name.startsWith('kube-api-access-');

/** The pod Cedana would recreate from an uploaded spec. Pure, for tests. */
export function restoredPodFrom(upload: { podSpec: unknown; podMetadataSpec: unknown }, restore: { restoreActionId: string; checkpointActionId: string; podName: string | null }): V1Pod {
  const meta = UploadedMetadata.parse(upload.podMetadataSpec);
  const spec = UploadedSpec.parse(upload.podSpec);
  const { nodeName: _node, volumes, containers, initContainers, ...rest } = spec;
  const dropMounts = <C extends { volumeMounts?: { name: string }[] | undefined }>(c: C): C => ({
    ...c,
    ...(c.volumeMounts ? { volumeMounts: c.volumeMounts.filter((m) => !isTokenVolume(m.name)) } : {}),
  });
  const annotations = { ...meta.annotations };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  // The spec came from the apiserver with the checkpointed pod; only the fields above changed.
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: restore.podName ?? `${meta.name}-restored`,
      namespace: meta.namespace,
      labels: { ...meta.labels, [RESTORE_ACTION_LABEL]: restore.restoreActionId, [RESTORED_FROM_LABEL]: restore.checkpointActionId },
      annotations,
    },
    spec: {
      ...rest,
      ...(volumes ? { volumes: volumes.filter((v) => !isTokenVolume(v.name)) } : {}),
      containers: containers.map(dropMounts),
      ...(initContainers ? { initContainers: initContainers.map(dropMounts) } : {}),
    },
  };
  return pod as unknown as V1Pod;
}

/** When each pod went away (by uid, and by namespace/name for requests without a uid), from a list and watch of pods. */
export class PodDepartures {
  private readonly gone = new Map<string, { at: number; details: string }>();
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;
  private readonly now: () => number;
  private syncedResolve: () => void = () => undefined;
  private readonly created: ((pod: NewPod) => void)[] = [];
  readonly synced = new Promise<void>((resolve) => (this.syncedResolve = resolve));

  constructor(kc: KubeConfig, log: Logger, now: () => number = Date.now) {
    this.now = now;
    this.loop = this.run(kc, log.child({ component: 'simulator-pods' }));
  }

  /** Pods created after the first list (watch ADDED, or new in a relist). */
  onCreated(listener: (pod: NewPod) => void): void {
    this.created.push(listener);
  }

  private announce(raw: unknown): void {
    if (this.created.length === 0) return;
    const p = NewPodRef.safeParse(raw);
    if (!p.success || !p.data.metadata.uid || p.data.metadata.deletionTimestamp) return;
    const m = p.data.metadata;
    const pod: NewPod = {
      uid: m.uid ?? '',
      name: m.name,
      namespace: m.namespace ?? 'default',
      checkpointName: declaredCheckpoint({ metadata: { ...m, labels: m.labels, annotations: m.annotations }, spec: p.data.spec }).name,
      restored: m.labels?.[RESTORE_ACTION_LABEL] !== undefined,
    };
    for (const l of this.created) l(pod);
  }

  private stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private record(p: PodRef, what: string): void {
    const name = `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
    const entry = { at: this.now(), details: `Failed to find checkpointable resource: pod ${name} ${what} before the checkpoint was taken` };
    for (const key of [p.metadata.uid, name]) if (key && !this.gone.has(key)) this.gone.set(key, entry);
    if (this.gone.size > 20_000) for (const [k, v] of this.gone) if (v.at < this.now() - 3_600_000) this.gone.delete(k);
  }

  private seen(p: PodRef): void {
    // A pod made again under the same name is a new pod: only the old uid stays gone.
    if (!p.metadata.deletionTimestamp) this.gone.delete(`${p.metadata.namespace ?? 'default'}/${p.metadata.name}`);
    else this.record(p, 'started terminating');
  }

  /** List, then watch from the list; after any end of the watch, list again: a pod missing from it was deleted. */
  private async run(kc: KubeConfig, log: Logger): Promise<void> {
    const core = kc.makeApiClient(CoreV1Api);
    let known = new Map<string, PodRef>();
    let listed = false;
    while (!this.stopped()) {
      try {
        const list = await core.listPodForAllNamespaces({});
        const fresh = new Map<string, PodRef>();
        for (const item of list.items) {
          const p = PodRef.safeParse(item);
          if (p.success && p.data.metadata.uid) {
            fresh.set(p.data.metadata.uid, p.data);
            if (listed && !known.has(p.data.metadata.uid)) this.announce(item);
          }
        }
        listed = true;
        for (const [uid, p] of known) if (!fresh.has(uid)) this.record(p, 'was deleted');
        for (const p of fresh.values()) if (p.metadata.deletionTimestamp) this.record(p, 'started terminating');
        known = fresh;
        this.syncedResolve();
        await new Promise<void>((resolve) => {
          const onEvent = (type: string, raw: unknown): void => {
            const p = PodRef.safeParse(raw);
            if (!p.success || !p.data.metadata.uid) return;
            if (type === 'DELETED') {
              known.delete(p.data.metadata.uid);
              this.record(p.data, 'was deleted');
            } else if (type === 'ADDED' || type === 'MODIFIED') {
              if (type === 'ADDED' && !known.has(p.data.metadata.uid)) this.announce(raw);
              known.set(p.data.metadata.uid, p.data);
              this.seen(p.data);
            }
          };
          new Watch(kc)
            .watch('/api/v1/pods', { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 }, onEvent, () => {
              resolve();
            })
            .then((req) => {
              if (this.stopped()) req.abort();
              this.abort.signal.addEventListener('abort', () => {
                req.abort();
              });
            })
            .catch(() => {
              resolve();
            });
        });
      } catch (err) {
        if (!this.stopped()) log.debug({ err }, 'pod watch failed; listing again');
      }
      if (!this.stopped()) await sleep(200, undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }

  interrupted(pod: { id: string | null; name: string | null; namespace: string | null }, takenAt: number): { at: number; details: string } | null {
    const found = pod.id ? this.gone.get(pod.id) : pod.name ? this.gone.get(`${pod.namespace ?? 'default'}/${pod.name}`) : undefined;
    return found && found.at < takenAt ? found : null;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }
}

const PodRef = z.looseObject({
  metadata: z.looseObject({ name: z.string(), namespace: z.string().optional(), uid: z.string().optional(), deletionTimestamp: z.unknown().optional() }),
});
type PodRef = z.infer<typeof PodRef>;
const NewPodRef = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    deletionTimestamp: z.unknown().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.looseObject({}).optional(),
});

export function kubeHooks(kc: KubeConfig, log: Logger, now: () => number = Date.now): SimulatorHooks {
  const core = kc.makeApiClient(CoreV1Api);
  const departures = new PodDepartures(kc, log, now);
  return {
    checkpointInterrupted: (pod, takenAt) => departures.interrupted(pod, takenAt),
    onPodCreated: (listener) => {
      departures.onCreated(listener);
    },
    async checkpointNameOf({ namespace, podName, podId }) {
      if (!namespace || !podName) return undefined;
      try {
        const pod = await core.readNamespacedPod({ name: podName, namespace });
        if (podId && pod.metadata?.uid !== podId) return undefined;
        return declaredCheckpoint(pod as unknown as Parameters<typeof declaredCheckpoint>[0]).name;
      } catch (err) {
        if (statusCodeOf(err) === 404) return undefined;
        throw err;
      }
    },
    close: () => {
      void departures.stop();
    },
    async podExists({ namespace, podName, podId }) {
      if (!namespace || !podName) return true; // nothing to look up by: Cedana would go by the uid
      try {
        const pod = await core.readNamespacedPod({ name: podName, namespace });
        return !podId || pod.metadata?.uid === podId;
      } catch (err) {
        if (statusCodeOf(err) === 404) return false;
        throw err;
      }
    },
    // For the service profile's sync lag: how old the pod is.
    async podCreatedAt({ namespace, podName }) {
      if (!namespace || !podName) return null;
      try {
        const created = (await core.readNamespacedPod({ name: podName, namespace })).metadata?.creationTimestamp;
        return created === undefined ? null : new Date(created).getTime();
      } catch (err) {
        if (statusCodeOf(err) === 404) return null;
        throw err;
      }
    },
    async onRestoreReady(restore) {
      if (!restore.upload) throw new Error(`no pod spec was uploaded for checkpoint action ${restore.checkpointActionId}`);
      const pod = restoredPodFrom(restore.upload, restore);
      const namespace = pod.metadata?.namespace ?? 'default';
      const name = pod.metadata?.name ?? '';
      try {
        await core.createNamespacedPod({ namespace, body: pod });
        log.info({ namespace, pod: name, restoreActionId: restore.restoreActionId }, 'restored pod created');
      } catch (err) {
        if (statusCodeOf(err) !== 409) throw err;
        const existing = await core.readNamespacedPod({ name, namespace });
        if (existing.metadata?.labels?.[RESTORE_ACTION_LABEL] !== restore.restoreActionId) throw new Error(`pod ${namespace}/${name} already exists and is not this restore's`);
      }
    },
  };
}
