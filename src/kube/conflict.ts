// A write that lost a race with a newer version of the object (HTTP 409). The controller runtime
// requeues it with the key's backoff, quietly: the cache is about to catch up.
export class ConflictError extends Error {
  override name = 'ConflictError';
}
