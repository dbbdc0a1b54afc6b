/**
 * Cursor and month parameters (docs/security.md, "API hygiene"): every malformed or out-of-range
 * value is a 400 KUMO_ERR_VALIDATION naming the field, never a Redis error surfacing as a 500.
 */
import { isMonth } from '@kumo/domain';
import { KumoError } from '@kumo/runtime';

const U64_MAX = 18_446_744_073_709_551_615n;

/** JSON-schema fragment for a Redis stream id cursor (`<ms>-<seq>`); the range is checked by `streamCursor`. */
export const streamIdPattern = '^(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,19})$';

function bad(field: string, message: string): KumoError {
  return new KumoError('KUMO_ERR_VALIDATION', `${field} ${message}`, { problems: [{ field, message }] });
}

/**
 * Validates a stream-id cursor: `<ms>-<seq>`, both parts unsigned 64-bit. Returns the canonical
 * id, or undefined when absent.
 */
export function streamCursor(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  const m = /^([0-9]{1,20})-([0-9]{1,20})$/.exec(value);
  if (m === null) throw bad(field, 'must be a stream id <ms>-<seq> (the `next` value of the previous page)');
  const ms = BigInt(m[1] ?? '0');
  const seq = BigInt(m[2] ?? '0');
  if (ms > U64_MAX || seq > U64_MAX) throw bad(field, 'is out of range (each part at most 2^64-1)');
  return `${ms}-${seq}`;
}

/** True when nothing can come strictly before (`0-0`) this id: the page is empty. */
export const isFirstStreamId = (id: string): boolean => id === '0-0';
/** True when nothing can come strictly after this id: the page is empty. */
export const isLastStreamId = (id: string): boolean => id === `${U64_MAX}-${U64_MAX}`;

/** Months the billing API serves: Asia/Tokyo calendar months from 2000-01 to 2199-12. */
export const FIRST_MONTH = '2000-01';
export const LAST_MONTH = '2199-12';

/** Validates a YYYY-MM month within [FIRST_MONTH, LAST_MONTH]. */
export function checkMonth(m: string, field = 'month'): string {
  if (!isMonth(m)) throw bad(field, 'must be YYYY-MM or "current"');
  if (m < FIRST_MONTH || m > LAST_MONTH) throw bad(field, `must be between ${FIRST_MONTH} and ${LAST_MONTH}`);
  return m;
}
