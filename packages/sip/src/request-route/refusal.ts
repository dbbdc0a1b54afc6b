/**
 * How Kumo says no: every refusal of a request carries
 *
 * - `Reason: SIP;cause=<status>;text="<code>"` (RFC 3326): standard, read by phones and carriers;
 * - `X-Kumo-Reason: <code>`: the same machine-readable code as the CDR's `rejectionReason`
 *   (docs/routing.md lists them);
 * - `Retry-After` where trying again later can succeed: a full trunk, a busy process, gateways down,
 *   a passing failure (not for a wrong number, a forbidden call or a missing trunk);
 *
 * and is logged once at info level with tenant, Call-ID, step and code (`logRefusal`).
 */
import type { Logger } from '@kumo/runtime';

/** Seconds in `Retry-After` by refusal code; codes not listed get none. */
export const RETRY_AFTER_S: Readonly<Record<string, number>> = {
  'trunk-channels': 5,
  overload: 5,
  'port-limit': 5,
  'rate-limit': 2,
  'no-gateway': 30,
  'transport-error': 5,
  'internal-error': 5,
  'status-500': 5,
  'status-503': 5,
};

/** The code of a refusal without one of its own. */
export function defaultRefusalCode(status: number): string {
  return `status-${status}`;
}

/** `Reason` (and `Retry-After` when retrying makes sense) and `X-Kumo-Reason` for a refusal; `given` wins. */
export function refusalHeaders(status: number, code: string, given: Readonly<Record<string, string>> = {}): Record<string, string> {
  const has = (name: string): boolean => Object.keys(given).some((k) => k.toLowerCase() === name.toLowerCase());
  const retry = RETRY_AFTER_S[code];
  return {
    ...(has('Reason') ? {} : { Reason: `SIP;cause=${status};text="${code.replace(/["\\\r\n]/g, '')}"` }),
    ...(has('X-Kumo-Reason') ? {} : { 'X-Kumo-Reason': code }),
    ...(retry !== undefined && !has('Retry-After') ? { 'Retry-After': String(retry) } : {}),
    ...given,
  };
}

/** The code carried by headers a step already built (admission sets `X-Kumo-Reason`). */
export function codeOf(headers: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!headers) return undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === 'x-kumo-reason') return v;
  return undefined;
}

/** One info line per refusal. */
export function logRefusal(log: Logger, r: { tenant?: string | undefined; callId: string; method: string; step: string; status: number; code: string }): void {
  log.info({ tenant: r.tenant, callId: r.callId, method: r.method, step: r.step, status: r.status, reason: r.code }, `${r.method} refused: ${r.status} ${r.code}`);
}
