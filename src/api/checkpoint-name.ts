// Cedana's declarative restore, as both the operator and the simulator read it: a container's
// CEDANA_CHECKPOINT names its checkpoints, and a new pod whose container carries the same value
// starts from the newest Ready checkpoint of that name. The value is what the container sees, so
// it is resolved the way the kubelet resolves env: literal values with $(VAR) expanded from the
// variables before it, and valueFrom.fieldRef on the pod's own fields. A value from a ConfigMap or
// a Secret cannot be known from the pod object: it resolves to null.
//
// The identity the owner keeps across a replacement is read here too: the controller owner, and for
// a Job the completion index.
/** The environment variable that names a container's checkpoints (Cedana's declarative restore). */
export const CEDANA_CHECKPOINT_ENV = 'CEDANA_CHECKPOINT';

/** The Job controller's index annotation (and, since 1.28, label) on an indexed Job's pods. */
export const JOB_COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';

interface EnvVar {
  name: string;
  value?: string | undefined;
  valueFrom?: { fieldRef?: { fieldPath?: string | undefined } | undefined } | undefined;
}
interface PodLike {
  metadata: {
    name: string;
    namespace?: string | undefined;
    uid?: string | undefined;
    labels?: Record<string, string> | undefined;
    annotations?: Record<string, string> | undefined;
    ownerReferences?: readonly { apiVersion?: string; kind: string; name: string; uid: string; controller?: boolean | undefined }[] | undefined;
  };
  spec?: Record<string, unknown> | undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function containersOf(pod: PodLike): { env: EnvVar[] }[] {
  const containers = pod.spec?.containers;
  if (!Array.isArray(containers)) return [];
  return containers.flatMap((c: unknown) => {
    if (!isRecord(c)) return [];
    const env = Array.isArray(c.env) ? c.env.filter((e: unknown): e is EnvVar => isRecord(e) && typeof e.name === 'string') : [];
    return [{ env }];
  });
}

const KEYED = /^metadata\.(labels|annotations)\['([^']+)'\]$/;

/** A fieldRef on the pod itself, as the downward API gives it; undefined for one it does not know. */
function field(pod: PodLike, path: string): string | undefined {
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? 'default';
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'spec.nodeName':
    case 'spec.serviceAccountName': {
      const v = pod.spec?.[path.slice('spec.'.length)];
      return typeof v === 'string' ? v : undefined;
    }
    default: {
      const m = KEYED.exec(path);
      if (!m) return undefined;
      const key = m[2] ?? '';
      if (m[1] === 'labels') return pod.metadata.labels?.[key];
      // The operator's cache keeps no annotations but this one, which the Job controller also sets as a label.
      return pod.metadata.annotations?.[key] ?? (key === JOB_COMPLETION_INDEX ? pod.metadata.labels?.[key] : undefined);
    }
  }
}

/** The kubelet's $(VAR) expansion: $$ is a $, a known variable is replaced, an unknown one stays as written. */
function expand(value: string, vars: Map<string, string | undefined>): string | undefined {
  const seen = { unknown: false };
  const out = value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (name === undefined) return '$';
    if (!vars.has(name)) return whole;
    const v = vars.get(name);
    if (v === undefined) seen.unknown = true;
    return v ?? '';
  });
  return seen.unknown ? undefined : out;
}

export interface DeclaredCheckpoint {
  /** Some container sets CEDANA_CHECKPOINT. */
  declared: boolean;
  /** Its value as the container sees it; null when not declared, empty, or not knowable from the pod. */
  name: string | null;
}

/** The pod's CEDANA_CHECKPOINT (the first container that sets it). */
export function declaredCheckpoint(pod: PodLike): DeclaredCheckpoint {
  for (const c of containersOf(pod)) {
    const vars = new Map<string, string | undefined>();
    for (const e of c.env) {
      let v: string | undefined;
      if (e.value !== undefined) v = expand(e.value, vars);
      else if (e.valueFrom?.fieldRef?.fieldPath !== undefined) v = field(pod, e.valueFrom.fieldRef.fieldPath);
      else if (e.valueFrom === undefined) v = '';
      if (e.name === CEDANA_CHECKPOINT_ENV) return { declared: true, name: v === undefined || v.trim() === '' ? null : v };
      vars.set(e.name, v);
    }
  }
  return { declared: false, name: null };
}

/** The env entries a CEDANA_CHECKPOINT value refers to through $(VAR): what a compact pod must keep to resolve it. */
export function referencedVariables(value: string): string[] {
  return [...value.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g)].flatMap((m) => (m[1] ? [m[1]] : []));
}

export interface ControllerOwner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** The pod's controller owner (ownerReferences with controller: true), if any. */
export function controllerOf(pod: PodLike): ControllerOwner | undefined {
  const o = pod.metadata.ownerReferences?.find((r) => r.controller === true);
  return o ? { apiVersion: o.apiVersion ?? '', kind: o.kind, name: o.name, uid: o.uid } : undefined;
}

/** A Job pod's completion index (indexed Jobs only). */
export const completionIndexOf = (pod: PodLike): string | undefined => pod.metadata.annotations?.[JOB_COMPLETION_INDEX] ?? pod.metadata.labels?.[JOB_COMPLETION_INDEX];
