/**
 * Classification of carrier gateway addresses (docs/security.md, "Operator-owned numbers and
 * carriers"). A trunk gateway must be an address a carrier can be at: loopback, unspecified,
 * broadcast, multicast, link-local and reserved addresses are refused unless an operator has
 * explicitly granted that very address to the tenant. Private (RFC 1918, ULA) and documentation
 * ranges are ordinary: carriers' closed networks (e.g. NGN interconnects) use private addresses.
 */

export type AddressClass =
  | 'public'
  | 'private'
  | 'documentation'
  | 'loopback'
  | 'unspecified'
  | 'broadcast'
  | 'multicast'
  | 'link-local'
  | 'reserved'
  | 'hostname';

/** Classes a tenant's trunk may not point at without an explicit operator grant. */
export const SPECIAL_ADDRESS_CLASSES: ReadonlySet<AddressClass> = new Set(['loopback', 'unspecified', 'broadcast', 'multicast', 'link-local', 'reserved']);

function v4(s: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null) return undefined;
  const o = m.slice(1).map(Number);
  return o.every((x) => x <= 255) ? o : undefined;
}

function classifyV4(o: readonly number[]): AddressClass {
  const [a = 0, b = 0, c = 0, d = 0] = o;
  if (a === 0) return 'unspecified'; // 0.0.0.0/8, "this network"
  if (a === 127) return 'loopback';
  if (a === 255 && b === 255 && c === 255 && d === 255) return 'broadcast';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)) return 'private';
  if ((a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return 'documentation';
  if (a === 198 && (b === 18 || b === 19)) return 'reserved'; // benchmarking
  return 'public';
}

/** Expands an IPv6 literal to 8 groups, or undefined when it is not one. */
function v6Groups(s: string): number[] | undefined {
  let t = s;
  if (t.includes('.')) {
    // Trailing dotted IPv4 (::ffff:127.0.0.1): rewrite it as two hex groups.
    const at = t.lastIndexOf(':');
    const o = v4(t.slice(at + 1));
    if (o === undefined) return undefined;
    t = `${t.slice(0, at + 1)}${(((o[0] ?? 0) << 8) | (o[1] ?? 0)).toString(16)}:${(((o[2] ?? 0) << 8) | (o[3] ?? 0)).toString(16)}`;
  }
  const parts = t.split('::');
  if (parts.length > 2) return undefined;
  const parse = (x: string): number[] | undefined => {
    if (x === '') return [];
    const g = x.split(':');
    if (!g.every((h) => /^[0-9a-f]{1,4}$/i.test(h))) return undefined;
    return g.map((h) => parseInt(h, 16));
  };
  const head = parse(parts[0] ?? '');
  const rest = parts.length === 2 ? parse(parts[1] ?? '') : [];
  if (head === undefined || rest === undefined) return undefined;
  const known = head.length + rest.length;
  if (parts.length === 1 ? known !== 8 : known > 7) return undefined;
  return [...head, ...Array<number>(8 - known).fill(0), ...rest];
}

function classifyV6(g: readonly number[]): AddressClass {
  const [g0 = 0, , , , , g5 = 0, g6 = 0, g7 = 0] = g;
  const allZero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (allZero(0, 8)) return 'unspecified';
  if (allZero(0, 7) && g7 === 1) return 'loopback';
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible: the embedded IPv4 address decides.
  if (allZero(0, 5) && (g5 === 0xffff || g5 === 0)) return classifyV4([g6 >> 8, g6 & 255, g7 >> 8, g7 & 255]);
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xfe00) === 0xfc00) return 'private';
  if (g0 === 0x2001 && g[1] === 0x0db8) return 'documentation';
  if ((g0 & 0xe000) !== 0x2000) return 'reserved';
  return 'public';
}

/** Classifies a gateway host: an IPv4/IPv6 literal (brackets allowed) or a host name. */
export function classifyAddress(host: string): AddressClass {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  const o = v4(h);
  if (o !== undefined) return classifyV4(o);
  if (h.includes(':')) {
    const g = v6Groups(h.replace(/%.*$/, ''));
    return g === undefined ? 'reserved' : classifyV6(g);
  }
  if (h === 'localhost' || h.endsWith('.localhost')) return 'loopback';
  return 'hostname';
}

/** True when a tenant's trunk may not use `host` unless an operator granted exactly it. */
export function isSpecialAddress(host: string): boolean {
  return SPECIAL_ADDRESS_CLASSES.has(classifyAddress(host));
}
