import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { compactNode, compactPod, intern } from '../../../src/api/compact.ts';
import { Nodes, Pods } from '../../../src/api/kinds.ts';
import { Node, Pod } from '../../../src/api/pod.ts';

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
      {
        name: 'main',
        image: 'trainer:1',
        env: [
          { name: 'CEDANA_CHECKPOINT', value: 'trainer-0' },
          { name: 'SECRETISH', value: 'no' },
        ],
        resources: { limits: { cpu: '1' } },
      },
      { name: 'sidecar', image: 'proxy:1' },
    ],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-trainer-0' } }],
  },
  status: {
    phase: 'Running',
    podIP: '10.0.0.1',
    startTime: '2026-01-01T00:00:05Z',
    conditions: [
      { type: 'Ready', status: 'True', lastProbeTime: null },
      { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting', lastTransitionTime: '2026-01-01T00:01:00Z' },
    ],
  },
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
      // only the container that names its checkpoint, and only the condition a controller reads
      spec: { nodeName: 'node-a', containers: [{ name: 'main', env: [{ name: 'CEDANA_CHECKPOINT', value: 'trainer-0' }] }] },
      status: { phase: 'Running', startTime: '2026-01-01T00:00:05Z', conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI' }] },
    });
  });

  it('a pod without CEDANA_CHECKPOINT or a DisruptionTarget keeps no containers and no conditions', () => {
    const plain = {
      ...fullPod,
      spec: { ...fullPod.spec, containers: [{ name: 'main', image: 'x', env: [{ name: 'A', value: 'b' }] }] },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
    };
    const compact = Pods.parse(plain);
    expect(compact.spec).toEqual({ nodeName: 'node-a' });
    expect(compact.status).toEqual({ phase: 'Pending' });
  });

  it('shares repeated strings and stays correct past its table (20,000 entries, then it starts again)', () => {
    for (let i = 0; i < 25_000; i++) expect(intern(`value-${String(i)}`)).toBe(`value-${String(i)}`);
    const pods = Array.from({ length: 3 }, (_, i) => Pods.parse({ ...fullPod, metadata: { ...fullPod.metadata, name: `p-${String(i)}`, uid: `u-${String(i)}` } }));
    expect(pods.map((p) => [p.metadata.namespace, p.spec.nodeName, p.metadata.labels])).toEqual(Array.from({ length: 3 }, () => ['ml', 'node-a', { app: 'trainer' }]));
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

describe('the projection comes before the schema (kinds.ts)', () => {
  const variants: [string, unknown][] = [
    ['a full pod', fullPod],
    ['a list item (no kind, no apiVersion)', { ...fullPod, apiVersion: undefined, kind: undefined }],
    ['no status', { ...fullPod, status: undefined }],
    ['being deleted', { ...fullPod, metadata: { ...fullPod.metadata, deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['x'] } }],
  ];
  for (const [name, raw] of variants) {
    it(`${name}: the same compact pod as the schema's parse of the whole pod`, () => {
      expect(Pods.parse(raw)).toEqual(compactPod(Pod.parse(raw)));
    });
  }

  it('a node: the same as the schema on the whole node', () => {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', uid: 'n-1', labels: { zone: 'a' }, managedFields: [{ manager: 'kubelet' }] },
      spec: { taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule', timeAdded: 'x' }], podCIDR: '10.0.0.0/24' },
      status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: 't', reason: 'KubeletReady' }], images: [{ names: ['a'] }] },
    };
    expect(Nodes.parse(node)).toEqual(compactNode(Node.parse(node)));
  });

  it("refuses what the schema refuses in what is kept, with the schema's error", () => {
    expect(() => Pods.parse({ ...fullPod, metadata: { ...fullPod.metadata, name: 7 } })).toThrow(ZodError);
    expect(() => Pods.parse({ ...fullPod, metadata: { ...fullPod.metadata, labels: { a: 1 } } })).toThrow(ZodError);
    expect(() => Pods.parse({ ...fullPod, status: { conditions: [{ type: 'DisruptionTarget' }] } })).toThrow(ZodError);
    expect(() => Pods.parse({ ...fullPod, spec: { nodeName: 3 } })).toThrow(ZodError);
    // Not shaped like a pod: the projection cannot read it, the schema says why.
    expect(() => Pods.parse({ kind: 'Pod', metadata: { name: 'x' } })).toThrow(ZodError);
    expect(() => Pods.parse(null)).toThrow(ZodError);
    expect(() => Nodes.parse({ metadata: { name: 'n', ownerReferences: 'no' } })).toThrow(ZodError);
  });
});
