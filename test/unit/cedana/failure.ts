// The CedanaApiError a call fails with; the test fails if the call succeeds or fails otherwise.
import { expect } from 'vitest';
import { CedanaApiError } from '../../../src/cedana/errors.ts';

export async function failure(p: Promise<unknown>): Promise<CedanaApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CedanaApiError);
    return err as CedanaApiError;
  }
  throw new Error('expected the call to fail');
}
