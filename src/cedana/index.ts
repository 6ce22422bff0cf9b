// The Cedana API client: what the rest of the operator imports.
export { CedanaClient, type CedanaClientOptions, type CallOptions } from './client.ts';
export { CedanaApiError, isCedanaApiError, type CedanaErrorKind } from './errors.ts';
export type { CallInfo, HttpMethod } from './http.ts';
export { DEFAULT_RETRY, type RetryPolicy, type Sleep } from './retry.ts';
export type * from './schemas.ts';
