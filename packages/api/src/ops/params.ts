/** Small helpers shared by the ops route plugins (traffic, incidents, help desk, reports, history). */
import { isMonth, jstMonthOf } from '@kumo/domain';
import { KumoError } from '@kumo/runtime';

/** `YYYY-MM` (Asia/Tokyo) or `current`; anything else is 400 KUMO_ERR_VALIDATION. */
export function monthParam(m: string): string {
  if (m === 'current') return jstMonthOf(Date.now());
  if (!isMonth(m)) throw new KumoError('KUMO_ERR_VALIDATION', 'month must be YYYY-MM or "current"', { problems: [{ field: 'month', message: 'must be YYYY-MM or current' }] });
  return m;
}

/** A JSON schema object with no extra properties (every property required unless listed). */
export const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) =>
  ({ type: 'object', additionalProperties: false, required, properties }) as const;

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/** An ISO 8601 date-time from a request as epoch ms; 400 naming the field when it is not one. */
export function epochMs(s: string, field: string): number {
  const v = Date.parse(s);
  if (Number.isNaN(v)) throw new KumoError('KUMO_ERR_VALIDATION', `${field} must be an ISO 8601 date-time`, { problems: [{ field, message: 'not a date-time' }] });
  return v;
}
