/**
 * Operational failures are typed errors with a stable `code` (KUMO_ERR_*).
 * Expected outcomes (a 486, a rejected call) are values, not errors.
 */
export class KumoError extends Error {
  constructor(
    readonly code: `KUMO_ERR_${string}`,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KumoError';
  }
}

export function isKumoError(e: unknown): e is KumoError {
  return e instanceof KumoError;
}
