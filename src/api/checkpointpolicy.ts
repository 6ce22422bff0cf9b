// CheckpointPolicy: which pods of a namespace are protected, and how.
import { z } from 'zod';
import { CheckpointKind } from './podcheckpoint.ts';
import { Conditions, typedObject } from './meta.ts';
import { LABEL_KEY_CEL, LABEL_KEY_RULE, labelKey, labelValue } from './names.ts';

/** Bounds that keep the selector's CEL rules within the apiserver's cost budget; generous for a selector. */
export const SELECTOR_LIMITS = { matchLabels: 64, matchExpressions: 32, values: 64 } as const;

const matchLabelsKeyMessage = `matchLabels keys must be label keys: ${LABEL_KEY_RULE}`;

export const LabelSelector = z
  .object({
    matchLabels: z
      .record(labelKey('a matchLabels key'), labelValue('a matchLabels value'))
      .refine((m) => Object.keys(m).length <= SELECTOR_LIMITS.matchLabels, { message: `at most ${String(SELECTOR_LIMITS.matchLabels)} matchLabels` })
      .meta({
        maxProperties: SELECTOR_LIMITS.matchLabels,
        // A map's keys have no schema of their own in a CRD: the rule is on the map.
        'x-kubernetes-validations': [{ rule: `self.all(k, ${LABEL_KEY_CEL('k')})`, message: matchLabelsKeyMessage }],
      })
      .optional(),
    matchExpressions: z
      .array(
        z
          .object({
            key: labelKey('key'),
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: z.array(labelValue('each of values')).max(SELECTOR_LIMITS.values).optional(),
          })
          .meta({
            'x-kubernetes-validations': [
              {
                rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                message: 'values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist',
              },
            ],
          }),
      )
      .max(SELECTOR_LIMITS.matchExpressions)
      .optional(),
  })
  .meta({ description: 'Pods of this namespace that the policy protects (metav1.LabelSelector).' });
export type LabelSelector = z.infer<typeof LabelSelector>;

/** Go-style duration, as the CRD accepts it: 30s, 5m, 1h30m. */
const DURATION = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

export const CheckpointPolicySpec = z.object({
  selector: LabelSelector,
  onNodeTermination: z
    .object({
      checkpoint: z.boolean().default(true).meta({ description: 'Checkpoint protected pods of a node that is going away.' }),
      restore: z.boolean().default(true).meta({ description: 'Restore them elsewhere once they have left the node.' }),
      kind: CheckpointKind.default('simple'),
    })
    .default({ checkpoint: true, restore: true, kind: 'simple' }),
  restore: z
    .object({
      mode: z.enum(['Auto', 'NewPod', 'OwnerReplacement']).default('Auto').meta({
        description:
          "How a pod is restored after an evacuation. OwnerReplacement: a pod with a controller owner (Deployment, StatefulSet, Job, ...) is restored as its owner's own replacement, through Cedana's declarative restore (CEDANA_CHECKPOINT); NewPod: Cedana creates a new pod beside whatever the owner does; Auto: OwnerReplacement for pods with a controller owner, NewPod for bare pods. A bare pod is always restored as a new pod.",
      }),
    })
    .optional(),
  heartbeat: z.object({ interval: z.string().regex(new RegExp(DURATION)).meta({ description: 'Periodic checkpoints (reason heartbeat), e.g. 30m.' }) }).optional(),
  retention: z.object({ keepLast: z.int().min(1).max(1000).meta({ description: 'Ready checkpoints kept per pod; older ones are deprecated and deleted.' }) }).optional(),
  recoveryPoint: z
    .object({
      maxAge: z.string().regex(new RegExp(DURATION)).meta({
        description: "Oldest a protected pod's newest Ready checkpoint may be before RecoveryPointMet turns False, e.g. 1h. Default: twice heartbeat.interval.",
      }),
    })
    .optional(),
});

export const CheckpointPolicyStatus = z.object({
  protectedPods: z.int().optional(),
  lastHeartbeat: z.string().optional(),
  lostPods: z.array(z.string()).optional().meta({ description: 'Pods lost with their node and no Ready checkpoint to restore from.' }),
  podsWithoutCheckpoint: z.int().optional().meta({ description: 'Protected pods with no Ready checkpoint.' }),
  worstCheckpointAge: z.string().optional().meta({ description: "Age of the oldest of the protected pods' newest Ready checkpoints when the status was written, as a duration (1h2m3s)." }),
  observedGeneration: z.int().optional(),
  conditions: Conditions.optional(),
});

export const CheckpointPolicy = typedObject('CheckpointPolicy', CheckpointPolicySpec, CheckpointPolicyStatus);
export type CheckpointPolicy = z.infer<typeof CheckpointPolicy>;
export type CheckpointPolicyStatus = z.infer<typeof CheckpointPolicyStatus>;
