// The error of a Kubernetes API call that the apiserver answered with a failure status.

export class KubeHttpError extends Error {
  override name = 'KubeHttpError';
  readonly statusCode: number;
  /** The Status reason (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...), when the answer had one. */
  readonly reason: string | undefined;
  constructor(statusCode: number, message: string, reason?: string) {
    super(message);
    this.statusCode = statusCode;
    this.reason = reason;
  }
  /** As client-node's ApiException names it, so one check serves both. */
  get code(): number {
    return this.statusCode;
  }
}

/** The HTTP status of a failed Kubernetes call (ours, or a client-node ApiException), if there is one. */
export const statusCodeOf = (err: unknown): number | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
};
