// The Cedana API client: what the rest of the operator imports.
export { CedanaClient, type CedanaClientOptions, type CallOptions } from './client.ts';
export { CedanaApiError, isCedanaApiError, UNSYNCED_POD_MESSAGE, type CedanaErrorKind } from './errors.ts';
export { actionKind, actionOutcome, isActionDone, isActionFailed, isActionRunning, isPodCheckpointAction, isPodRestoreAction, type ActionKind, type ActionOutcome } from './actions.ts';
export { normaliseBaseUrl } from './base-url.ts';
export type { CallInfo, HttpMethod } from './http.ts';
export { DEFAULT_RETRY, type RetryPolicy, type Sleep } from './retry.ts';
export type * from './schemas.ts';
