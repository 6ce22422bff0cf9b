// Condition types and reasons, one place per kind: the reconcilers write them, tests and the CLI
// read them, and a typo is a compile error rather than a condition nobody looks for.

/** Types both PodCheckpoint and PodRestore carry. */
export const COMMON_CONDITIONS = { Submitted: 'Submitted', Ready: 'Ready' } as const;

export const CHECKPOINT_CONDITIONS = { ...COMMON_CONDITIONS, SpecUploaded: 'SpecUploaded' } as const;
export const CHECKPOINT_REASONS = {
  Submitting: 'Submitting',
  CedanaUnavailable: 'CedanaUnavailable',
  Submitted: 'Submitted',
  Checkpointing: 'Checkpointing',
  CheckpointReady: 'CheckpointReady',
  Uploaded: 'Uploaded',
  UploadRejected: 'UploadRejected',
  InvalidSpec: 'InvalidSpec',
  PodNotFound: 'PodNotFound',
  PodReplaced: 'PodReplaced',
  CedanaRejected: 'CedanaRejected',
  ActionNotFound: 'ActionNotFound',
  CheckpointFailed: 'CheckpointFailed',
} as const;

export const RESTORE_CONDITIONS = { ...COMMON_CONDITIONS, Restored: 'Restored' } as const;
export const RESTORE_REASONS = {
  CheckpointNotFound: 'CheckpointNotFound',
  WaitingForCheckpoint: 'WaitingForCheckpoint',
  CheckpointFailed: 'CheckpointFailed',
  Restoring: 'Restoring',
  CedanaReady: 'CedanaReady',
  Restored: 'Restored',
  RestoredPodNotFound: 'RestoredPodNotFound',
  RestoreFailed: 'RestoreFailed',
  InvalidSpec: 'InvalidSpec',
  // OwnerReplacement
  WaitingForReplacement: 'WaitingForReplacement',
  WaitingForCedanaRestore: 'WaitingForCedanaRestore',
  MissingCheckpointName: 'MissingCheckpointName',
  ReplacementNotFound: 'ReplacementNotFound',
  ReplacementNotRestored: 'ReplacementNotRestored',
} as const;

export const POLICY_CONDITIONS = {
  Ready: 'Ready',
  PodsLost: 'PodsLost',
  /** Protected pods with a controller owner name their checkpoints (CEDANA_CHECKPOINT): their owner's replacement can be restored. */
  DeclarativeRestoreReady: 'DeclarativeRestoreReady',
} as const;
export const POLICY_REASONS = {
  Protecting: 'Protecting',
  HeartbeatTooFrequent: 'HeartbeatTooFrequent',
  NoReadyCheckpoint: 'NoReadyCheckpoint',
  MissingCheckpointName: 'MissingCheckpointName',
  CheckpointNamesSet: 'CheckpointNamesSet',
  NoPodsLost: 'NoPodsLost',
} as const;
