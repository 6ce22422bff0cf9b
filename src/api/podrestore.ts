// PodRestore: restore one checkpoint, named by a PodCheckpoint or by a Cedana action id.
import { z } from 'zod';
import { Conditions, typedObject } from './meta.ts';
import { objectName } from './names.ts';

export const RestoreReason = z.enum(['manual', 'nodeTermination', 'nodeUnschedulable']);

/**
 * NewPod: Cedana creates the restored pod (POST /v2/restore/pod). OwnerReplacement: the pod's owner
 * makes its own replacement, and Cedana's declarative restore starts it from the checkpoint named
 * by its CEDANA_CHECKPOINT; the operator posts nothing and follows that restore.
 */
export const PodRestoreMode = z.enum(['NewPod', 'OwnerReplacement']);
export type PodRestoreMode = z.infer<typeof PodRestoreMode>;

const uid = (what: string) => z.string().min(1).max(128).meta({ description: what });

export const PodRestoreSpec = z
  .object({
    checkpointRef: z
      .object({ name: objectName('checkpointRef.name', 'Name of the PodCheckpoint.') })
      .optional()
      .meta({ description: 'A PodCheckpoint in this namespace; it must become Ready.' }),
    actionId: z.guid().optional().meta({ description: 'A Cedana checkpoint action id, instead of checkpointRef.' }),
    reason: RestoreReason.default('manual'),
    podName: objectName('podName', 'Name of the restored pod (Cedana defaults to <pod>-restored).').optional(),
    criuOpts: z.string().max(8192).optional(),
    mode: PodRestoreMode.optional().meta({
      description: "NewPod (the default): Cedana creates the restored pod. OwnerReplacement: the owner's replacement pod, started from the checkpoint by Cedana's declarative restore.",
    }),
    checkpointName: z.string().max(253).optional().meta({ description: "OwnerReplacement: the original pod's CEDANA_CHECKPOINT value; absent when it had none (its replacement cannot be restored)." }),
    owner: z
      .object({ apiVersion: z.string().max(253).optional(), kind: z.string().min(1).max(63), name: objectName('owner.name', "Name of the pod's controller owner."), uid: uid("The owner's uid.") })
      .optional()
      .meta({ description: 'OwnerReplacement: the controller owner whose replacement pod is the restore.' }),
    originalPod: z
      .object({
        name: objectName('originalPod.name', 'Name of the pod that was checkpointed.'),
        uid: uid("The checkpointed pod's uid."),
        completionIndex: z.string().max(20).optional().meta({ description: 'An indexed Job pod: the completion index its replacement keeps.' }),
      })
      .optional()
      .meta({ description: 'OwnerReplacement: the pod that left; its replacement has the same owner (and name for a StatefulSet, index for a Job).' }),
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: 'has(self.checkpointRef) != has(self.actionId)', message: 'exactly one of checkpointRef and actionId must be set' },
      {
        rule: "has(self.mode) && self.mode == 'OwnerReplacement' ? has(self.owner) && has(self.originalPod) && has(self.checkpointRef) && !has(self.podName) : !has(self.owner) && !has(self.originalPod) && !has(self.checkpointName)",
        message: 'mode OwnerReplacement needs owner, originalPod and checkpointRef (and no podName); owner, originalPod and checkpointName are for OwnerReplacement only',
      },
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
  checkpointId: z.string().optional().meta({ description: 'OwnerReplacement: the Cedana checkpoint the replacement started from (its restore action says).' }),
  checkpointName: z.string().optional().meta({ description: 'OwnerReplacement: the CEDANA_CHECKPOINT value the replacement carries.' }),
  cedanaStatus: z.string().optional(),
  message: z.string().optional(),
  submitStartedAt: z.string().optional().meta({
    description: 'Set before the restore request is sent: after a crash, the operator looks the action up instead of sending it twice.',
  }),
  submittedAt: z.string().optional(),
  waitingSince: z.string().optional().meta({ description: 'OwnerReplacement: since when no replacement is there to follow (bounded by --restored-pod-timeout).' }),
  completedAt: z.string().optional(),
  observedGeneration: z.int().optional(),
  conditions: Conditions.optional(),
});

export const PodRestore = typedObject('PodRestore', PodRestoreSpec, PodRestoreStatus);
export type PodRestore = z.infer<typeof PodRestore>;
export type PodRestoreSpec = z.infer<typeof PodRestoreSpec>;
export type PodRestoreStatus = z.infer<typeof PodRestoreStatus>;
export type RestorePhase = z.infer<typeof RestorePhase>;
