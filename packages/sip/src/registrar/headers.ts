/**
 * Small, strict parsers for the headers the registrar reads (Contact, To, Expires, CSeq).
 * Pure functions: no I/O.
 */

export interface ContactEntry {
  /** The URI inside `<…>` (or the bare URI), without header parameters. */
  readonly uri: string;
  /** Header parameters (after `>`), names lower-cased; a flag parameter has value ''. */
  readonly params: ReadonlyMap<string, string>;
}

export type ContactList = { readonly kind: 'star' } | { readonly kind: 'list'; readonly contacts: readonly ContactEntry[] };

/** Splits on `sep` outside quotes and angle brackets. */
function splitOutside(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let angle = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (quoted) {
      if (c === '\\' && i + 1 < s.length) {
        cur += c + (s[i + 1] as string);
        i++;
        continue;
      }
      if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') angle++;
    else if (c === '>') angle = Math.max(0, angle - 1);
    else if (c === sep && angle === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out;
}

function parseParams(s: string): Map<string, string> | null {
  const params = new Map<string, string>();
  for (const raw of splitOutside(s, ';')) {
    const p = raw.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (!/^[a-z0-9.!%*_+`'~-]+$/.test(name)) return null;
    params.set(name, eq < 0 ? '' : p.slice(eq + 1).trim());
  }
  return params;
}

/** One name-addr / addr-spec with header params; null when malformed. */
export function parseNameAddr(v: string): ContactEntry | null {
  const s = v.trim();
  if (s === '') return null;
  const lt = (() => {
    // find '<' outside quotes
    let quoted = false;
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '"' && s[i - 1] !== '\\') quoted = !quoted;
      else if (!quoted && s[i] === '<') return i;
    }
    return -1;
  })();
  if (lt >= 0) {
    const gt = s.indexOf('>', lt);
    if (gt < 0) return null;
    const uri = s.slice(lt + 1, gt).trim();
    const params = parseParams(s.slice(gt + 1));
    if (!params || !/^sips?:/i.test(uri)) return null;
    return { uri, params };
  }
  // addr-spec: params after the URI belong to the header (RFC 3261 §20)
  const [uri, ...rest] = s.split(';');
  const params = parseParams(rest.join(';'));
  if (!uri || !params || !/^sips?:/i.test(uri.trim())) return null;
  return { uri: uri.trim(), params };
}

/** The Contact header(s) of a REGISTER; null when malformed (→ 400). Undefined input: empty list (a query). */
export function parseContacts(header: string | undefined): ContactList | null {
  if (header === undefined || header.trim() === '') return { kind: 'list', contacts: [] };
  if (header.trim() === '*') return { kind: 'star' };
  const contacts: ContactEntry[] = [];
  for (const part of splitOutside(header, ',')) {
    if (part.trim() === '*') return null; // '*' mixed with other contacts
    const c = parseNameAddr(part);
    if (!c) return null;
    contacts.push(c);
  }
  return { kind: 'list', contacts };
}

export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

/** Parses `sip:user@host:port;params`; user is percent-decoded, host lower-cased. */
export function parseSipUri(uri: string): SipUri | null {
  const m = /^(sips?):(?:([^@;?]+)@)?(\[[0-9a-fA-F:.]+\]|[^:;?>\s]+)(?::(\d{1,5}))?(?:[;?].*)?$/i.exec(uri.trim());
  if (!m) return null;
  let user: string | undefined;
  if (m[2] !== undefined) {
    const u = m[2].split(':')[0] as string; // drop a password part
    try {
      user = decodeURIComponent(u);
    } catch {
      return null;
    }
  }
  return {
    scheme: (m[1] as string).toLowerCase() as 'sip' | 'sips',
    ...(user !== undefined ? { user } : {}),
    host: (m[3] as string).toLowerCase(),
    ...(m[4] !== undefined ? { port: Number(m[4]) } : {}),
  };
}

/** A delta-seconds value (Expires header or parameter); null when malformed. Capped to 2^32-1 (RFC 3261 §20.19). */
export function parseDeltaSeconds(v: string | undefined): number | null | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  if (!/^\d{1,10}$/.test(s)) return null;
  return Math.min(Number(s), 4294967295);
}

/** `CSeq: 42 REGISTER` → 42; null when malformed. */
export function parseCSeq(v: string | undefined): number | null {
  const m = /^\s*(\d{1,10})\s+([A-Za-z]+)\s*$/.exec(v ?? '');
  return m ? Number(m[1]) : null;
}

/** Unquotes `"<urn:uuid:…>"` as found in +sip.instance. */
export function unquote(v: string): string {
  const s = v.trim();
  return s.startsWith('"') && s.endsWith('"') && s.length >= 2 ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s;
}

/** One Via entry: transport, sent-by and the received / rport parameters a proxy added. */
export interface ViaEntry {
  readonly transport: string;
  readonly host: string;
  readonly port?: number;
  readonly params: ReadonlyMap<string, string>;
}

/** The Via header(s), topmost first; null when any entry is malformed. */
export function parseVias(header: string | undefined): ViaEntry[] | null {
  if (header === undefined) return [];
  const out: ViaEntry[] = [];
  for (const part of splitOutside(header, ',')) {
    const m = /^\s*SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[0-9a-fA-F:.]+\]|[^\s:;]+)(?:\s*:\s*(\d{1,5}))?\s*((?:;.*)?)$/.exec(part);
    if (!m) return null;
    const params = parseParams(m[4] ?? '');
    if (!params) return null;
    out.push({
      transport: (m[1] as string).toLowerCase(),
      host: (m[2] as string).replace(/^\[|\]$/g, ''),
      ...(m[3] !== undefined ? { port: Number(m[3]) } : {}),
      params,
    });
  }
  return out;
}

/** A Path (RFC 3327) or Record-Route header as a route set of `<uri>` entries; null when malformed. */
export function parseRouteSet(header: string | undefined): string[] | null {
  if (header === undefined || header.trim() === '') return [];
  const out: string[] = [];
  for (const part of splitOutside(header, ',')) {
    const e = parseNameAddr(part);
    if (!e) return null;
    out.push(`<${e.uri}>`);
  }
  return out;
}
