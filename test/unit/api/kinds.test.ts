// Every object the operator reads must be the kind it asked for: a read of pods/.. answers with the
// Namespace, which must not parse as a Pod.
import { describe, expect, it } from 'vitest';
import { CheckpointPolicy } from '../../../src/api/checkpointpolicy.ts';
import { Node, Pod } from '../../../src/api/pod.ts';
import { PodCheckpoint } from '../../../src/api/podcheckpoint.ts';
import { PodRestore } from '../../../src/api/podrestore.ts';

const namespace = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'team-a', uid: '6b1c3f0e-1111-4a4a-9d9d-000000000001' },
  spec: { finalizers: ['kubernetes'] },
  status: { phase: 'Active' },
};
const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'trainer-0', namespace: 'team-a' }, spec: { nodeName: 'n1' } };
const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} };

describe('Pod and Node: kind and apiVersion, when present, are the ones asked for', () => {
  it('refuses the Namespace that a read of pods/.. returns, saying why', () => {
    const r = Pod.safeParse(namespace);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message)).toContain('expected a Pod, got "Namespace"');
  });

  it('refuses a Pod of another apiVersion', () => {
    expect(Pod.safeParse({ ...pod, apiVersion: 'v2' }).error?.issues.map((i) => i.message)).toEqual(['expected apiVersion v1 for a Pod, got "v2"']);
  });

  it('accepts a Pod, and a list item without kind or apiVersion', () => {
    expect(Pod.parse(pod).kind).toBe('Pod');
    const { apiVersion: _a, kind: _k, ...item } = pod;
    expect(Pod.parse(item).metadata.name).toBe('trainer-0');
  });

  it('keeps the fields it does not model (the spec is uploaded whole)', () => {
    expect(Pod.parse({ ...pod, spec: { ...pod.spec, containers: [{ name: 'main' }] } }).spec).toMatchObject({ containers: [{ name: 'main' }] });
  });

  it('refuses a Pod or a Namespace as a Node, accepts a Node and a list item', () => {
    expect(Node.safeParse(pod).success).toBe(false);
    expect(Node.safeParse({ ...namespace, spec: {} }).success).toBe(false);
    expect(Node.parse(node).metadata.name).toBe('n1');
    expect(Node.parse({ metadata: { name: 'n2' } }).metadata.name).toBe('n2');
  });
});

describe('our custom resources: kind and apiVersion are required and ours', () => {
  const cases = [
    { schema: PodCheckpoint, kind: 'PodCheckpoint', spec: { podName: 'trainer-0' } },
    { schema: PodRestore, kind: 'PodRestore', spec: { checkpointRef: { name: 'trainer-0-ckpt' } } },
    { schema: CheckpointPolicy, kind: 'CheckpointPolicy', spec: { selector: {} } },
  ];
  for (const { schema, kind, spec } of cases) {
    const obj = { apiVersion: 'cedana.ai/v1alpha1', kind, metadata: { name: 'x', namespace: 'team-a' }, spec };

    it(`${kind}: parses its own kind`, () => {
      expect(schema.parse(obj).kind).toBe(kind);
    });

    it(`${kind}: refuses another kind, another apiVersion, or none`, () => {
      const other = cases.find((c) => c.kind !== kind)?.kind ?? 'Pod';
      expect(schema.safeParse({ ...obj, kind: other }).error?.issues.map((i) => i.message)).toEqual([`expected a ${kind}, got "${other}"`]);
      expect(schema.safeParse({ ...obj, apiVersion: 'cedana.ai/v1' }).error?.issues.map((i) => i.message)).toEqual([`expected apiVersion cedana.ai/v1alpha1 for a ${kind}, got "cedana.ai/v1"`]);
      const { kind: _k, ...noKind } = obj;
      expect(schema.safeParse(noKind).success).toBe(false);
      expect(schema.safeParse({ ...namespace, spec }).success).toBe(false);
    });
  }
});
