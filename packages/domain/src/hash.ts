/**
 * A deterministic, dependency-free 128-bit hash (two FNV-1a 64-bit lanes with different
 * offsets) for ids that must be the same on every retry, e.g. CDR ids. Not cryptographic.
 */
const PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

function fnv1a64(input: string, offset: bigint): bigint {
  let h = offset;
  // UTF-16 code units are fine here: the same string always gives the same units.
  for (let i = 0; i < input.length; i++) {
    h ^= BigInt(input.charCodeAt(i));
    h = (h * PRIME) & MASK;
  }
  return h;
}

export function stableId(...parts: readonly string[]): string {
  const s = parts.map((p) => `${p.length}:${p}`).join('|');
  const a = fnv1a64(s, 0xcbf29ce484222325n);
  const b = fnv1a64(s, 0x84222325cbf29ce4n);
  return a.toString(16).padStart(16, '0') + b.toString(16).padStart(16, '0');
}
