// The compact form of Pods and Nodes kept in the operator's caches: only what the controllers,
// selectors and the eviction webhook read. A 10,000-pod cluster then fits in a small heap; the full
// pod is read from the apiserver when its spec is uploaded to Cedana. managedFields never reach the
// cache.
import { CEDANA_CHECKPOINT_ENV, JOB_COMPLETION_INDEX, referencedVariables } from './checkpoint-name.ts';
import type { Node, Pod } from './pod.ts';

export { CEDANA_CHECKPOINT_ENV };

const metaOf = (m: Pod['metadata']): Pod['metadata'] => ({
  name: m.name,
  ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
  ...(m.uid !== undefined ? { uid: m.uid } : {}),
  ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
  ...(m.generation !== undefined ? { generation: m.generation } : {}),
  ...(m.creationTimestamp !== undefined ? { creationTimestamp: m.creationTimestamp } : {}),
  ...(m.deletionTimestamp !== undefined ? { deletionTimestamp: m.deletionTimestamp } : {}),
  ...(m.labels !== undefined ? { labels: m.labels } : {}),
  ...(m.ownerReferences !== undefined
    ? { ownerReferences: m.ownerReferences.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.name, uid: o.uid, ...(o.controller !== undefined ? { controller: o.controller } : {}) })) }
    : {}),
});

export function compactPod(p: Pod): Pod {
  const containers = (p.spec as { containers?: { name: string; env?: { name: string; value?: string }[] }[] }).containers;
  const named = containers?.flatMap((c) => {
    // CEDANA_CHECKPOINT, and the variables its value refers to ($(JOB_COMPLETION_INDEX)): enough to resolve it.
    const declared = c.env?.find((e) => e.name === CEDANA_CHECKPOINT_ENV);
    const refs = new Set(declared?.value !== undefined ? referencedVariables(declared.value) : []);
    const env = c.env?.filter((e) => e.name === CEDANA_CHECKPOINT_ENV || refs.has(e.name));
    return [{ name: c.name, ...(env?.length ? { env } : {}) }];
  });
  // An indexed Job's completion index: the identity its replacement keeps.
  const index = p.metadata.annotations?.[JOB_COMPLETION_INDEX];
  return {
    ...(p.apiVersion !== undefined ? { apiVersion: p.apiVersion } : {}),
    ...(p.kind !== undefined ? { kind: p.kind } : {}),
    metadata: { ...metaOf(p.metadata), ...(index !== undefined ? { annotations: { [JOB_COMPLETION_INDEX]: index } } : {}) },
    spec: { ...(p.spec.nodeName !== undefined ? { nodeName: p.spec.nodeName } : {}), ...(named ? { containers: named } : {}) },
    ...(p.status
      ? {
          status: {
            ...(p.status.phase !== undefined ? { phase: p.status.phase } : {}),
            ...(p.status.conditions ? { conditions: p.status.conditions.map((c) => ({ type: c.type, status: c.status, ...(c.reason !== undefined ? { reason: c.reason } : {}) })) } : {}),
          },
        }
      : {}),
  };
}

export function compactNode(n: Node): Node {
  return {
    ...(n.apiVersion !== undefined ? { apiVersion: n.apiVersion } : {}),
    ...(n.kind !== undefined ? { kind: n.kind } : {}),
    metadata: metaOf(n.metadata),
    ...(n.spec
      ? {
          spec: {
            ...(n.spec.unschedulable !== undefined ? { unschedulable: n.spec.unschedulable } : {}),
            ...(n.spec.taints ? { taints: n.spec.taints.map((t) => ({ key: t.key, effect: t.effect, ...(t.value !== undefined ? { value: t.value } : {}) })) } : {}),
          },
        }
      : {}),
    ...(n.status?.conditions
      ? {
          status: {
            conditions: n.status.conditions.map((c) => ({ type: c.type, status: c.status, ...(c.lastTransitionTime !== undefined ? { lastTransitionTime: c.lastTransitionTime } : {}) })),
          },
        }
      : {}),
  };
}
