import { describe, expect, it } from 'vitest';
import { Nodes, Pods } from '../../../src/api/kinds.ts';

const fullPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'trainer-0',
    namespace: 'ml',
    uid: 'u-1',
    resourceVersion: '7',
    labels: { app: 'trainer' },
    annotations: { big: 'x'.repeat(4000) },
    managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }],
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'trainer', uid: 'ss-1', controller: true, blockOwnerDeletion: true }],
  },
  spec: {
    nodeName: 'node-a',
    containers: [
      { name: 'main', image: 'trainer:1', env: [{ name: 'CEDANA_CHECKPOINT', value: 'trainer-0' }, { name: 'SECRETISH', value: 'no' }], resources: { limits: { cpu: '1' } } },
      { name: 'sidecar', image: 'proxy:1' },
    ],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-trainer-0' } }],
  },
  status: { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null }] },
};

describe('the compact cache form', () => {
  it('keeps what the controllers read of a pod and nothing else', () => {
    expect(Pods.parse(fullPod)).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'trainer-0',
        namespace: 'ml',
        uid: 'u-1',
        resourceVersion: '7',
        labels: { app: 'trainer' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'trainer', uid: 'ss-1', controller: true }],
      },
      spec: { nodeName: 'node-a', containers: [{ name: 'main', env: [{ name: 'CEDANA_CHECKPOINT', value: 'trainer-0' }] }, { name: 'sidecar' }] },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    });
  });

  it('is far smaller than the pod', () => {
    expect(JSON.stringify(Pods.parse(fullPod)).length).toBeLessThan(JSON.stringify(fullPod).length / 5);
  });

  it("keeps a node's taints, cordon and readiness", () => {
    const node = Nodes.parse({
      metadata: { name: 'n', managedFields: [{}], labels: { zone: 'a' } },
      spec: { unschedulable: true, podCIDR: '10.0.0.0/24', taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule', timeAdded: 'x' }] },
      status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: '2026-01-01T00:00:00Z', message: 'kubelet stopped' }], images: [{ names: ['a'] }] },
    });
    expect(node).toEqual({
      metadata: { name: 'n', labels: { zone: 'a' } },
      spec: { unschedulable: true, taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }] },
      status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
    });
  });

  it('still refuses another kind', () => {
    expect(() => Pods.parse({ ...fullPod, kind: 'Namespace' })).toThrow(/expected a Pod/);
  });
});
