// PodRestore: restore one checkpoint, named by a PodCheckpoint or by a Cedana action id.
import { z } from 'zod';
import { Conditions, typedObject } from './meta.ts';
import { objectName } from './names.ts';

export const RestoreReason = z.enum(['manual', 'nodeTermination', 'nodeUnschedulable']);

export const PodRestoreSpec = z
  .object({
    checkpointRef: z
      .object({ name: objectName('checkpointRef.name', 'Name of the PodCheckpoint.') })
      .optional()
      .meta({ description: 'A PodCheckpoint in this namespace; it must become Ready.' }),
    actionId: z.guid().optional().meta({ description: 'A Cedana checkpoint action id, instead of checkpointRef.' }),
    reason: RestoreReason.default('manual'),
    podName: objectName('podName', 'Name of the restored pod (Cedana defaults to <pod>-restored).').optional(),
    criuOpts: z
      .string()
      .max(8192)
      .optional(),
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: 'has(self.checkpointRef) != has(self.actionId)', message: 'exactly one of checkpointRef and actionId must be set' },
      { rule: 'self == oldSelf', message: 'spec is immutable' },
    ],
  });

export const RestorePhase = z.enum(['Pending', 'Restoring', 'Succeeded', 'Failed']);

export const RestoredPod = z.object({ name: z.string(), uid: z.string().optional(), nodeName: z.string().optional() });

export const PodRestoreStatus = z.object({
  phase: RestorePhase.optional(),
  checkpointActionId: z.string().optional(),
  restoreActionId: z.string().optional(),
  restoredPod: RestoredPod.optional(),
  cedanaStatus: z.string().optional(),
  message: z.string().optional(),
  submitStartedAt: z.string().optional().meta({
    description: 'Set before the restore request is sent: after a crash, the operator looks the action up instead of sending it twice.',
  }),
  submittedAt: z.string().optional(),
  completedAt: z.string().optional(),
  observedGeneration: z.int().optional(),
  conditions: Conditions.optional(),
});

export const PodRestore = typedObject('PodRestore', PodRestoreSpec, PodRestoreStatus);
export type PodRestore = z.infer<typeof PodRestore>;
export type PodRestoreSpec = z.infer<typeof PodRestoreSpec>;
export type PodRestoreStatus = z.infer<typeof PodRestoreStatus>;
export type RestorePhase = z.infer<typeof RestorePhase>;
