// zod schemas for every schema of the Cedana API (openapi/cedana.json). Types come from here.
// Each is registered under its OpenAPI component name, so test/contract/schemas-agree.test.ts can
// render them to JSON Schema and prove they say what the document says.
import { z } from 'zod';

export const cedanaSchemas = z.registry<{ id: string }>();
const named = <T extends z.ZodType>(id: string, schema: T): T => {
  cedanaSchemas.add(schema, { id });
  return schema;
};

/** JSON Schema `format: uuid` (RFC 4122 textual form, any version). */
const uuid = () => z.guid();
/** A `{}` property: any JSON value, possibly absent. */
const anyValue = () => z.unknown().optional();
/** A `{}` property listed as required: any JSON value, but the key must be present. */
const requiredAny = () => z.custom<unknown>((v) => v !== undefined, { message: 'Required' });
const nullableString = () => z.string().nullable().optional();
const int64 = () => z.int();
const int32 = () => z.int32();

// ---- Checkpoints (000) ----
export const CheckpointStatus = named('CheckpointStatus', z.enum(['initializing', 'updated_info', 'possibly_uploaded', 'ready', 'deprecated']));

export const Checkpoint = named(
  'Checkpoint',
  z.object({
    checksum: nullableString(),
    gpu: z.string(),
    id: uuid(),
    info: anyValue(),
    name: nullableString(),
    platform: z.string(),
    status: CheckpointStatus,
  }),
);

export const CheckpointInfo = named('CheckpointInfo', z.object({ gpu: z.string(), info: anyValue(), platform: z.string() }));

export const CheckpointSuccessInfo = named('CheckpointSuccessInfo', z.object({ restore_path: nullableString() }));

export const ApiError = named(
  'ApiError',
  z.object({
    code: nullableString(),
    details: anyValue(),
    message: z.string(),
  }),
);

// ---- Actions (002) ----
export const Action = named(
  'Action',
  z.object({
    action_id: uuid(),
    action_timestamp: z.iso.datetime({ offset: true }).nullable().optional(),
    checkpoint_completed_timestamp: z.iso.datetime({ offset: true }).nullable().optional(),
    checkpoint_id: uuid(),
    details: requiredAny(),
    gpu: z.string(),
    node_name: nullableString(),
    platform: z.string(),
    reason: nullableString(),
    status: z.string(),
    total_duration: int64().nullable().optional(),
    total_io: int64().nullable().optional(),
    type: z.string(),
  }),
);

export const CheckpointKind = named('CheckpointKind', z.enum(['simple', 'rootfs', 'rootfsonly']));
export const CheckpointReason = named('CheckpointReason', z.enum(['heartbeat', 'manual']));

export const CheckpointOverrides = named(
  'CheckpointOverrides',
  z.object({
    asynchronous: z.boolean().optional(),
    compression: nullableString(),
    criu_opts: nullableString(),
    directory: nullableString(),
    streams: int32().optional(),
  }),
);

export const CheckpointPod = named(
  'CheckpointPod',
  z.object({
    action_id: nullableString(),
    cluster_id: nullableString(),
    kind: CheckpointKind.optional(),
    namespace: nullableString(),
    overrides: CheckpointOverrides.nullable().optional(),
    pod_id: nullableString(),
    pod_name: nullableString(),
    reason: CheckpointReason.optional(),
  }),
);

export const CheckpointOperationStatus = named('CheckpointOperationStatus', z.enum(['initialized', 'processing', 'checkpoint_created', 'ready', 'error', 'not_found']));

export const StatusResponse = named('StatusResponse', z.object({ details: nullableString(), status: CheckpointOperationStatus }));

export const RestoreReason = named('RestoreReason', z.enum(['nodeTermination', 'nodeUnschedulable', 'manual']));

export const RestoreOverrides = named('RestoreOverrides', z.object({ criu_opts: nullableString(), pod_name: nullableString() }));

export const RestorePod = named(
  'RestorePod',
  z.object({
    action_id: z.string(),
    cluster_id: z.string().optional(),
    overrides: RestoreOverrides.nullable().optional(),
    reason: RestoreReason,
  }),
);

export const CheckpointStatusWithPodSpec = named(
  'CheckpointStatusWithPodSpec',
  z.object({
    action_id: z.string(),
    persistent_volume_claim: anyValue(),
    pod_id: nullableString(),
    pod_metadata_spec: anyValue(),
    pod_spec: anyValue(),
    status: z.string(),
  }),
);

// ---- Actions, Slurm (004) ----
export const CheckpointSlurmJob = named(
  'CheckpointSlurmJob',
  z.object({
    action_id: nullableString(),
    job_id: nullableString(),
    job_name: nullableString(),
    kind: CheckpointKind.optional(),
    reason: CheckpointReason.optional(),
  }),
);

export const RestoreSlurmJob = named('RestoreSlurmJob', z.object({ action_id: z.string(), cluster_id: z.string(), reason: RestoreReason }));

// ---- Token and cluster (not in the reference pages: openapi/project-additions.json) ----
export const RegisterCluster = named('RegisterCluster', z.object({ cluster_name: z.string().min(1) }));

export const Cluster = named(
  'Cluster',
  z.object({
    id: z.string(),
    last_sync: nullableString(),
    metadata: anyValue(),
    name: z.string(),
    status: z.string(),
  }),
);

// ---- v1 (003): the {data} envelope and {error} body ----
const uint64 = () => z.int().nonnegative();
const uint32 = () => z.int().nonnegative().max(4294967295);

export const V1CheckpointResources = named(
  'V1CheckpointResources',
  z.object({
    limits: z.object({ memory_mib: uint64() }),
    requests: z.object({ memory_mib: uint64(), vcpus: uint32() }),
  }),
);

export const V1Checkpoint = named('V1Checkpoint', z.object({ display_name: z.string(), id: z.string(), resources: V1CheckpointResources, state: z.string() }));

export const V1CheckpointEnvelope = named('V1CheckpointEnvelope', z.object({ data: V1Checkpoint }));

export const V1Error = named('V1Error', z.object({ code: z.string(), message: z.string() }));
export const V1ErrorEnvelope = named('V1ErrorEnvelope', z.object({ error: V1Error }));

// ---- Types ----
export type CheckpointStatus = z.infer<typeof CheckpointStatus>;
export type Checkpoint = z.infer<typeof Checkpoint>;
export type CheckpointInfo = z.infer<typeof CheckpointInfo>;
export type CheckpointSuccessInfo = z.infer<typeof CheckpointSuccessInfo>;
export type ApiError = z.infer<typeof ApiError>;
export type Action = z.infer<typeof Action>;
export type CheckpointKind = z.infer<typeof CheckpointKind>;
export type CheckpointReason = z.infer<typeof CheckpointReason>;
export type CheckpointOverrides = z.infer<typeof CheckpointOverrides>;
export type CheckpointPod = z.infer<typeof CheckpointPod>;
export type CheckpointOperationStatus = z.infer<typeof CheckpointOperationStatus>;
export type StatusResponse = z.infer<typeof StatusResponse>;
export type RestoreReason = z.infer<typeof RestoreReason>;
export type RestoreOverrides = z.infer<typeof RestoreOverrides>;
export type RestorePod = z.infer<typeof RestorePod>;
export type CheckpointStatusWithPodSpec = z.infer<typeof CheckpointStatusWithPodSpec>;
export type CheckpointSlurmJob = z.infer<typeof CheckpointSlurmJob>;
export type RestoreSlurmJob = z.infer<typeof RestoreSlurmJob>;
export type RegisterCluster = z.infer<typeof RegisterCluster>;
export type Cluster = z.infer<typeof Cluster>;
export type V1Checkpoint = z.infer<typeof V1Checkpoint>;
export type V1CheckpointEnvelope = z.infer<typeof V1CheckpointEnvelope>;
export type V1ErrorEnvelope = z.infer<typeof V1ErrorEnvelope>;
