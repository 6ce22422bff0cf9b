// CEDANA_CHECKPOINT as the container sees it: literal values, $(VAR) from the variables before it,
// fieldRefs on the pod; the compact pod of the operator's cache keeps enough to resolve it.
import { describe, expect, it } from 'vitest';
import { declaredCheckpoint, JOB_COMPLETION_INDEX } from '../../../src/api/checkpoint-name.ts';
import { compactPod } from '../../../src/api/compact.ts';
import { Pod } from '../../../src/api/pod.ts';

const pod = (env: Record<string, unknown>[] | undefined, meta: Record<string, unknown> = {}) =>
  Pod.parse({ metadata: { name: 'trainer-0', namespace: 'ml', uid: 'u-1', ...meta }, spec: { containers: [{ name: 'sidecar' }, { name: 'main', ...(env ? { env } : {}) }] } });

const INDEX_ENV = { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX}']` } } };

describe('declaredCheckpoint', () => {
  it.each([
    ['no env', undefined, {}, { declared: false, name: null }],
    ['a literal value', [{ name: 'CEDANA_CHECKPOINT', value: 'web' }], {}, { declared: true, name: 'web' }],
    ['an empty value', [{ name: 'CEDANA_CHECKPOINT', value: ' ' }], {}, { declared: true, name: null }],
    ['metadata.name (a StatefulSet)', [{ name: 'CEDANA_CHECKPOINT', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }], {}, { declared: true, name: 'trainer-0' }],
    ['a label', [{ name: 'CEDANA_CHECKPOINT', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }], { labels: { app: 'trainer' } }, { declared: true, name: 'trainer' }],
    [
      'an indexed Job: <job>-$(JOB_COMPLETION_INDEX)',
      [INDEX_ENV, { name: 'CEDANA_CHECKPOINT', value: 'batch-$(JOB_COMPLETION_INDEX)' }],
      { annotations: { [JOB_COMPLETION_INDEX]: '3' } },
      { declared: true, name: 'batch-3' },
    ],
    [
      '$(VAR) defined after it stays as written (the kubelet does the same)',
      [
        { name: 'CEDANA_CHECKPOINT', value: 'x-$(LATER)' },
        { name: 'LATER', value: 'y' },
      ],
      {},
      { declared: true, name: 'x-$(LATER)' },
    ],
    ['$$ is a dollar', [{ name: 'CEDANA_CHECKPOINT', value: 'a$$(B)' }], {}, { declared: true, name: 'a$(B)' }],
    ['from a ConfigMap: not knowable from the pod', [{ name: 'CEDANA_CHECKPOINT', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }], {}, { declared: true, name: null }],
    [
      'referring to a Secret-valued variable: not knowable',
      [
        { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
        { name: 'CEDANA_CHECKPOINT', value: 'x-$(S)' },
      ],
      {},
      { declared: true, name: null },
    ],
  ])('%s', (_name, env, meta, expected) => {
    expect(declaredCheckpoint(pod(env, meta))).toEqual(expected);
  });

  it('the compact pod resolves the same: the variables it refers to and the completion index are kept, nothing else', () => {
    const full = pod([{ name: 'OTHER', value: 'big' }, INDEX_ENV, { name: 'CEDANA_CHECKPOINT', value: 'batch-$(JOB_COMPLETION_INDEX)' }], {
      annotations: { [JOB_COMPLETION_INDEX]: '2', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
    });
    const compact = compactPod(full);
    expect(declaredCheckpoint(compact)).toEqual({ declared: true, name: 'batch-2' });
    expect(compact.metadata.annotations).toEqual({ [JOB_COMPLETION_INDEX]: '2' });
    expect(JSON.stringify(compact)).not.toContain('OTHER');
  });
});
