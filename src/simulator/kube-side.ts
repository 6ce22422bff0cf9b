// Plays Cedana's in-cluster side for the simulator: a checkpoint needs its pod to exist, and a
// finished restore creates the pod again from the spec uploaded with the checkpoint: a new name
// (the override, or <pod>-restored), no node (the scheduler picks one), labels that tie it to the
// restore action. Service-account token volumes are dropped: the apiserver injects fresh ones.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import { RESTORE_ACTION_LABEL } from '../api/pod.ts';
import { statusCodeOf } from '../kube/clients.ts';
import type { SimulatorHooks } from './lifecycle.ts';

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

export function kubeHooks(kc: KubeConfig, log: Logger): SimulatorHooks {
  const core = kc.makeApiClient(CoreV1Api);
  return {
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
