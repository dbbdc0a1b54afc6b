import type { HeaderField } from './types.js';

/** Compact forms (RFC 3261 §7.3.3 and the IANA registry) → canonical lower-case long name. */
export const COMPACT_FORMS: Readonly<Record<string, string>> = Object.freeze({
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
});

/** Spelling used when the engine writes a header it creates (keys not listed are title-cased per dash). */
const PRETTY: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  'rack': 'RAck',
  'rseq': 'RSeq',
  'sip-etag': 'SIP-ETag',
  'sip-if-match': 'SIP-If-Match',
  'p-asserted-identity': 'P-Asserted-Identity',
};

/** Canonical key of a header name: lower-case, compact form expanded. */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length === 1) {
    const long = COMPACT_FORMS[lower];
    if (long !== undefined) return long;
  }
  return lower;
}

/** Spellings already worked out, by the name as written (bounded: names are the peers' and apps' choice). */
const prettyCache = new Map<string, string>();
const PRETTY_CACHE_MAX = 1024;

/** The conventional spelling of a header name (`call-id` → `Call-ID`, `i` → `Call-ID`). */
export function prettyHeaderName(name: string): string {
  const hit = prettyCache.get(name);
  if (hit !== undefined) return hit;
  const p = spell(name);
  if (prettyCache.size < PRETTY_CACHE_MAX) prettyCache.set(name, p);
  return p;
}

function spell(name: string): string {
  const key = headerKey(name);
  const p = PRETTY[key];
  if (p !== undefined) return p;
  let out = '';
  let up = true;
  for (let i = 0; i < key.length; i++) {
    const ch = key[i]!;
    out += up ? ch.toUpperCase() : ch;
    up = ch === '-';
  }
  return out;
}

/**
 * Split a header value on top-level commas: commas inside quoted strings (with `\` escapes) and inside `<...>` are
 * kept. Each part is trimmed; empty parts are dropped. Only meaningful for list headers (Via, Contact, Route,
 * Record-Route, Allow, Supported, Require ...), never for WWW-Authenticate, Authorization or Date.
 */
export function splitHeaderValues(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c /* < */) inAngle = true;
    else if (c === 0x3e /* > */) inAngle = false;
    else if (c === 0x2c /* , */ && !inAngle) {
      const part = value.slice(start, i).trim();
      if (part !== '') out.push(part);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last !== '') out.push(last);
  return out;
}

/**
 * The header fields of a message, in wire order, with raw values. Lookups are case-insensitive and accept compact
 * forms. Every mutation bumps `rev`, which the message uses to drop its cached parsed headers.
 */
export class SipHeaders implements Iterable<HeaderField> {
  private list: HeaderField[];
  /** Incremented on every mutation. */
  rev = 0;

  constructor(fields?: Iterable<HeaderField | readonly [string, string]>) {
    this.list = [];
    if (fields !== undefined) {
      for (const f of fields) {
        if (Array.isArray(f)) {
          const [name, value] = f as readonly [string, string];
          this.list.push({ name, key: headerKey(name), value });
        } else {
          const hf = f as HeaderField;
          this.list.push({ name: hf.name, key: hf.key, value: hf.value });
        }
      }
    }
  }

  /** @internal Adopt an array of fields without copying (parser fast path). */
  static fromFields(list: HeaderField[]): SipHeaders {
    const h = new SipHeaders();
    h.list = list;
    return h;
  }

  /** Number of header fields. */
  get size(): number {
    return this.list.length;
  }

  [Symbol.iterator](): Iterator<HeaderField> {
    return this.list[Symbol.iterator]();
  }

  /** All fields in order (read-only view; mutate through the methods). */
  fields(): readonly HeaderField[] {
    return this.list;
  }

  has(name: string): boolean {
    const key = headerKey(name);
    for (const f of this.list) if (f.key === key) return true;
    return false;
  }

  /** Number of fields with this name. */
  count(name: string): number {
    const key = headerKey(name);
    let n = 0;
    for (const f of this.list) if (f.key === key) n++;
    return n;
  }

  /** Value of the first field with this name. */
  get(name: string): string | undefined {
    const key = headerKey(name);
    for (const f of this.list) if (f.key === key) return f.value;
    return undefined;
  }

  /** Values of every field with this name, in order (not comma-split). */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (const f of this.list) if (f.key === key) out.push(f.value);
    return out;
  }

  /** Every value of a list header: all fields, each comma-split (see `splitHeaderValues`). */
  values(name: string): string[] {
    const key = headerKey(name);
    let out: string[] | undefined;
    for (const f of this.list) {
      if (f.key !== key) continue;
      const v = f.value;
      const parts = v.indexOf(',') < 0 ? (v.trim() === '' ? [] : [v.trim()]) : splitHeaderValues(v);
      if (out === undefined) out = parts;
      else for (const p of parts) out.push(p);
    }
    return out ?? [];
  }

  /** Add a field after all others. */
  append(name: string, value: string): this {
    this.list.push({ name, key: headerKey(name), value });
    this.rev++;
    return this;
  }

  /** Add a field before the first field of the same name, or at the top when there is none (e.g. a new Via). */
  prepend(name: string, value: string): this {
    const key = headerKey(name);
    const idx = this.list.findIndex((f) => f.key === key);
    this.list.splice(idx < 0 ? 0 : idx, 0, { name, key, value });
    this.rev++;
    return this;
  }

  /**
   * Set a header to one value: the first field of that name is replaced in place (written with `name` as given),
   * the others are removed; appended when absent.
   */
  set(name: string, value: string): this {
    const key = headerKey(name);
    let found = false;
    const next: HeaderField[] = [];
    for (const f of this.list) {
      if (f.key !== key) next.push(f);
      else if (!found) {
        next.push({ name, key, value });
        found = true;
      }
    }
    if (!found) next.push({ name, key, value });
    this.list = next;
    this.rev++;
    return this;
  }

  /** Remove every field with this name; returns how many were removed. */
  remove(name: string): number {
    const key = headerKey(name);
    const before = this.list.length;
    this.list = this.list.filter((f) => f.key !== key);
    const removed = before - this.list.length;
    if (removed > 0) this.rev++;
    return removed;
  }

  /** Remove and return the first field with this name (e.g. pop the top Via field). */
  removeFirst(name: string): HeaderField | undefined {
    const key = headerKey(name);
    const idx = this.list.findIndex((f) => f.key === key);
    if (idx < 0) return undefined;
    const [f] = this.list.splice(idx, 1);
    this.rev++;
    return f;
  }

  /** Replace the value of the n-th (0-based) field with this name; false when there is no such field. */
  replaceAt(name: string, index: number, value: string): boolean {
    const key = headerKey(name);
    let n = 0;
    for (let i = 0; i < this.list.length; i++) {
      const f = this.list[i]!;
      if (f.key !== key) continue;
      if (n++ === index) {
        this.list[i] = { name: f.name, key, value };
        this.rev++;
        return true;
      }
    }
    return false;
  }

  /** Deep copy. */
  clone(): SipHeaders {
    return new SipHeaders(this.list);
  }
}
