// Writes to our custom resources: status through the status subresource (merge patch), metadata
// (finalizers) with optimistic concurrency, create and delete.
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../api/meta.ts';
import { statusCodeOf } from './clients.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const FIELD_MANAGER = 'cedana-operator';

export interface Ref {
  plural: string;
  namespace: string;
  name: string;
}

export class CustomObjects {
  private readonly api: CustomObjectsApi;
  constructor(api: CustomObjectsApi) {
    this.api = api;
  }

  /**
   * Merge-patches .status (a JSON-Patch replace would fail while status is absent). With a
   * resourceVersion the patch is conditional: a newer object makes it fail with 409.
   */
  async patchStatus(ref: Ref, status: Record<string, unknown>, resourceVersion?: string): Promise<unknown> {
    const body = { ...(resourceVersion ? { metadata: { resourceVersion } } : {}), status };
    return this.api.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, ...ref, body, fieldManager: FIELD_MANAGER }, mergePatch);
  }

  /** Replaces the finalizer list, guarded by resourceVersion: a concurrent change fails with 409 and requeues. */
  async setFinalizers(ref: Ref, finalizers: string[], resourceVersion: string | undefined): Promise<unknown> {
    const metadata = { finalizers, ...(resourceVersion ? { resourceVersion } : {}) };
    return this.api.patchNamespacedCustomObject({ group: GROUP, version: VERSION, ...ref, body: { metadata }, fieldManager: FIELD_MANAGER }, mergePatch);
  }

  async get(plural: string, namespace: string, name: string): Promise<unknown> {
    return this.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural, namespace, name });
  }

  /** Merges annotations into the object, guarded by resourceVersion: a concurrent change fails with 409. */
  async annotate(ref: Ref, annotations: Record<string, string>, resourceVersion: string | undefined): Promise<unknown> {
    const metadata = { annotations, ...(resourceVersion ? { resourceVersion } : {}) };
    return this.api.patchNamespacedCustomObject({ group: GROUP, version: VERSION, ...ref, body: { metadata }, fieldManager: FIELD_MANAGER }, mergePatch);
  }

  async create(plural: string, namespace: string, body: object): Promise<unknown> {
    return this.api.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural, namespace, body, fieldManager: FIELD_MANAGER });
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
      await this.api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, ...ref });
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
    }
  }
}
