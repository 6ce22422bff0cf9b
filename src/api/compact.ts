// The compact form of Pods and Nodes kept in the operator's caches: only what the controllers,
// selectors and the eviction webhook read. A 10,000-pod cluster then fits in a small heap; the full
// pod is read from the apiserver when its spec is uploaded to Cedana. managedFields never reach the
// cache.
import { CEDANA_CHECKPOINT_ENV, JOB_COMPLETION_INDEX, referencedVariables } from './checkpoint-name.ts';
import type { Node, Pod } from './pod.ts';

export { CEDANA_CHECKPOINT_ENV };

/**
 * One copy of each string that repeats across pods (namespaces, node names, label values, owners,
 * kinds): JSON.parse makes a new string for every value it reads, and a cache of 10,000 pods held
 * 6 MiB of copies. Bounded: when the table is full it starts again (strings already shared stay
 * shared), so a cluster of unique values costs at most the table.
 */
const INTERN_MAX = 20_000;
const interned = new Map<string, string>();
export function intern(s: string): string {
  const known = interned.get(s);
  if (known !== undefined) return known;
  if (interned.size >= INTERN_MAX) interned.clear();
  interned.set(s, s);
  return s;
}
const internOpt = (s: string | undefined): string | undefined => (s === undefined ? undefined : intern(s));

function internValues(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in labels) out[k] = intern(labels[k] as string);
  return out;
}

const metaOf = (m: Pod['metadata']): Pod['metadata'] => ({
  name: m.name,
  ...(m.namespace !== undefined ? { namespace: intern(m.namespace) } : {}),
  ...(m.uid !== undefined ? { uid: m.uid } : {}),
  ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
  ...(m.generation !== undefined ? { generation: m.generation } : {}),
  ...(m.creationTimestamp !== undefined ? { creationTimestamp: m.creationTimestamp } : {}),
  ...(m.deletionTimestamp !== undefined ? { deletionTimestamp: m.deletionTimestamp } : {}),
  ...(m.labels !== undefined ? { labels: internValues(m.labels) } : {}),
  ...(m.ownerReferences !== undefined
    ? {
        ownerReferences: m.ownerReferences.map((o) => ({
          apiVersion: intern(o.apiVersion),
          kind: intern(o.kind),
          name: intern(o.name),
          uid: o.uid,
          ...(o.controller !== undefined ? { controller: o.controller } : {}),
        })),
      }
    : {}),
});

/** The pod conditions a controller reads: DisruptionTarget (pod-protection.ts). */
const KEPT_POD_CONDITIONS = new Set(['DisruptionTarget']);

export function compactPod(p: Pod): Pod {
  const containers = (p.spec as { containers?: { name: string; env?: { name: string; value?: string }[] }[] }).containers;
  // Only containers that declare CEDANA_CHECKPOINT, with it and the variables its value refers to
  // ($(JOB_COMPLETION_INDEX)): enough to resolve it (checkpoint-name.ts), and nothing reads the others.
  const named = containers?.flatMap((c) => {
    const declared = c.env?.find((e) => e.name === CEDANA_CHECKPOINT_ENV);
    if (!declared) return [];
    const refs = new Set(declared.value !== undefined ? referencedVariables(declared.value) : []);
    const env = (c.env ?? []).filter((e) => e.name === CEDANA_CHECKPOINT_ENV || refs.has(e.name)).map((e) => ({ ...e, name: intern(e.name) }));
    return [{ name: intern(c.name), env }];
  });
  // An indexed Job's completion index: the identity its replacement keeps.
  const index = p.metadata.annotations?.[JOB_COMPLETION_INDEX];
  const status = p.status as (Pod['status'] & { startTime?: unknown }) | undefined;
  const conditions = status?.conditions?.filter((c) => KEPT_POD_CONDITIONS.has(c.type));
  return {
    ...(p.apiVersion !== undefined ? { apiVersion: intern(p.apiVersion) as typeof p.apiVersion } : {}),
    ...(p.kind !== undefined ? { kind: intern(p.kind) } : {}),
    metadata: { ...metaOf(p.metadata), ...(index !== undefined ? { annotations: { [JOB_COMPLETION_INDEX]: index } } : {}) },
    spec: { ...(p.spec.nodeName !== undefined ? { nodeName: intern(p.spec.nodeName) } : {}), ...(named?.length ? { containers: named } : {}) },
    ...(status
      ? {
          status: {
            ...(status.phase !== undefined ? { phase: internOpt(status.phase) } : {}),
            // When the kubelet started it: the recovery point's age counts from there (recovery-point.ts).
            ...(typeof status.startTime === 'string' ? { startTime: status.startTime } : {}),
            ...(conditions?.length ? { conditions: conditions.map((c) => ({ type: intern(c.type), status: intern(c.status), ...(c.reason !== undefined ? { reason: intern(c.reason) } : {}) })) } : {}),
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
