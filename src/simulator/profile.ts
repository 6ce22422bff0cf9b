// The simulator's two ways of answering. `reference` follows the reference pages field for field
// (the contract tests and schemathesis run against it). `service` answers as the real Cedana
// service does where it differs (../shared/cedana-api/REAL-SERVICE.md): see docs/simulator.md.
import { z } from 'zod';

export const Profile = z.enum(['reference', 'service']);
export type Profile = z.infer<typeof Profile>;

/** The service's action types (REAL-SERVICE.md); the reference's are `checkpoint` and `restore`. */
export const SERVICE_TYPES = { checkpoint: 'checkpoint_pod', heartbeat: 'heartbeat', restore: 'restore_pod' } as const;

/** Sync lag of the service profile unless syncLagMs says otherwise. */
export const DEFAULT_SYNC_LAG_MS = 2000;

/** The /v2 operations the service's /v1 generation serves under /v1 too. */
export const V1_ALIASED = /^\/v2\/(checkpoint|checkpoints|restore|actions)(\/|$)/;
