// The parts of Pods and Nodes the operator reads, parsed at the boundary. Everything else is kept
// (looseObject): the pod spec is uploaded to Cedana whole, so that the restore rebuilds it faithfully.
import { z } from 'zod';
import { ObjectMeta } from './meta.ts';

/**
 * kind and apiVersion, when present, must be the ones asked for: a read of `pods/..` answers with the
 * Namespace, and a path trick must not pass another kind off as a pod. List items carry neither.
 */
const kindOf = (kind: string) => ({
  apiVersion: z.literal('v1', { error: (i) => `expected apiVersion v1 for a ${kind}, got ${JSON.stringify(i.input)}` }).optional(),
  kind: z.literal(kind, { error: (i) => `expected a ${kind}, got ${JSON.stringify(i.input)}` }).optional(),
});

export const Pod = z.looseObject({
  ...kindOf('Pod'),
  metadata: ObjectMeta,
  spec: z.looseObject({
    nodeName: z.string().optional(),
    volumes: z.array(z.looseObject({ name: z.string(), persistentVolumeClaim: z.looseObject({ claimName: z.string() }).optional() })).optional(),
  }),
  status: z
    .looseObject({
      phase: z.string().optional(),
      conditions: z.array(z.looseObject({ type: z.string(), status: z.string(), reason: z.string().optional() })).optional(),
    })
    .optional(),
});
export type Pod = z.infer<typeof Pod>;

/** Labels the (simulated or real) Cedana side puts on a restored pod. */
export const RESTORE_ACTION_LABEL = 'cedana.ai/restore-action-id';

export const Node = z.looseObject({
  ...kindOf('Node'),
  metadata: ObjectMeta,
  spec: z
    .looseObject({
      unschedulable: z.boolean().optional(),
      taints: z.array(z.looseObject({ key: z.string(), value: z.string().optional(), effect: z.string() })).optional(),
    })
    .optional(),
  status: z
    .looseObject({
      conditions: z.array(z.looseObject({ type: z.string(), status: z.string(), lastTransitionTime: z.string().optional() })).optional(),
    })
    .optional(),
});
export type Node = z.infer<typeof Node>;

/** Labels on the PodCheckpoints and PodRestores the operator creates by itself. */
export const LABELS = {
  pod: 'cedana.ai/pod',
  podUID: 'cedana.ai/pod-uid',
  node: 'cedana.ai/node',
  trigger: 'cedana.ai/trigger',
} as const;
/** The full node name (a label value is cut to 63 characters; this is what the operator compares). */
export const NODE_ANNOTATION = 'cedana.ai/node-name';
/** On a termination checkpoint: the restore reason, or "none" when the policy says not to restore. */
export const RESTORE_REASON_ANNOTATION = 'cedana.ai/restore-reason';
