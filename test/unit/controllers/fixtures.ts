// The shared fixture of the reconciler tables (in the shape of cert-manager's controller tests):
// objects in real caches (cacheOf, with the index handles the controllers export), a fake
// apiserver behind CustomObjects and CoreV1Api.readNamespacedPod, a fake Cedana client with
// scripted answers, a fake EventRecorder, and the real ActionDirectory, Protection and metrics.
// Every fake records what it was asked, so a case says: given these objects and this script, the
// reconcile makes these calls, writes these statuses, records these events and returns this.
import { pino } from 'pino';
import { expect, vi } from 'vitest';
import { CheckpointPolicy } from '../../../src/api/checkpointpolicy.ts';
import { CheckpointPolicies, Nodes, PodCheckpoints, PodRestores, Pods } from '../../../src/api/kinds.ts';
import type { Condition } from '../../../src/api/meta.ts';
import { Node, Pod } from '../../../src/api/pod.ts';
import { PodCheckpoint } from '../../../src/api/podcheckpoint.ts';
import { PodRestore } from '../../../src/api/podrestore.ts';
import type { CedanaClient } from '../../../src/cedana/client.ts';
import { CedanaApiError } from '../../../src/cedana/errors.ts';
import type { Action, CheckpointPod, CheckpointStatusWithPodSpec, RestorePod, StatusResponse } from '../../../src/cedana/schemas.ts';
import { ConfigSchema, type Config } from '../../../src/config/config.ts';
import { ActionDirectory } from '../../../src/controllers/action-directory.ts';
import type { OperatorContext } from '../../../src/controllers/context.ts';
import { Protection, policiesByNamespace } from '../../../src/controllers/protection.ts';
import { cacheOf, type Cache, type Index } from '../../../src/kube/cache.ts';
import type { ReconcileContext, ReconcileResult } from '../../../src/kube/controller.ts';
import type { CustomObjects, Ref } from '../../../src/kube/custom-objects.ts';
import type { EventRecorder, EventTarget, EventType } from '../../../src/kube/events.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { ConflictError } from '../../../src/kube/conflict.ts';
import { KubeHttpError } from '../../../src/kube/errors.ts';
import { createMetrics } from '../../../src/metrics.ts';

/** The clock every case starts at (fake timers). */
export const T0 = Date.parse('2026-03-01T12:00:00Z');
export const iso = (offsetMs = 0): string => new Date(T0 + offsetMs).toISOString();

// ---------------------------------------------------------------------------------------------
// Builders: every object goes through the operator's own parser, as the informer would.

type Meta = Record<string, unknown>;

export const pod = (
  name: string,
  o: {
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    nodeName?: string | null;
    phase?: string;
    conditions?: { type: string; status: string; reason?: string }[];
    meta?: Meta;
  } = {},
): Pod =>
  Pod.parse({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: o.namespace ?? 'default', uid: o.uid ?? `uid-${name}`, resourceVersion: '1', creationTimestamp: iso(), ...(o.labels ? { labels: o.labels } : {}), ...o.meta },
    spec: { ...(o.nodeName === null ? {} : { nodeName: o.nodeName ?? 'node-a' }), containers: [{ name: 'main', image: 'busybox' }] },
    status: { phase: o.phase ?? 'Running', ...(o.conditions ? { conditions: o.conditions } : {}) },
  });

export const node = (name: string, o: { taints?: { key: string; value?: string }[]; unschedulable?: boolean; deletionTimestamp?: string } = {}): Node =>
  Node.parse({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, resourceVersion: '1', ...(o.deletionTimestamp ? { deletionTimestamp: o.deletionTimestamp } : {}) },
    spec: { ...(o.unschedulable !== undefined ? { unschedulable: o.unschedulable } : {}), ...(o.taints ? { taints: o.taints.map((t) => ({ effect: 'NoSchedule', ...t })) } : {}) },
    status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: iso(-3_600_000) }] },
  });

export const checkpoint = (name: string, o: { namespace?: string; uid?: string; spec?: Record<string, unknown>; status?: Record<string, unknown>; meta?: Meta } = {}): PodCheckpoint =>
  PodCheckpoint.parse({
    apiVersion: 'cedana.ai/v1alpha1',
    kind: 'PodCheckpoint',
    metadata: { name, namespace: o.namespace ?? 'default', uid: o.uid ?? `uid-${name}`, resourceVersion: '1', generation: 1, ...o.meta },
    spec: { podName: 'app', ...o.spec },
    ...(o.status ? { status: o.status } : {}),
  });

export const restore = (name: string, o: { namespace?: string; uid?: string; spec?: Record<string, unknown>; status?: Record<string, unknown>; meta?: Meta } = {}): PodRestore =>
  PodRestore.parse({
    apiVersion: 'cedana.ai/v1alpha1',
    kind: 'PodRestore',
    metadata: { name, namespace: o.namespace ?? 'default', uid: o.uid ?? `uid-${name}`, resourceVersion: '1', generation: 1, creationTimestamp: iso(-1_000), ...o.meta },
    spec: o.spec ?? { checkpointRef: { name: 'ckpt' } },
    ...(o.status ? { status: o.status } : {}),
  });

export const policy = (name: string, o: { namespace?: string; uid?: string; spec?: Record<string, unknown>; status?: Record<string, unknown>; meta?: Meta } = {}): CheckpointPolicy =>
  CheckpointPolicy.parse({
    apiVersion: 'cedana.ai/v1alpha1',
    kind: 'CheckpointPolicy',
    metadata: { name, namespace: o.namespace ?? 'default', uid: o.uid ?? `uid-${name}`, resourceVersion: '1', generation: 1, ...o.meta },
    spec: { selector: { matchLabels: { app: 'worker' } }, ...o.spec },
    ...(o.status ? { status: o.status } : {}),
  });

/** A metav1.Condition as the apiserver would hold it. */
export const cond = (type: string, status: 'True' | 'False' | 'Unknown', reason: string, message = '', lastTransitionTime = iso(-60_000)): Condition => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime,
});

/** An action as GET /v2/actions lists it. */
export const action = (id: string, o: { type?: string; checkpointId?: string; at?: string; status?: string } = {}): Action => ({
  action_id: id,
  checkpoint_id: o.checkpointId ?? '00000000-0000-4000-8000-0000000000c0',
  details: {},
  gpu: '',
  platform: 'k8s',
  status: o.status ?? 'ready',
  type: o.type ?? 'checkpoint',
  ...(o.at ? { action_timestamp: o.at } : {}),
});

// ---------------------------------------------------------------------------------------------
// The fake Cedana client: only the methods the reconcilers call.

export type CedanaUsed = Pick<CedanaClient, 'checkpointPod' | 'uploadPodSpec' | 'getCheckpointStatus' | 'restorePod' | 'latestPodAction' | 'listActions' | 'deprecateCheckpoint'>;
type Method = keyof CedanaUsed;

/** How a scripted call fails: an HTTP status (5xx/429 transient, other 4xx permanent) or a timeout. */
export type Failure = { fail: number; message?: string } | { timeout: true };
export type Answer<T> = { ok: T } | Failure;
export const ok = <T>(value: T): { ok: T } => ({ ok: value });
export const fail = (status: number, message?: string): Failure => ({ fail: status, ...(message !== undefined ? { message } : {}) });
export const timeout: Failure = { timeout: true };

/** Answers per method, in order; the last one repeats. A method without answers is a test failure. */
export interface CedanaScript {
  checkpointPod?: Answer<string> | Answer<string>[];
  uploadPodSpec?: Answer<string> | Answer<string>[];
  getCheckpointStatus?: Answer<StatusResponse> | Answer<StatusResponse>[];
  restorePod?: Answer<string> | Answer<string>[];
  latestPodAction?: Answer<string | undefined> | Answer<string | undefined>[];
  /** The whole listing; the fake filters it by `type` exactly, as CedanaClient.listActions does. */
  listActions?: Answer<Action[]> | Answer<Action[]>[];
  deprecateCheckpoint?: Answer<string> | Answer<string>[];
}

/** One recorded call: the method and its key fields. */
export type CedanaCall =
  | ({ method: 'checkpointPod' } & CheckpointPod)
  | { method: 'uploadPodSpec'; action_id: string; pod_id: string | null | undefined; status: string; persistent_volume_claim: unknown }
  | { method: 'getCheckpointStatus'; actionId: string }
  | ({ method: 'restorePod' } & RestorePod)
  | { method: 'latestPodAction'; podId: string }
  | { method: 'listActions'; type: string | undefined }
  | { method: 'deprecateCheckpoint'; id: string };

const ROUTES: Record<Method, { method: string; path: string }> = {
  checkpointPod: { method: 'POST', path: '/v2/checkpoint/pod' },
  uploadPodSpec: { method: 'POST', path: '/v2/actions/upload' },
  getCheckpointStatus: { method: 'GET', path: '/v2/checkpoint/status/{action_id}' },
  restorePod: { method: 'POST', path: '/v2/restore/pod' },
  latestPodAction: { method: 'GET', path: '/v2/actions/from_pod/{id}' },
  listActions: { method: 'GET', path: '/v2/actions' },
  deprecateCheckpoint: { method: 'PATCH', path: '/v2/checkpoints/deprecate/{id}' },
};

/** The error the real client throws for that failure. */
export function cedanaError(operation: Method, f: Failure): CedanaApiError {
  const route = ROUTES[operation];
  if ('timeout' in f) return new CedanaApiError({ kind: 'timeout', operation, ...route, description: 'timed out after 10000ms' });
  const message = f.message ?? `status ${f.fail}`;
  return new CedanaApiError({ kind: 'http', operation, ...route, status: f.fail, apiMessage: message, description: `${f.fail}: ${message}` });
}

export class FakeCedana implements CedanaUsed {
  readonly calls: CedanaCall[] = [];
  /** The signal each call carried, in call order. */
  readonly signals: (AbortSignal | undefined)[] = [];
  private readonly script: CedanaScript;
  private readonly used = new Map<Method, number>();
  private readonly journal: string[];

  constructor(script: CedanaScript, journal: string[]) {
    this.script = script;
    this.journal = journal;
  }

  private answer<T>(method: Method, call: CedanaCall, signal: AbortSignal | undefined): Promise<T> {
    this.calls.push(call);
    this.signals.push(signal);
    this.journal.push(`cedana.${method}`);
    const scripted = this.script[method] as Answer<T> | Answer<T>[] | undefined;
    const list = scripted === undefined ? [] : Array.isArray(scripted) ? scripted : [scripted];
    const n = this.used.get(method) ?? 0;
    this.used.set(method, n + 1);
    const a = list[Math.min(n, list.length - 1)];
    if (a === undefined) return Promise.reject(new Error(`unscripted Cedana call ${method}`));
    return 'ok' in a ? Promise.resolve(a.ok) : Promise.reject(cedanaError(method, a));
  }

  checkpointPod(body: CheckpointPod, opts: { signal?: AbortSignal } = {}): Promise<string> {
    return this.answer('checkpointPod', { method: 'checkpointPod', ...body }, opts.signal);
  }
  uploadPodSpec(body: CheckpointStatusWithPodSpec, opts: { signal?: AbortSignal } = {}): Promise<string> {
    const call = { method: 'uploadPodSpec' as const, action_id: body.action_id, pod_id: body.pod_id, status: body.status, persistent_volume_claim: body.persistent_volume_claim };
    return this.answer('uploadPodSpec', call, opts.signal);
  }
  getCheckpointStatus(actionId: string, opts: { signal?: AbortSignal } = {}): Promise<StatusResponse> {
    return this.answer('getCheckpointStatus', { method: 'getCheckpointStatus', actionId }, opts.signal);
  }
  restorePod(body: RestorePod, opts: { signal?: AbortSignal } = {}): Promise<string> {
    return this.answer('restorePod', { method: 'restorePod', ...body }, opts.signal);
  }
  latestPodAction(podId: string, opts: { signal?: AbortSignal } = {}): Promise<string | undefined> {
    return this.answer('latestPodAction', { method: 'latestPodAction', podId }, opts.signal);
  }
  async listActions(filter: { type?: string } = {}, opts: { signal?: AbortSignal } = {}): Promise<Action[]> {
    const all = await this.answer<Action[]>('listActions', { method: 'listActions', type: filter.type }, opts.signal);
    return all.filter((a) => filter.type === undefined || a.type === filter.type);
  }
  deprecateCheckpoint(id: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
    return this.answer('deprecateCheckpoint', { method: 'deprecateCheckpoint', id }, opts.signal);
  }
}

// ---------------------------------------------------------------------------------------------
// The fake apiserver behind CustomObjects (our kinds) and readNamespacedPod.

type Plural = 'podcheckpoints' | 'podrestores' | 'checkpointpolicies';
const KIND_OF: Record<Plural, string> = { podcheckpoints: 'PodCheckpoint', podrestores: 'PodRestore', checkpointpolicies: 'CheckpointPolicy' };

/** Scripted apiserver failures: the nth call (1-based; default every call) of an operation answers with this code. */
export interface ObjectFailure {
  op: 'patchStatus' | 'setFinalizers' | 'create' | 'createIfAbsent' | 'delete';
  code: 409 | 404 | 500;
  call?: number;
}

/** What a write did, summarised for a table: status phase and the conditions it changed, or the object created. */
export type Write =
  | { op: 'patchStatus'; plural: string; name: string; phase: string | undefined; conditions: readonly string[]; status: Record<string, unknown>; rejected?: number }
  | { op: 'setFinalizers'; plural: string; name: string; finalizers: readonly string[]; rejected?: number }
  | {
      op: 'create' | 'createIfAbsent';
      plural: string;
      kind: string;
      name: string;
      outcome: 'created' | 'exists';
      labels: Record<string, string>;
      annotations: Record<string, string>;
      spec: Record<string, unknown>;
      rejected?: number;
    }
  | { op: 'delete'; plural: string; name: string; rejected?: number };

type Raw = Record<string, unknown> & { metadata: Record<string, unknown> & { name: string; namespace?: string; resourceVersion?: string }; status?: Record<string, unknown> };

const clone = <T>(v: T): T => structuredClone(v);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386 JSON merge patch, as the apiserver applies application/merge-patch+json. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) Reflect.deleteProperty(out, k);
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** `Type=Status/Reason`, the way a table names a condition. */
export const c = (type: string, status: 'True' | 'False' | 'Unknown', reason: string): string => `${type}=${status}/${reason}`;
const condKey = (x: Condition): string => c(x.type, x.status, x.reason);

/** Every writer of CustomObjects the reconcilers use. */
export type ObjectsUsed = Pick<CustomObjects, 'patchStatus' | 'setFinalizers' | 'create' | 'createIfAbsent' | 'delete'>;

export class FakeObjects implements ObjectsUsed {
  readonly writes: Write[] = [];
  /** The apiserver's copy of every object of ours, by plural/namespace/name. */
  readonly server = new Map<string, Raw>();
  private readonly failures: ObjectFailure[];
  private readonly counts = new Map<string, number>();
  private readonly journal: string[];
  private rv = 100;

  constructor(objects: readonly Raw[], failures: ObjectFailure[], journal: string[]) {
    for (const o of objects) this.server.set(this.key(pluralOf(o), o.metadata.namespace ?? 'default', o.metadata.name), clone(o));
    this.failures = failures;
    this.journal = journal;
  }

  get(plural: Plural, namespace: string, name: string): Raw | undefined {
    const o = this.server.get(this.key(plural, namespace, name));
    return o ? clone(o) : undefined;
  }

  private key(plural: string, namespace: string, name: string): string {
    return `${plural}/${namespace}/${name}`;
  }

  /** A scripted failure for this call of `op`, if there is one. */
  private scripted(op: ObjectFailure['op']): number | undefined {
    const n = (this.counts.get(op) ?? 0) + 1;
    this.counts.set(op, n);
    return this.failures.find((f) => f.op === op && (f.call === undefined || f.call === n))?.code;
  }

  private nextRv(): string {
    return String(++this.rv);
  }

  /** Reads, checks the precondition, applies, stores and returns the object, the way the apiserver does. */
  private update(op: 'patchStatus' | 'setFinalizers', ref: Ref, resourceVersion: string | undefined, apply: (o: Raw) => void): { before: Raw; after: Raw } | { code: number } {
    const code = this.scripted(op);
    if (code !== undefined) return { code };
    const key = this.key(ref.plural, ref.namespace, ref.name);
    const before = this.server.get(key);
    if (!before) return { code: 404 };
    if (resourceVersion !== undefined && resourceVersion !== before.metadata.resourceVersion) return { code: 409 };
    const after = clone(before);
    apply(after);
    after.metadata.resourceVersion = this.nextRv();
    // The last finalizer of an object being deleted lets it go.
    const finalizers = after.metadata.finalizers as string[] | undefined;
    if (after.metadata.deletionTimestamp && (finalizers ?? []).length === 0) this.server.delete(key);
    else this.server.set(key, after);
    return { before, after };
  }

  patchStatus(ref: Ref, status: Record<string, unknown>, resourceVersion?: string): Promise<unknown> {
    this.journal.push(`objects.patchStatus ${ref.plural}/${ref.name}`);
    const r = this.update('patchStatus', ref, resourceVersion, (o) => {
      o.status = mergePatch(o.status ?? {}, status) as Record<string, unknown>;
    });
    const before = 'before' in r ? ((r.before.status?.conditions as Condition[] | undefined) ?? []) : [];
    const changed = ((status.conditions as Condition[] | undefined) ?? []).filter((x) => !before.some((b) => condKey(b) === condKey(x))).map(condKey);
    const phase = typeof status.phase === 'string' ? status.phase : undefined;
    this.writes.push({ op: 'patchStatus', plural: ref.plural, name: ref.name, phase, conditions: changed, status, ...('code' in r ? { rejected: r.code } : {}) });
    return 'code' in r ? Promise.reject(apiError(r.code)) : Promise.resolve(clone(r.after));
  }

  setFinalizers(ref: Ref, finalizers: string[], resourceVersion: string | undefined): Promise<unknown> {
    this.journal.push(`objects.setFinalizers ${ref.plural}/${ref.name}`);
    const r = this.update('setFinalizers', ref, resourceVersion, (o) => {
      o.metadata.finalizers = [...finalizers];
    });
    this.writes.push({ op: 'setFinalizers', plural: ref.plural, name: ref.name, finalizers, ...('code' in r ? { rejected: r.code } : {}) });
    return 'code' in r ? Promise.reject(apiError(r.code)) : Promise.resolve(clone(r.after));
  }

  private store(op: 'create' | 'createIfAbsent', plural: string, namespace: string, body: object): { outcome: 'created' | 'exists'; obj: Raw } | { code: number } {
    const code = this.scripted(op);
    if (code !== undefined) return { code };
    const raw = clone(body) as Raw;
    const key = this.key(plural, namespace, raw.metadata.name);
    const existing = this.server.get(key);
    if (existing) return { outcome: 'exists', obj: existing };
    const obj: Raw = { ...raw, metadata: { ...raw.metadata, namespace, uid: `uid-${raw.metadata.name}`, resourceVersion: this.nextRv(), generation: 1, creationTimestamp: new Date().toISOString() } };
    this.server.set(key, obj);
    return { outcome: 'created', obj };
  }

  private recordCreate(op: 'create' | 'createIfAbsent', plural: string, body: object, r: { outcome: 'created' | 'exists' } | { code: number }): void {
    const raw = body as Raw & { kind?: string; spec?: Record<string, unknown> };
    this.writes.push({
      op,
      plural,
      kind: raw.kind ?? '',
      name: raw.metadata.name,
      // A rejected create has no outcome; 'exists' is never what a table expects of it.
      outcome: 'outcome' in r ? r.outcome : 'exists',
      labels: (raw.metadata.labels as Record<string, string> | undefined) ?? {},
      annotations: (raw.metadata.annotations as Record<string, string> | undefined) ?? {},
      spec: raw.spec ?? {},
      ...('code' in r ? { rejected: r.code } : {}),
    });
  }

  create(plural: string, namespace: string, body: object): Promise<unknown> {
    this.journal.push(`objects.create ${plural}`);
    const r = this.store('create', plural, namespace, body);
    const result = 'outcome' in r && r.outcome === 'exists' ? { code: 409 } : r;
    this.recordCreate('create', plural, body, result);
    return 'code' in result ? Promise.reject(apiError(result.code)) : Promise.resolve(clone(result.obj));
  }

  createIfAbsent(plural: string, namespace: string, body: object): Promise<'created' | 'exists'> {
    this.journal.push(`objects.createIfAbsent ${plural}`);
    const r = this.store('createIfAbsent', plural, namespace, body);
    this.recordCreate('createIfAbsent', plural, body, r);
    return 'code' in r ? Promise.reject(apiError(r.code)) : Promise.resolve(r.outcome);
  }

  delete(ref: Ref): Promise<void> {
    this.journal.push(`objects.delete ${ref.plural}/${ref.name}`);
    const code = this.scripted('delete');
    this.writes.push({ op: 'delete', plural: ref.plural, name: ref.name, ...(code !== undefined ? { rejected: code } : {}) });
    // Already gone is success, as CustomObjects.delete has it.
    if (code !== undefined && code !== 404) return Promise.reject(apiError(code));
    this.server.delete(this.key(ref.plural, ref.namespace, ref.name));
    return Promise.resolve();
  }
}

const apiError = (code: number) => new KubeHttpError(code, `HTTP ${String(code)}`);

const pluralOf = (o: Raw): Plural => {
  const kind = (o as { kind?: string }).kind;
  const found = (Object.keys(KIND_OF) as Plural[]).find((p) => KIND_OF[p] === kind);
  if (!found) throw new Error(`not a kind of ours: ${String(kind)}`);
  return found;
};

/** GET of a pod: the pods the apiserver has (the cache's, plus any the watch has not delivered yet). */
export class FakeCore implements Pick<KubeClient, 'get'> {
  readonly reads: string[] = [];
  private readonly pods: Map<string, Pod>;
  constructor(pods: readonly Pod[]) {
    this.pods = new Map(pods.map((p) => [`${p.metadata.namespace ?? 'default'}/${p.metadata.name}`, p]));
  }
  get(path: string): Promise<unknown> {
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(path);
    if (!m) return Promise.reject(new Error(`the reconcilers read only pods here, not ${path}`));
    const key = `${decodeURIComponent(m[1] ?? '')}/${decodeURIComponent(m[2] ?? '')}`;
    this.reads.push(key);
    const p = this.pods.get(key);
    return p ? Promise.resolve(clone(p)) : Promise.reject(apiError(404));
  }
}

export interface RecordedEvent {
  kind: string;
  name: string;
  type: EventType;
  reason: string;
  message: string;
}

export class FakeEvents implements Pick<EventRecorder, 'record'> {
  readonly events: RecordedEvent[] = [];
  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    this.events.push({ kind: target.kind, name: target.metadata.name, type, reason, message });
  }
}

// ---------------------------------------------------------------------------------------------
// The world a case starts from, and the environment built over it.

export interface World {
  pods?: Pod[];
  nodes?: Node[];
  checkpoints?: PodCheckpoint[];
  restores?: PodRestore[];
  policies?: CheckpointPolicy[];
  /** Pods the apiserver has that the pod cache has not seen yet. */
  uncachedPods?: Pod[];
  /** Objects (plural/namespace/name) another writer changed since the cache was filled: the apiserver's resourceVersion is newer. */
  newerOnServer?: string[];
}

/** Which index handles each cache registers: exactly those the controller's setup registers. */
export interface Indexes {
  pods?: Index<'Pod', Pod>[];
  checkpoints?: Index<'PodCheckpoint', PodCheckpoint>[];
  restores?: Index<'PodRestore', PodRestore>[];
}

export const TEST_CONFIG = {
  cedanaUrl: 'https://cedana.test',
  cedanaToken: 'test-token',
  clusterId: 'cluster-1',
  identity: 'unit-test',
  pollInterval: 50,
  pollIntervalMax: 400,
  restoredPodTimeout: 2_000,
  minHeartbeatInterval: 1_000,
  labelHeartbeatKeepLast: 2,
  nodeNotReadyGrace: 5_000,
  // The tables cover Cedana's pod labels too: this operator honours them here.
  cedanaLabels: 'honour',
} as const;

export interface Env {
  ctx: OperatorContext;
  rc: ReconcileContext;
  config: Config;
  pods: Cache<'Pod', Pod>;
  nodes: Cache<'Node', Node>;
  checkpoints: Cache<'PodCheckpoint', PodCheckpoint>;
  restores: Cache<'PodRestore', PodRestore>;
  policies: Cache<'CheckpointPolicy', CheckpointPolicy>;
  cedana: FakeCedana;
  objects: FakeObjects;
  core: FakeCore;
  events: FakeEvents;
  /** Every call to Cedana and to the apiserver's writers, in order. */
  journal: string[];
  /** The informers catch up: every cache of ours takes the apiserver's copy. */
  sync(): void;
}

export function makeEnv(world: World, indexes: Indexes, o: { script?: CedanaScript; failures?: ObjectFailure[]; config?: Record<string, unknown> } = {}): Env {
  const journal: string[] = [];
  const config = ConfigSchema.parse({ ...TEST_CONFIG, ...o.config });
  const pods = cacheOf(Pods, world.pods ?? [], indexes.pods ?? []);
  const nodes = cacheOf(Nodes, world.nodes ?? []);
  const checkpoints = cacheOf(PodCheckpoints, world.checkpoints ?? [], indexes.checkpoints ?? []);
  const restores = cacheOf(PodRestores, world.restores ?? [], indexes.restores ?? []);
  const policies = cacheOf(CheckpointPolicies, world.policies ?? [], [policiesByNamespace]);
  const cedana = new FakeCedana(o.script ?? {}, journal);
  const ours = [...checkpoints.list(), ...restores.list(), ...policies.list()] as unknown as Raw[];
  const objects = new FakeObjects(ours, o.failures ?? [], journal);
  for (const key of world.newerOnServer ?? []) {
    const raw = objects.server.get(key);
    if (!raw) throw new Error(`newerOnServer: no ${key}`);
    raw.metadata.resourceVersion = '99';
  }
  const core = new FakeCore([...(world.pods ?? []), ...(world.uncachedPods ?? [])]);
  const events = new FakeEvents();
  const client = cedana as CedanaUsed as CedanaClient;
  const metrics = createMetrics();
  const ctx: OperatorContext = {
    cedana: client,
    actions: new ActionDirectory(client),
    kube: core,
    objects: objects as ObjectsUsed as CustomObjects,
    events: events as Pick<EventRecorder, 'record'> as EventRecorder,
    metrics,
    protection: new Protection(policies, config.minHeartbeatInterval),
    config,
  };
  const rc: ReconcileContext = { log: pino({ level: 'silent' }), signal: new AbortController().signal };
  const sync = () => {
    resync(objects, 'podcheckpoints', checkpoints, (r) => PodCheckpoint.parse(r));
    resync(objects, 'podrestores', restores, (r) => PodRestore.parse(r));
    resync(objects, 'checkpointpolicies', policies, (r) => CheckpointPolicy.parse(r));
  };
  return { ctx, rc, config, pods, nodes, checkpoints, restores, policies, cedana, objects, core, events, journal, sync };
}

/** A cache takes the apiserver's copy of its kind: what a watch would deliver. */
function resync<K extends string, T extends { metadata: { name: string; namespace?: string | undefined } }>(
  objects: FakeObjects,
  plural: Plural,
  cache: Cache<K, T>,
  parse: (raw: unknown) => T,
): void {
  const live = new Set<string>();
  for (const [key, raw] of objects.server) {
    if (!key.startsWith(`${plural}/`)) continue;
    const obj = parse(raw);
    live.add(`${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`);
    cache.set(obj);
  }
  for (const key of [...cache.keys()]) if (!live.has(key)) cache.delete(key);
}

// ---------------------------------------------------------------------------------------------
// Running a reconcile under fake timers, and checking a case's expectations.

export type Outcome = { result: ReconcileResult | undefined; error?: undefined } | { result?: undefined; error: unknown };

/** Fake timers from T0: a reconcile that sleeps (upload retries) is driven through its timers, never waited for. */
export function useFakeClock(): void {
  vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
}

export async function drive(p: Promise<ReconcileResult | undefined>): Promise<Outcome> {
  const state = { settled: false };
  const out = p.then(
    (result): Outcome => ({ result }),
    (error: unknown): Outcome => ({ error }),
  );
  void out.finally(() => {
    state.settled = true;
  });
  while (!state.settled) await vi.advanceTimersToNextTimerAsync();
  return out;
}

/** What a case expects the reconcile to return ('returns': without an error, requeued or not). */
export type Expected = 'done' | 'requeue' | 'returns' | { requeueAfterMs: number } | { throws: abstract new (...args: never[]) => Error; status?: number };

export function expectOutcome(outcome: Outcome, expected: Expected): void {
  if (expected === 'done' || expected === 'requeue' || expected === 'returns' || 'requeueAfterMs' in expected) {
    if (outcome.error !== undefined) throw outcome.error instanceof Error ? outcome.error : new Error(JSON.stringify(outcome.error));
    if (expected === 'returns') return;
    if (expected === 'done') expect(outcome.result?.requeueAfterMs).toBeUndefined();
    else if (expected === 'requeue') expect(outcome.result?.requeueAfterMs).toBeGreaterThan(0);
    else expect(outcome.result?.requeueAfterMs).toBe(expected.requeueAfterMs);
    return;
  }
  expect(outcome.error).toBeInstanceOf(expected.throws);
  if (expected.status !== undefined) expect((outcome.error as { status?: unknown; code?: unknown }).status ?? (outcome.error as { code?: unknown }).code).toBe(expected.status);
}

/** A case's expectations of the fakes; arrays match in length and order, each element by its listed fields. */
export interface Expectations {
  calls: readonly Partial<CedanaCall>[];
  writes: readonly Partial<Write>[];
  events: readonly Partial<RecordedEvent>[];
  result: Expected;
}

/**
 * The calls, with a run of listActions counted once: how many listings one lookup takes (one
 * shared, or one per action type) is the ActionDirectory's business, tested on its own.
 */
export const callsOf = (env: Env): CedanaCall[] => env.cedana.calls.filter((call, i, all) => call.method !== 'listActions' || all[i - 1]?.method !== 'listActions');

export function expectRecorded(env: Env, e: Expectations, outcome: Outcome): void {
  expect(callsOf(env)).toMatchObject(e.calls);
  expect(env.objects.writes).toMatchObject(e.writes);
  expect(env.events.events).toMatchObject(e.events);
  expectOutcome(outcome, e.result);
  // Every Cedana call of a reconcile carries its signal; the shared actions listing is the one exception.
  env.cedana.calls.forEach((call, i) => {
    if (call.method !== 'listActions') expect(env.cedana.signals[i], `${call.method} carries the reconcile's signal`).toBe(env.rc.signal);
  });
}

export { ConflictError, CedanaApiError };

/** One row of a reconciler's table. */
export interface Case extends Expectations {
  name: string;
  /** The objects in the caches (and the apiserver) before the reconcile. */
  world: World;
  /** The key reconciled. */
  key: string;
  script?: CedanaScript;
  failures?: ObjectFailure[];
  config?: Record<string, unknown>;
  /** Reconciles of the key (default 1); the caches catch up with the apiserver between them. */
  rounds?: number;
  /** Fake time that passes between rounds. */
  betweenRoundsMs?: number;
  /** Further assertions, on the apiserver's copy or the journal. */
  check?: (env: Env) => void;
}

export interface Reconciles {
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | undefined>;
}

/** Builds the world, runs the reconcile(s) under fake timers, and checks the row. */
export async function runCase(row: Case, indexes: Indexes, reconcilerOf: (env: Env) => Reconciles): Promise<Env> {
  const env = makeEnv(row.world, indexes, { ...(row.script ? { script: row.script } : {}), ...(row.failures ? { failures: row.failures } : {}), ...(row.config ? { config: row.config } : {}) });
  const reconciler = reconcilerOf(env);
  const rounds = row.rounds ?? 1;
  let outcome: Outcome = { result: undefined };
  for (let i = 0; i < rounds; i++) {
    if (i > 0) {
      env.sync();
      if (row.betweenRoundsMs) await vi.advanceTimersByTimeAsync(row.betweenRoundsMs);
    }
    outcome = await drive(reconciler.reconcile(row.key, env.rc));
  }
  expectRecorded(env, row, outcome);
  row.check?.(env);
  return env;
}
