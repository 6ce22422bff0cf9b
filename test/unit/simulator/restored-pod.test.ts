import { describe, expect, it } from 'vitest';
import { RESTORE_ACTION_LABEL } from '../../../src/api/pod.ts';
import { RESTORED_FROM_LABEL, restoredPodFrom } from '../../../src/simulator/kube-side.ts';

const upload = {
  podMetadataSpec: {
    name: 'web',
    namespace: 'shop',
    uid: 'old-uid',
    resourceVersion: '42',
    labels: { app: 'web', tier: 'front' },
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"kind":"Pod"}', team: 'payments' },
  },
  podSpec: {
    nodeName: 'node-1',
    serviceAccountName: 'web-sa',
    volumes: [
      { name: 'kube-api-access-x7k2p', projected: { sources: [] } },
      { name: 'data', emptyDir: {} },
    ],
    containers: [
      {
        name: 'app',
        image: 'nginx:1',
        volumeMounts: [
          { name: 'kube-api-access-x7k2p', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
          { name: 'data', mountPath: '/data' },
        ],
      },
      { name: 'sidecar', image: 'busybox' },
    ],
    initContainers: [{ name: 'init', image: 'busybox', volumeMounts: [{ name: 'kube-api-access-x7k2p', mountPath: '/sa' }] }],
  },
};
const restore = { restoreActionId: 'restore-1', checkpointActionId: 'ckpt-1', podName: null };

describe('restoredPodFrom', () => {
  const pod = restoredPodFrom(upload, restore);

  it('names the pod <pod>-restored in the same namespace, or the override', () => {
    expect(pod.metadata?.name).toBe('web-restored');
    expect(pod.metadata?.namespace).toBe('shop');
    expect(restoredPodFrom(upload, { ...restore, podName: 'web-2' }).metadata?.name).toBe('web-2');
  });

  it('keeps the original labels and adds the restore labels', () => {
    expect(pod.metadata?.labels).toEqual({ app: 'web', tier: 'front', [RESTORE_ACTION_LABEL]: 'restore-1', [RESTORED_FROM_LABEL]: 'ckpt-1' });
  });

  it('drops the last-applied annotation and the server-set metadata, keeps other annotations', () => {
    expect(pod.metadata?.annotations).toEqual({ team: 'payments' });
    expect(pod.metadata).not.toHaveProperty('uid');
    expect(pod.metadata).not.toHaveProperty('resourceVersion');
  });

  it('leaves the node to the scheduler and keeps the rest of the spec', () => {
    expect(pod.spec).not.toHaveProperty('nodeName');
    expect(pod.spec?.serviceAccountName).toBe('web-sa');
  });

  it('drops service-account token volumes and their mounts, keeps the others', () => {
    expect(pod.spec?.volumes).toEqual([{ name: 'data', emptyDir: {} }]);
    expect(pod.spec?.containers).toEqual([
      { name: 'app', image: 'nginx:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
      { name: 'sidecar', image: 'busybox' },
    ]);
    expect(pod.spec?.initContainers).toEqual([{ name: 'init', image: 'busybox', volumeMounts: [] }]);
  });

  it('does not change its input', () => {
    expect(upload.podSpec.volumes).toHaveLength(2);
    expect(upload.podMetadataSpec.annotations).toHaveProperty(['kubectl.kubernetes.io/last-applied-configuration']);
  });
});
