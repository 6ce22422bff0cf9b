// The operator's Kubernetes client: the REST verbs it uses, over one KubeAccess. Answers are plain
// JSON (timestamps stay strings); each caller parses what it reads with its own zod schema.
import type { KubeAccess } from './access.ts';
import { request, type Method, type RequestOptions } from './http.ts';

export const FIELD_MANAGER = 'cedana-operator';

/** A call that hears nothing for this long fails (watches and lists stream, and are not bound by it). */
const REQUEST_TIMEOUT_MS = 30_000;

export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';

export class KubeClient {
  readonly access: KubeAccess;
  constructor(access: KubeAccess) {
    this.access = access;
  }

  get(path: string, signal?: AbortSignal): Promise<unknown> {
    return this.call('GET', path, { signal });
  }

  /** Creates; writes name us as their field manager. */
  create(path: string, body: object, signal?: AbortSignal): Promise<unknown> {
    return this.call('POST', path, { body, query: { fieldManager: FIELD_MANAGER }, signal });
  }

  /** Replaces; the body's resourceVersion makes it conditional (409 when the object changed). */
  replace(path: string, body: object, signal?: AbortSignal): Promise<unknown> {
    return this.call('PUT', path, { body, query: { fieldManager: FIELD_MANAGER }, signal });
  }

  mergePatch(path: string, body: object, signal?: AbortSignal): Promise<unknown> {
    return this.call('PATCH', path, { body, contentType: MERGE_PATCH, query: { fieldManager: FIELD_MANAGER }, signal });
  }

  jsonPatch(path: string, ops: object[], signal?: AbortSignal): Promise<unknown> {
    return this.call('PATCH', path, { body: ops, contentType: JSON_PATCH, query: { fieldManager: FIELD_MANAGER }, signal });
  }

  delete(path: string, signal?: AbortSignal): Promise<unknown> {
    return this.call('DELETE', path, { signal });
  }

  close(): Promise<void> {
    return this.access.close();
  }

  private async call(method: Method, path: string, o: RequestOptions): Promise<unknown> {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
    const res = await request(this.access, method, path, { ...o, signal });
    const text = await res.body.text();
    return text === '' ? {} : (JSON.parse(text) as unknown);
  }
}

const seg = encodeURIComponent;

/** The paths of what the operator reads and writes. */
export const paths = {
  pod: (namespace: string, name: string): string => `/api/v1/namespaces/${seg(namespace)}/pods/${seg(name)}`,
  node: (name: string): string => `/api/v1/nodes/${seg(name)}`,
  events: (namespace: string): string => `/api/v1/namespaces/${seg(namespace)}/events`,
  secrets: (namespace: string): string => `/api/v1/namespaces/${seg(namespace)}/secrets`,
  secret: (namespace: string, name: string): string => `/api/v1/namespaces/${seg(namespace)}/secrets/${seg(name)}`,
  leases: (namespace: string): string => `/apis/coordination.k8s.io/v1/namespaces/${seg(namespace)}/leases`,
  lease: (namespace: string, name: string): string => `/apis/coordination.k8s.io/v1/namespaces/${seg(namespace)}/leases/${seg(name)}`,
  validatingWebhookConfiguration: (name: string): string => `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${seg(name)}`,
  /** A namespaced custom resource collection, one object, or its subresource. */
  custom: (group: string, version: string, plural: string, namespace: string, name?: string, subresource?: string): string =>
    `/apis/${group}/${version}/namespaces/${seg(namespace)}/${plural}${name !== undefined ? `/${seg(name)}` : ''}${subresource ? `/${subresource}` : ''}`,
};
