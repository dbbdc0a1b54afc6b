/**
 * Reads a CDR from a stream entry's `cdr` field. Only the fields rating needs are checked;
 * a payload that fails here can never be charged, so it goes straight to the dead letters.
 */
import type { Cdr } from '@kumo/domain';

const DIRECTIONS = new Set(['internal', 'outbound', 'inbound', 'emergency']);
const DISPOSITIONS = new Set(['answered', 'no-answer', 'busy', 'failed', 'cancelled', 'rejected', 'unreachable']);
const isStrOrNull = (x: unknown): boolean => x === null || x === undefined || typeof x === 'string';

export function parseCdrPayload(payload: string | null): { ok: true; cdr: Cdr } | { ok: false; error: string } {
  if (payload === null) return { ok: false, error: 'entry has no cdr field (or was deleted)' };
  let x: unknown;
  try {
    x = JSON.parse(payload);
  } catch {
    return { ok: false, error: 'cdr field is not JSON' };
  }
  if (typeof x !== 'object' || x === null) return { ok: false, error: 'cdr is not an object' };
  const c = x as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof c.cdrId !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(c.cdrId)) problems.push('cdrId');
  if (typeof c.tenantId !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(c.tenantId)) problems.push('tenantId');
  if (typeof c.direction !== 'string' || !DIRECTIONS.has(c.direction)) problems.push('direction');
  if (typeof c.disposition !== 'string' || !DISPOSITIONS.has(c.disposition)) problems.push('disposition');
  if (typeof c.calleeDialled !== 'string') problems.push('calleeDialled');
  if (typeof c.startedAt !== 'number' || !Number.isSafeInteger(c.startedAt) || c.startedAt < 0) problems.push('startedAt');
  if (typeof c.billableSeconds !== 'number' || !Number.isSafeInteger(c.billableSeconds) || c.billableSeconds < 0 || c.billableSeconds > 31 * 86400) {
    problems.push('billableSeconds');
  }
  for (const k of ['calleeE164', 'callerExtension', 'calleeExtension', 'department', 'trunkId'] as const) if (!isStrOrNull(c[k])) problems.push(k);
  if (problems.length > 0) return { ok: false, error: `invalid CDR fields: ${problems.join(', ')}` };
  // Normalise optional fields in place (the object is fresh from JSON.parse; no spread on this hot path).
  for (const k of ['calleeE164', 'callerExtension', 'calleeExtension', 'department', 'trunkId'] as const) c[k] ??= null;
  return { ok: true, cdr: c as unknown as Cdr };
}
