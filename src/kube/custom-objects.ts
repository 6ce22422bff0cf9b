// Writes to our custom resources: status through the status subresource (merge patch), metadata
// (finalizers) with optimistic concurrency, create and delete.
import { GROUP, VERSION } from '../api/meta.ts';
import { paths, type KubeClient } from './client.ts';
import { statusCodeOf } from './errors.ts';

export { FIELD_MANAGER } from './client.ts';

const path = (plural: string, namespace: string, name?: string, subresource?: string): string => paths.custom(GROUP, VERSION, plural, namespace, name, subresource);

export interface Ref {
  plural: string;
  namespace: string;
  name: string;
}

export class CustomObjects {
  private readonly kube: KubeClient;
  constructor(kube: KubeClient) {
    this.kube = kube;
  }

  /**
   * Merge-patches .status (a JSON-Patch replace would fail while status is absent). With a
   * resourceVersion the patch is conditional: a newer object makes it fail with 409.
   */
  async patchStatus(ref: Ref, status: Record<string, unknown>, resourceVersion?: string): Promise<unknown> {
    const body = { ...(resourceVersion ? { metadata: { resourceVersion } } : {}), status };
    return this.kube.mergePatch(path(ref.plural, ref.namespace, ref.name, 'status'), body);
  }

  /** Replaces the finalizer list, guarded by resourceVersion: a concurrent change fails with 409 and requeues. */
  async setFinalizers(ref: Ref, finalizers: string[], resourceVersion: string | undefined): Promise<unknown> {
    const metadata = { finalizers, ...(resourceVersion ? { resourceVersion } : {}) };
    return this.kube.mergePatch(path(ref.plural, ref.namespace, ref.name), { metadata });
  }

  async get(plural: string, namespace: string, name: string): Promise<unknown> {
    return this.kube.get(path(plural, namespace, name));
  }

  /** Merges annotations into the object, guarded by resourceVersion: a concurrent change fails with 409. */
  async annotate(ref: Ref, annotations: Record<string, string>, resourceVersion: string | undefined): Promise<unknown> {
    const metadata = { annotations, ...(resourceVersion ? { resourceVersion } : {}) };
    return this.kube.mergePatch(path(ref.plural, ref.namespace, ref.name), { metadata });
  }

  async create(plural: string, namespace: string, body: object): Promise<unknown> {
    return this.kube.create(path(plural, namespace), body);
  }

  /** Creates unless an object of that name exists: names chosen deterministically make this idempotent. */
  async createIfAbsent(plural: string, namespace: string, body: object): Promise<'created' | 'exists'> {
    try {
      await this.create(plural, namespace, body);
      return 'created';
    } catch (err) {
      if (statusCodeOf(err) === 409) return 'exists';
      throw err;
    }
  }

  /** Deletes; already gone is success. */
  async delete(ref: Ref): Promise<void> {
    try {
      await this.kube.delete(path(ref.plural, ref.namespace, ref.name));
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
    }
  }
}
