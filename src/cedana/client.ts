// The typed Cedana API client: one method per operation of openapi/cedana.json, named for what it
// does. Bodies are checked before they leave, answers when they arrive (http.ts).
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  Action,
  Checkpoint,
  CheckpointInfo,
  CheckpointPod,
  CheckpointSlurmJob,
  CheckpointStatusWithPodSpec,
  CheckpointSuccessInfo,
  Cluster,
  RegisterCluster,
  RestorePod,
  RestoreSlurmJob,
  StatusResponse,
  V1CheckpointEnvelope,
  type V1Checkpoint,
} from './schemas.ts';
import { actionKind, type ActionKind } from './actions.ts';
import { normaliseBaseUrl } from './base-url.ts';
import { CedanaApiError } from './errors.ts';
import { DEFAULT_RETRY, type RetryPolicy, type Sleep } from './retry.ts';
import { Transport, parseWith, type CallInfo, type HttpMethod, type ResponseSpec } from './http.ts';

export interface CedanaClientOptions {
  /**
   * e.g. https://<org>.cedana.ai, or the `…/v1` Cedana's docs and chart use: a trailing /v1 or /v2
   * and trailing slashes are dropped (as Cedana's Go SDK does); a path prefix before them is kept.
   */
  baseUrl: string;
  /** Bearer token. Never logged, never in an error. */
  token: string;
  /** Deadline per HTTP request (connect, headers and body together). Default 10 s. */
  timeoutMs?: number;
  /** PEM bundle trusted for TLS, for a Cedana behind a private CA. */
  caBundle?: string;
  /** Retries of idempotent calls (GET, PUT, PATCH). Default 4 attempts, 200 ms base, 10 s max. */
  retry?: Partial<RetryPolicy>;
  /** A debug line per HTTP exchange. */
  logger?: Logger;
  /** Default `cedana-operator`. */
  userAgent?: string;
  /** Called after every HTTP exchange (each attempt), e.g. to count calls in metrics. */
  onCall?: (info: CallInfo) => void;
  /** The wait between attempts; tests make it instant. */
  sleep?: Sleep;
  /** The jitter source, in [0, 1). */
  random?: () => number;
}

export interface CallOptions {
  /** Aborting rejects the call with the signal's reason, and stops its retries. */
  signal?: AbortSignal;
}

const positiveInt = z.int().positive();
const OptionsSchema = z.object({
  baseUrl: z.url({ protocol: /^https?$/ }),
  // The header value must be sendable; the message never quotes the value.
  token: z.string().regex(/^[\x21-\x7e]+$/, { error: 'must be non-empty printable ASCII without spaces' }),
  timeoutMs: positiveInt.optional(),
  caBundle: z.string().includes('-----BEGIN', { error: 'must be a PEM bundle' }).optional(),
  retry: z.object({ maxAttempts: positiveInt, baseDelayMs: z.int().nonnegative(), maxDelayMs: z.int().nonnegative() }).partial().optional(),
  userAgent: z.string().min(1).optional(),
});

const text = z.string();
const nonEmpty = z.string().min(1, { error: 'empty, expected a value' });
/** Checkpoint and action ids are UUIDs (Checkpoint.id and Action.action_id are `format: uuid`). */
const uuid = z.guid();
/** User and cluster ids: no document says UUID, so only a token (no spaces, no markup, no JSON). */
const token = z.string().regex(/^[\w.:@+-]+$/, { error: 'expected an id (letters, digits, . _ : @ + -)' });

export class CedanaClient {
  readonly #http: Transport;
  /** The effective base URL, after normalisation: operation paths (/v2/…) go right after it. Log it once. */
  readonly baseUrl: string;

  constructor(options: CedanaClientOptions) {
    const checked = OptionsSchema.safeParse(options);
    if (!checked.success) {
      const problems = checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new TypeError(`invalid Cedana client options: ${problems}`);
    }
    try {
      this.baseUrl = normaliseBaseUrl(options.baseUrl);
    } catch (err) {
      throw new TypeError(`invalid Cedana client options: baseUrl: ${(err as Error).message}`);
    }
    this.#http = new Transport({
      baseUrl: this.baseUrl,
      token: options.token,
      timeoutMs: options.timeoutMs ?? 10_000,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      userAgent: options.userAgent ?? 'cedana-operator',
      caBundle: options.caBundle,
      logger: options.logger,
      onCall: options.onCall,
      sleep: options.sleep,
      random: options.random,
    });
  }

  /** Closes the pooled connections; later calls throw. */
  close(): Promise<void> {
    return this.#http.close();
  }

  // ---- Token and cluster ----

  /**
   * GET /v2/user: the user id the token belongs to; the start-up check of URL and token. A wrong
   * token fails with a CedanaApiError whose `isTokenRejected` is true (401).
   */
  async getUser(opts: CallOptions = {}): Promise<string> {
    return this.#http.send({ operation: 'getUser', method: 'GET', pathTemplate: '/v2/user', path: '/v2/user', ...plain(token), ...opts });
  }

  /** POST /v2/cluster: registers (or updates) a cluster by name; returns its id, the CEDANA_CLUSTER_ID. Never retried. */
  async registerCluster(name: string, opts: CallOptions = {}): Promise<string> {
    const call = { operation: 'registerCluster', method: 'POST', pathTemplate: '/v2/cluster' } as const;
    const body = this.#check(call, call.pathTemplate, RegisterCluster, { cluster_name: name });
    return this.#http.send({ ...call, path: call.pathTemplate, body, ...plain(token), ...opts });
  }

  /** GET /v2/cluster: the clusters registered with this token's organisation. */
  async listClusters(opts: CallOptions = {}): Promise<Cluster[]> {
    return this.#http.send({ operation: 'listClusters', method: 'GET', pathTemplate: '/v2/cluster', path: '/v2/cluster', ...json(z.array(Cluster)), ...opts });
  }

  /** DELETE /v2/cluster/{id}: deregisters a cluster. The answer's body, if any, is ignored. */
  async deleteCluster(id: string, opts: CallOptions = {}): Promise<void> {
    const call = { operation: 'deleteCluster', method: 'DELETE', pathTemplate: '/v2/cluster/{id}' } as const;
    const path = `/v2/cluster/${this.#segment(call, 'id', id)}`;
    await this.#http.send({ ...call, path, response: { type: 'none' }, errorStyle: 'v2', ...opts });
  }

  // ---- Checkpoints ----

  /** GET /v2/checkpoints. `ids` filters; an empty list matches nothing, so no call is made. */
  async listCheckpoints(filter: { ids?: readonly string[] } = {}, opts: CallOptions = {}): Promise<Checkpoint[]> {
    const call = { operation: 'listCheckpoints', method: 'GET', pathTemplate: '/v2/checkpoints' } as const;
    let query: Record<string, string> | undefined;
    if (filter.ids !== undefined) {
      if (filter.ids.length === 0) return [];
      this.#check(call, call.pathTemplate, z.array(uuid), filter.ids, 'ids');
      query = { ids: filter.ids.join(',') };
    }
    return this.#http.send({ ...call, path: call.pathTemplate, query, ...json(z.array(Checkpoint)), ...opts });
  }

  /** POST /v2/checkpoints: a new checkpoint in status `initializing`; returns its id. Never retried. */
  async createCheckpoint(opts: CallOptions = {}): Promise<string> {
    return this.#http.send({ operation: 'createCheckpoint', method: 'POST', pathTemplate: '/v2/checkpoints', path: '/v2/checkpoints', ...plain(uuid), ...opts });
  }

  /** PATCH /v2/checkpoints/deprecate/{id}: marks it for cleanup; returns its id. */
  async deprecateCheckpoint(id: string, opts: CallOptions = {}): Promise<string> {
    const call = { operation: 'deprecateCheckpoint', method: 'PATCH', pathTemplate: '/v2/checkpoints/deprecate/{id}' } as const;
    const path = `/v2/checkpoints/deprecate/${this.#segment(call, 'id', id)}`;
    return this.#http.send({ ...call, path, ...plain(uuid), ...opts });
  }

  /** PUT /v2/checkpoints/info/{id}: sets gpu, platform and info; returns the id. */
  async putCheckpointInfo(id: string, info: CheckpointInfo, opts: CallOptions = {}): Promise<string> {
    const call = { operation: 'putCheckpointInfo', method: 'PUT', pathTemplate: '/v2/checkpoints/info/{id}' } as const;
    this.#check(call, call.pathTemplate, uuid, id, 'id'); // the document says format: uuid
    const path = `/v2/checkpoints/info/${this.#segment(call, 'id', id)}`;
    return this.#http.send({ ...call, path, body: this.#check(call, path, CheckpointInfo, info), ...plain(uuid), ...opts });
  }

  /** POST /v2/checkpoints/uploaded/{id}: marks it uploaded and ready for restore; returns the server's text. */
  async markCheckpointUploaded(id: string, info: CheckpointSuccessInfo, opts: CallOptions = {}): Promise<string> {
    const call = { operation: 'markCheckpointUploaded', method: 'POST', pathTemplate: '/v2/checkpoints/uploaded/{id}' } as const;
    const path = `/v2/checkpoints/uploaded/${this.#segment(call, 'id', id)}`;
    return this.#http.send({ ...call, path, body: this.#check(call, path, CheckpointSuccessInfo, info), ...plain(text), ...opts });
  }

  /** GET /v1/checkpoints/{checkpoint_id}, by UUID or display name; the `{data}` envelope unwrapped. */
  async getCheckpointV1(idOrName: string, opts: CallOptions = {}): Promise<V1Checkpoint> {
    const call = { operation: 'getCheckpointV1', method: 'GET', pathTemplate: '/v1/checkpoints/{checkpoint_id}' } as const;
    const path = `/v1/checkpoints/${this.#segment(call, 'checkpoint_id', idOrName)}`;
    const envelope = await this.#http.send({ ...call, path, response: { type: 'json', schema: V1CheckpointEnvelope }, errorStyle: 'v1', ...opts });
    return envelope.data;
  }

  // ---- Actions ----

  /**
   * GET /v2/actions. `type` is sent as the query parameter and applied here too (exact match): a
   * server that ignores or misapplies it cannot hand back the wrong subset. `kind` filters here
   * only, by what the free-string type means (`checkpoint` matches `checkpoint` and
   * `checkpoint_pod`, see actionKind); prefer it, since the service's types are not the reference's.
   */
  async listActions(filter: { type?: string; kind?: ActionKind | readonly ActionKind[] } = {}, opts: CallOptions = {}): Promise<Action[]> {
    const query = filter.type === undefined ? undefined : { type: filter.type };
    const all = await this.#http.send({ operation: 'listActions', method: 'GET', pathTemplate: '/v2/actions', path: '/v2/actions', query, ...json(z.array(Action)), ...opts });
    const kinds = filter.kind === undefined ? undefined : new Set<ActionKind>(typeof filter.kind === 'string' ? [filter.kind] : filter.kind);
    return all.filter((a) => (filter.type === undefined || a.type === filter.type) && (kinds === undefined || kinds.has(actionKind(a.type))));
  }

  /**
   * GET /v2/actions/from_pod/{id}: the latest action of a pod (by UID), or undefined when the API
   * answers 404 with an ApiError: the crash-safety question "did my lost POST create an action?".
   */
  async latestPodAction(podId: string, opts: CallOptions = {}): Promise<string | undefined> {
    const call = { operation: 'latestPodAction', method: 'GET', pathTemplate: '/v2/actions/from_pod/{id}' } as const;
    const path = `/v2/actions/from_pod/${this.#segment(call, 'id', podId)}`;
    try {
      return await this.#http.send({ ...call, path, ...plain(uuid), ...opts });
    } catch (err) {
      // Only the API's own "no action" answer; a 404 page from a proxy or a wrong baseUrl stays an error.
      if (err instanceof CedanaApiError && err.isApiNotFound) return undefined;
      throw err;
    }
  }

  /**
   * POST /v2/actions/upload: the pod spec Cedana rebuilds the pod from. Never retried. The answer
   * is the action id (the reference) or `Success` (the service); anything else is malformed.
   */
  async uploadPodSpec(body: CheckpointStatusWithPodSpec, opts: CallOptions = {}): Promise<string> {
    const call = { operation: 'uploadPodSpec', method: 'POST', pathTemplate: '/v2/actions/upload' } as const;
    const checked = this.#check(call, call.pathTemplate, CheckpointStatusWithPodSpec, body);
    const acknowledged = text.refine((t) => t.toLowerCase() === checked.action_id.toLowerCase() || /^success$/i.test(t), {
      error: `expected the action id or "Success"`,
    });
    return this.#http.send({ ...call, path: call.pathTemplate, body: checked, ...plain(acknowledged), ...opts });
  }

  /**
   * GET /v2/checkpoint/path?name=…: the restore path of the latest successful checkpoint of that
   * name. The parameter is this project's choice (the reference documents none).
   */
  async getCheckpointPath(name: string, opts: CallOptions = {}): Promise<string> {
    const call = { operation: 'getCheckpointPath', method: 'GET', pathTemplate: '/v2/checkpoint/path' } as const;
    this.#check(call, call.pathTemplate, nonEmpty, name, 'name');
    return this.#http.send({ ...call, path: call.pathTemplate, query: { name }, ...plain(nonEmpty), ...opts });
  }

  /** POST /v2/checkpoint/pod: starts a checkpoint; returns the action id. Never retried: see latestPodAction. */
  async checkpointPod(body: CheckpointPod, opts: CallOptions = {}): Promise<string> {
    const call = { operation: 'checkpointPod', method: 'POST', pathTemplate: '/v2/checkpoint/pod' } as const;
    return this.#http.send({ ...call, path: call.pathTemplate, body: this.#check(call, call.pathTemplate, CheckpointPod, body), ...plain(uuid), ...opts });
  }

  /** GET /v2/checkpoint/status/{action_id}. */
  async getCheckpointStatus(actionId: string, opts: CallOptions = {}): Promise<StatusResponse> {
    const call = { operation: 'getCheckpointStatus', method: 'GET', pathTemplate: '/v2/checkpoint/status/{action_id}' } as const;
    const path = `/v2/checkpoint/status/${this.#segment(call, 'action_id', actionId)}`;
    return this.#http.send({ ...call, path, ...json(StatusResponse), ...opts });
  }

  /** POST /v2/restore/pod: starts a restore; returns the restore's action id. Never retried. */
  async restorePod(body: RestorePod, opts: CallOptions = {}): Promise<string> {
    const call = { operation: 'restorePod', method: 'POST', pathTemplate: '/v2/restore/pod' } as const;
    return this.#http.send({ ...call, path: call.pathTemplate, body: this.#check(call, call.pathTemplate, RestorePod, body), ...plain(uuid), ...opts });
  }

  // ---- Actions (Slurm) ----

  /** POST /v2/slurm/checkpoint/job; returns the action id. Never retried. */
  async checkpointSlurmJob(body: CheckpointSlurmJob, opts: CallOptions = {}): Promise<string> {
    const call = { operation: 'checkpointSlurmJob', method: 'POST', pathTemplate: '/v2/slurm/checkpoint/job' } as const;
    return this.#http.send({ ...call, path: call.pathTemplate, body: this.#check(call, call.pathTemplate, CheckpointSlurmJob, body), ...plain(uuid), ...opts });
  }

  /** POST /v2/slurm/restore/job; returns the id the API answers with. Never retried. */
  async restoreSlurmJob(body: RestoreSlurmJob, opts: CallOptions = {}): Promise<string> {
    const call = { operation: 'restoreSlurmJob', method: 'POST', pathTemplate: '/v2/slurm/restore/job' } as const;
    return this.#http.send({ ...call, path: call.pathTemplate, body: this.#check(call, call.pathTemplate, RestoreSlurmJob, body), ...plain(uuid), ...opts });
  }

  // ---- helpers ----

  /** A request that breaks the contract is a programming error: it never reaches the wire. */
  #check<T>(call: Call, path: string, schema: z.ZodType<T>, value: unknown, root = 'body'): T {
    const r = parseWith(schema, value, root);
    if (r.ok) return r.value;
    throw new CedanaApiError({ ...call, path, kind: 'contract', description: `${r.issues} (request does not match the contract)` });
  }

  #segment(call: Call, name: string, value: string): string {
    this.#check(call, call.pathTemplate, nonEmpty, value, name);
    return encodeURIComponent(value);
  }
}

interface Call {
  operation: string;
  method: HttpMethod;
  pathTemplate: string;
}

const json = <T>(schema: z.ZodType<T>): { response: ResponseSpec<T>; errorStyle: 'v2' } => ({ response: { type: 'json', schema }, errorStyle: 'v2' });
const plain = <T>(schema: z.ZodType<T>): { response: ResponseSpec<T>; errorStyle: 'v2' } => ({ response: { type: 'text', schema }, errorStyle: 'v2' });
