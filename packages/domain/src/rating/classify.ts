/**
 * Destination classes of the Japanese numbering plan, from the callee as the CDR records it.
 * The E.164 form wins when present; otherwise the dialled digits are read as dialled in Japan
 * (184/186 caller-ID prefixes stripped, `010` international prefix, leading `0` national).
 */
import type { CallDirection } from '../cdr.js';
import { isServiceCode } from '../routing/numbering.js';

export type DestinationClass =
  | 'fixed'
  | 'ip'
  | 'mobile'
  | 'tollfree'
  | 'international'
  | 'service'
  | 'emergency'
  | 'internal'
  | 'inbound'
  | 'other';

export const DESTINATION_CLASSES: readonly DestinationClass[] = [
  'fixed', 'ip', 'mobile', 'tollfree', 'international', 'service', 'emergency', 'internal', 'inbound', 'other',
];

export type Destination =
  | { readonly cls: 'international'; readonly digits: string }
  /** A service number (1XY, #DDDD) as dialled after the outside-line prefix. */
  | { readonly cls: 'service'; readonly code: string }
  | { readonly cls: 'fixed' | 'ip' | 'mobile' | 'tollfree' | 'other'; readonly national: string }
  | { readonly cls: 'emergency' | 'internal' | 'inbound'; readonly number: string };

const EMERGENCY = new Set(['110', '118', '119']);

/** Classifies a national number (starting with 0). */
export function classifyNational(n: string): 'fixed' | 'ip' | 'mobile' | 'tollfree' | 'other' {
  if (n.startsWith('0120') || n.startsWith('0800')) return 'tollfree';
  if (/^050\d{8}$/.test(n)) return 'ip';
  if (/^0[789]0\d{8}$/.test(n)) return 'mobile';
  // 0570 navi-dial, 0180 telephone services, 0990 information: not 0AB-J subscriber numbers.
  if (/^0(570|180|990|910)/.test(n)) return 'other';
  if (/^0[1-9]\d{8}$/.test(n) && !/^0[5789]0/.test(n)) return 'fixed';
  return 'other';
}

export interface CalleeFacts {
  readonly direction: CallDirection;
  readonly calleeDialled: string;
  readonly calleeE164: string | null;
}

export function classifyDestination(c: CalleeFacts): Destination {
  if (c.direction === 'internal') return { cls: 'internal', number: c.calleeDialled };
  if (c.direction === 'inbound') return { cls: 'inbound', number: c.calleeDialled };
  const dialled = c.calleeDialled.replace(/[^0-9+*#]/g, '');
  if (c.direction === 'emergency' || EMERGENCY.has(dialled)) return { cls: 'emergency', number: dialled };
  const e164 = c.calleeE164?.replace(/[^0-9+]/g, '') ?? '';
  if (/^\+\d{4,15}$/.test(e164)) {
    if (e164.startsWith('+81')) {
      const national = `0${e164.slice(3)}`;
      return { cls: classifyNational(national), national };
    }
    return { cls: 'international', digits: e164.slice(1) };
  }
  let d = dialled;
  if (/^18[46]/.test(d) && d.length > 3) d = d.slice(3);
  if (EMERGENCY.has(d)) return { cls: 'emergency', number: d };
  // 1XY / #DDDD after the outside-line prefix 0 (`0104`, `0#7119`): before `010`, which `0104` also starts with.
  const svc = d.startsWith('0') ? d.slice(1) : d;
  if (EMERGENCY.has(svc)) return { cls: 'emergency', number: svc };
  if (isServiceCode(svc)) return { cls: 'service', code: svc };
  if (d.startsWith('+')) return d.startsWith('+81') ? national(`0${d.slice(3)}`) : { cls: 'international', digits: d.slice(1) };
  if (d.startsWith('010')) return { cls: 'international', digits: d.slice(3) };
  if (d.startsWith('0')) return national(d);
  return { cls: 'other', national: d };
}

function national(n: string): Destination {
  return { cls: classifyNational(n), national: n };
}

/** Longest key of `table` that prefixes `s`, or undefined. */
export function longestPrefix<T>(table: Readonly<Record<string, T>>, s: string): string | undefined {
  for (let len = Math.min(s.length, 8); len > 0; len--) {
    const p = s.slice(0, len);
    if (Object.prototype.hasOwnProperty.call(table, p)) return p;
  }
  return undefined;
}
