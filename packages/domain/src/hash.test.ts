import { describe, expect, it } from 'vitest';
import { stableId } from './index.js';

/** The definition: two FNV-1a 64-bit lanes over `len:part|len:part…`, in BigInt (the original implementation). */
function reference(...parts: readonly string[]): string {
  const s = parts.map((p) => `${p.length}:${p}`).join('|');
  const lane = (offset: bigint): string => {
    let h = offset;
    for (let i = 0; i < s.length; i++) h = ((h ^ BigInt(s.charCodeAt(i))) * 0x100000001b3n) & 0xffffffffffffffffn;
    return h.toString(16).padStart(16, '0');
  };
  return lane(0xcbf29ce484222325n) + lane(0x84222325cbf29ce4n);
}

describe('stableId', () => {
  // Ids already stored (CDR ids, admission samples) must not change: these came from the BigInt implementation.
  it.each([
    [[], 'cbf29ce48422232584222325cbf29ce4'],
    [[''], '07fc0e07b4bd112f35e5fecb0492be32'],
    [['cdr', 'bench', 'a84b4c76e66710@pc33.atlanta.com', '1928301774'], 'bee48a5107df3c3cdaf7eca2f01bb241'],
    [['admission-sample', 'call-1'], 'b4692b9a50ff82988076fc4165a1cba5'],
    [['ü', 'あい'], '61e7bf2bf098c1b0aa36914db0ba41c1'],
    [['\uffff'.repeat(40)], '517d05fabd6c7521a5721160ae5be8e6'],
  ])('%j → %s', (parts, id) => {
    expect(stableId(...parts)).toBe(id);
  });

  it('matches the BigInt definition on random inputs (any UTF-16 code unit, any number of parts)', () => {
    let seed = 13;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      const parts = Array.from({ length: next(5) }, () => String.fromCharCode(...Array.from({ length: next(60) }, () => (next(10) === 0 ? next(65536) : 32 + next(95)))));
      expect(stableId(...parts)).toBe(reference(...parts));
    }
  });

  it('separates parts unambiguously', () => {
    expect(stableId('ab', 'c')).not.toBe(stableId('a', 'bc'));
    expect(stableId('a|1:b')).not.toBe(stableId('a', 'b'));
  });
});
