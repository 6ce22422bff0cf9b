// admission.k8s.io/v1 AdmissionReview and policy/v1 Eviction, parsed at the boundary. Whatever the
// apiserver (or anyone on the port) sends, the answer is a well-formed review: a request that is not
// an eviction, or that does not parse, is allowed with a warning that says why; never a hold.
import { z } from 'zod';

export const GroupVersionKind = z.looseObject({ group: z.string(), version: z.string(), kind: z.string() });
export const GroupVersionResource = z.looseObject({ group: z.string(), version: z.string(), resource: z.string() });

export const AdmissionRequest = z.looseObject({
  uid: z.string().min(1),
  kind: GroupVersionKind,
  resource: GroupVersionResource,
  subResource: z.string().optional(),
  requestKind: GroupVersionKind.optional(),
  requestResource: GroupVersionResource.optional(),
  requestSubResource: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  operation: z.string(),
  userInfo: z.looseObject({ username: z.string().optional() }).optional(),
  object: z.unknown().optional(),
  oldObject: z.unknown().optional(),
  dryRun: z.boolean().optional(),
  options: z.unknown().optional(),
});
export type AdmissionRequest = z.infer<typeof AdmissionRequest>;

export const AdmissionReview = z.looseObject({
  apiVersion: z.literal('admission.k8s.io/v1', { error: (i) => `expected apiVersion admission.k8s.io/v1, got ${JSON.stringify(i.input)}` }),
  kind: z.literal('AdmissionReview', { error: (i) => `expected kind AdmissionReview, got ${JSON.stringify(i.input)}` }),
  request: AdmissionRequest,
});

/** policy/v1 Eviction: the object of a CREATE of pods/eviction (matchPolicy Equivalent turns v1beta1 into v1). */
export const Eviction = z.looseObject({
  apiVersion: z.literal('policy/v1').optional(),
  kind: z.literal('Eviction').optional(),
  metadata: z.looseObject({ name: z.string().min(1), namespace: z.string().optional() }),
  deleteOptions: z.looseObject({ dryRun: z.array(z.string()).optional() }).nullish(),
});
export type Eviction = z.infer<typeof Eviction>;

export interface AdmissionStatus {
  code: number;
  reason?: string;
  message: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export const reviewResponse = (response: AdmissionResponse): AdmissionReviewResponse => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });

/** Allowed, saying why in a warning (kubectl prints warnings) and in the status message (audit logs). */
export const allow = (uid: string, why?: string): AdmissionResponse => (why === undefined ? { uid, allowed: true } : { uid, allowed: true, status: { code: 200, message: why }, warnings: [why] });

/** What a drainer waits on: 429 TooManyRequests is what a PodDisruptionBudget answers, and every drainer retries it. */
export const holdResponse = (uid: string, message: string): AdmissionResponse => ({ uid, allowed: false, status: { code: 429, reason: 'TooManyRequests', message } });

export interface EvictionRequest {
  uid: string;
  namespace: string;
  /** The pod being evicted. */
  name: string;
  dryRun: boolean;
}

/** An eviction to decide on, or the answer for anything else (allowed, with the reason). */
export type Classified = { kind: 'eviction'; eviction: EvictionRequest } | { kind: 'answer'; response: AdmissionResponse };

const firstIssue = (err: z.ZodError): string => {
  const i = err.issues[0];
  return i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid';
};

/** Sorts a decoded body: an eviction of a pod to decide on, or an immediate answer. Never throws. */
export function classifyReview(body: unknown): Classified {
  const parsed = AdmissionReview.safeParse(body);
  if (!parsed.success) {
    const uid = (body as { request?: { uid?: unknown } } | null)?.request?.uid;
    return { kind: 'answer', response: allow(typeof uid === 'string' ? uid : '', `cedana-operator: not an admission.k8s.io/v1 AdmissionReview (${firstIssue(parsed.error)}); not held`) };
  }
  const r = parsed.data.request;
  const what = `${r.operation} ${r.resource.group === '' ? '' : `${r.resource.group}/`}${r.resource.resource}${r.subResource ? `/${r.subResource}` : ''}`;
  if (r.operation !== 'CREATE' || r.resource.group !== '' || r.resource.resource !== 'pods' || r.subResource !== 'eviction') {
    return { kind: 'answer', response: allow(r.uid, `cedana-operator: only CREATE of pods/eviction is held, this is ${what}; not held`) };
  }
  const ev = Eviction.safeParse(r.object);
  if (!ev.success) return { kind: 'answer', response: allow(r.uid, `cedana-operator: the eviction's object is not a policy/v1 Eviction (${firstIssue(ev.error)}); not held`) };
  const namespace = r.namespace ?? ev.data.metadata.namespace;
  const name = r.name ?? ev.data.metadata.name;
  if (!namespace) return { kind: 'answer', response: allow(r.uid, `cedana-operator: eviction of pod ${name} names no namespace; not held`) };
  const dryRun = r.dryRun === true || (ev.data.deleteOptions?.dryRun?.length ?? 0) > 0;
  return { kind: 'eviction', eviction: { uid: r.uid, namespace, name, dryRun } };
}
