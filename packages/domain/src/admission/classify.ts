/**
 * Call classification for admission: emergency numbers, operator-configured priority
 * numbers/extensions, and the deterministic sampling value used by disaster restriction.
 */
import { stableId } from '../hash.js';
import { EMERGENCY_NUMBERS } from '../provisioning/types.js';
import type { CallPriority } from './policy.js';

/** 110 (police), 118 (coast guard), 119 (fire and ambulance), dialled as such. */
export function isEmergencyNumber(dialled: string): boolean {
  return (EMERGENCY_NUMBERS as readonly string[]).includes(dialled.trim());
}

export interface PriorityFacts {
  /** What the caller dialled (request-URI user). */
  readonly dialled: string;
  /** The callee's normalised E.164 number, when public. */
  readonly calleeE164?: string;
  /** The calling extension, when the caller is one of the tenant's extensions. */
  readonly callerExtension?: string;
  /** The caller's E.164 number (inbound calls). */
  readonly callerE164?: string;
  /** The callee extension (internal / inbound calls). */
  readonly calleeExtension?: string;
}

/**
 * `emergency` for 110/118/119; `priority` when the caller or callee is an operator-configured
 * priority number or extension (e.g. a municipality's disaster office); otherwise `normal`.
 * `priorityNumbers` mixes E.164 numbers (`+81…`) and the tenant's extension numbers.
 */
export function classifyCall(f: PriorityFacts, priorityNumbers: ReadonlySet<string>): CallPriority {
  if (isEmergencyNumber(f.dialled)) return 'emergency';
  const candidates = [f.dialled, f.calleeE164, f.callerExtension, f.callerE164, f.calleeExtension];
  for (const c of candidates) if (c !== undefined && c !== '' && priorityNumbers.has(c)) return 'priority';
  return 'normal';
}

/**
 * A value in [0, 1) derived only from the call's identity, so every process (and every retry
 * of the same INVITE) makes the same restriction decision for the same call.
 */
export function admissionSample(callId: string): number {
  const hex = stableId('admission-sample', callId);
  const word = (i: number): number => parseInt(hex.slice(i * 8, i * 8 + 8), 16);
  // FNV leaves the high bits of similar inputs (call-1, call-2, ...) correlated: finish with an avalanche mix.
  const hi = fmix32(word(0) ^ word(3));
  const lo = fmix32(word(1) ^ word(2) ^ hi);
  return (hi * 2 ** 20 + (lo >>> 12)) / 2 ** 52;
}

/** MurmurHash3's 32-bit finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
