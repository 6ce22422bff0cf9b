// The parts of Pods and Nodes the operator reads, parsed at the boundary. Everything else is kept
// (looseObject): the pod spec is uploaded to Cedana whole, so that the restore rebuilds it faithfully.
import { z } from 'zod';
import { ObjectMeta } from './meta.ts';

export const Pod = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
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
