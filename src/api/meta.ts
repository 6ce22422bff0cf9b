// Kubernetes object metadata and metav1.Condition, as zod schemas: every object read from the
// apiserver is parsed at the boundary. Unknown fields are kept (looseObject) so that a write-back
// or an upload of the object loses nothing.
import { z } from 'zod';

export const OwnerReference = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});

export const ObjectMeta = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.int().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).optional(),
  deletionTimestamp: z.union([z.string(), z.date()]).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z.array(OwnerReference).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;

export const ConditionStatus = z.enum(['True', 'False', 'Unknown']);

/** metav1.Condition, exactly. */
export const Condition = z.object({
  type: z.string().min(1).max(316).meta({ description: 'Type of condition in CamelCase.' }),
  status: ConditionStatus,
  reason: z.string().min(1).max(1024).meta({ description: 'Programmatic identifier of the last transition, in CamelCase.' }),
  message: z.string().max(32768),
  lastTransitionTime: z.string().meta({ format: 'date-time', description: 'When the status last changed.' }),
  observedGeneration: z.int().min(0).optional(),
});
export type Condition = z.infer<typeof Condition>;

/** The conditions list: a list-type map keyed by `type`, as kubebuilder writes it. */
export const Conditions = z.array(Condition).meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });

export const GROUP = 'cedana.ai';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/**
 * Any object of ours: apiVersion, kind, metadata; spec and status typed by the caller. apiVersion and
 * kind are required and must be ours (custom resources carry them in lists and watches too), so
 * nothing but the kind asked for parses.
 */
export const typedObject = <S extends z.ZodType, St extends z.ZodType>(kind: string, spec: S, status: St) =>
  z.object({
    apiVersion: z.literal(API_VERSION, { error: (i) => `expected apiVersion ${API_VERSION} for a ${kind}, got ${JSON.stringify(i.input)}` }),
    kind: z.literal(kind, { error: (i) => `expected a ${kind}, got ${JSON.stringify(i.input)}` }),
    metadata: ObjectMeta,
    spec,
    status: status.optional(),
  });
