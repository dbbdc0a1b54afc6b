/**
 * A deterministic, dependency-free 128-bit hash (two FNV-1a 64-bit lanes with different
 * offsets) for ids that must be the same on every retry, e.g. CDR ids. Not cryptographic.
 *
 * Each 64-bit lane is kept as two unsigned 32-bit halves in plain numbers (no BigInt: this
 * runs on every call, and BigInt arithmetic allocated three values per character).
 */
/** FNV-1a 64-bit prime 2^40 + 0x1b3: h * PRIME = (h << 40) + h * 0x1b3 (mod 2^64). */
const PRIME_LOW = 0x1b3;
const TWO32 = 4294967296;

function fnv1a64(input: string, hi0: number, lo0: number): string {
  let hi = hi0;
  let lo = lo0;
  // UTF-16 code units are fine here: the same string always gives the same units.
  for (let i = 0; i < input.length; i++) {
    lo = (lo ^ input.charCodeAt(i)) >>> 0;
    const low = lo * PRIME_LOW; // < 2^41: exact in a double
    const lowBits = low >>> 0; // ToUint32 is exact modulo 2^32 below 2^53
    // (h << 40) adds lo's low 24 bits to hi's bits 8..31.
    hi = (hi * PRIME_LOW + (low - lowBits) / TWO32 + (lo & 0xffffff) * 256) >>> 0;
    lo = lowBits;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

export function stableId(...parts: readonly string[]): string {
  let s = '';
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    s += i === 0 ? `${p.length}:${p}` : `|${p.length}:${p}`;
  }
  return fnv1a64(s, 0xcbf29ce4, 0x84222325) + fnv1a64(s, 0x84222325, 0xcbf29ce4);
}
