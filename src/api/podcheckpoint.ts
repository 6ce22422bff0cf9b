// PodCheckpoint: one checkpoint of one pod. Spec and status schemas are the single source of truth
// for the TypeScript types and for crds/podcheckpoints.cedana.ai.yaml.
import { z } from 'zod';
import { CheckpointOperationStatus } from '../cedana/schemas.ts';
import { Conditions, typedObject } from './meta.ts';
import { objectName } from './names.ts';

export const CheckpointKind = z.enum(['simple', 'rootfs', 'rootfsonly']);
export const CheckpointReason = z.enum(['manual', 'heartbeat']);
export const Compression = z.enum(['none', 'tar', 'lz4', 'gzip', 'zlib']);
export const DeletionPolicy = z.enum(['Deprecate', 'Retain']);
/** Carried by a PodCheckpoint with deletionPolicy Deprecate: its deletion waits for the Cedana deprecation. */
export const CHECKPOINT_FINALIZER = 'cedana.ai/deprecate-checkpoint';

/**
 * criuOpts is handed to Cedana as a JSON string of CRIU options. Neither CEL nor the parse schema
 * checks it (a parse failure would drop the object unseen): the reconcilers do, and fail it clearly.
 */
export const isJsonObjectString = (s: string): boolean => {
  try {
    const v: unknown = JSON.parse(s);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
};

export const CheckpointOverridesSpec = z
  .object({
    asynchronous: z.boolean().optional(),
    compression: Compression.optional(),
    criuOpts: z.string().max(8192).optional().meta({ description: 'CRIU options as a JSON object string.' }),
    directory: z.string().max(4096).optional(),
    streams: z.int().min(0).max(64).optional(),
  })
  .meta({ description: 'Passed to Cedana as the checkpoint overrides.' });

export const PodCheckpointSpec = z
  .object({
    podName: objectName('podName', 'Name of the pod to checkpoint, in this namespace. Immutable.'),
    kind: CheckpointKind.default('simple'),
    reason: CheckpointReason.default('manual'),
    overrides: CheckpointOverridesSpec.optional(),
    deletionPolicy: DeletionPolicy.default('Deprecate').meta({
      description: 'Deprecate: deprecate the Cedana checkpoint when this object is deleted. Retain: leave it.',
    }),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: 'self.podName == oldSelf.podName && self.kind == oldSelf.kind && self.reason == oldSelf.reason && has(self.overrides) == has(oldSelf.overrides) && (!has(self.overrides) || self.overrides == oldSelf.overrides)',
        message: 'spec is immutable except for deletionPolicy',
      },
    ],
  });

export const CheckpointPhase = z.enum(['Pending', 'Submitted', 'Checkpointing', 'Ready', 'Failed']);

export const PodCheckpointStatus = z.object({
  phase: CheckpointPhase.optional(),
  actionId: z.string().optional(),
  checkpointId: z.string().optional(),
  podUID: z.string().optional(),
  nodeName: z.string().optional(),
  restorePath: z.string().optional(),
  cedanaStatus: CheckpointOperationStatus.optional(),
  message: z.string().optional(),
  submitStartedAt: z.string().optional().meta({
    description: 'Set before the checkpoint request is sent: after a crash, the operator looks the action up instead of sending it twice.',
  }),
  submittedAt: z.string().optional(),
  completedAt: z.string().optional(),
  observedGeneration: z.int().optional(),
  conditions: Conditions.optional(),
});

export const PodCheckpoint = typedObject('PodCheckpoint', PodCheckpointSpec, PodCheckpointStatus);
export type PodCheckpoint = z.infer<typeof PodCheckpoint>;
export type PodCheckpointSpec = z.infer<typeof PodCheckpointSpec>;
export type PodCheckpointStatus = z.infer<typeof PodCheckpointStatus>;
export type CheckpointPhase = z.infer<typeof CheckpointPhase>;
