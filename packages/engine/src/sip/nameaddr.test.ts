import { describe, expect, it } from 'vitest';
import { bracketed, formatNameAddr, parseNameAddr } from './nameaddr.js';

/** What `bracketed` must equal: the full parse, and the name-addr form written out when it was an addr-spec. */
function reference(v: string): string {
  const na = parseNameAddr(v);
  if (!na || na.bracketed) return v;
  return formatNameAddr({ ...na, bracketed: true });
}

describe('bracketed (name-addr form of an app header value)', () => {
  it('rewrites an addr-spec, keeps a name-addr and unparsable text as written', () => {
    expect(bracketed('sip:alice@a.example;tag=1')).toBe('<sip:alice@a.example>;tag=1');
    expect(bracketed('sipp <sip:sipp@127.0.0.1:5060>;tag=1')).toBe('sipp <sip:sipp@127.0.0.1:5060>;tag=1');
    expect(bracketed('"A" <sip:a@b>')).toBe('"A" <sip:a@b>');
    expect(bracketed('sip:a@b;x="<"')).toBe('<sip:a@b>;x="<"'); // a quoted `<` in a parameter: still an addr-spec
    expect(bracketed('not a uri')).toBe('not a uri');
  });

  it('agrees with the full parse on generated values (the shortcut never changes the answer)', () => {
    const parts = ['sip:', 'a', '@', 'b.example', '<', '>', '"', ' ', ';', 'tag', '=', 'x', ',', ':5060', '\\', 'tel:+1', 'Al ice'];
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 20000; i++) {
      let v = '';
      const len = 1 + rnd(9);
      for (let k = 0; k < len; k++) v += parts[rnd(parts.length)];
      expect(bracketed(v), v).toBe(reference(v));
    }
  });
});
