/**
 * Low-level RFC 3261 grammar helpers: character classes, a linear-time scanner (no regular expressions with
 * backtracking), quoted strings and parameters. Every function here is total: bad input gives `undefined`.
 */
import type { CSeq, SipParams } from './types.js';

function table(chars: string, alnum: boolean): Uint8Array {
  const t = new Uint8Array(128);
  if (alnum) {
    for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
    for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
    for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  }
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

/** RFC 3261 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" */
export const TOKEN = table("-.!%*_+`'~", true);
/** Characters of a generic-param value that is not quoted: token plus host characters (`:` and `[` `]` for IPv6). */
export const PARAM_VALUE = table("-.!%*_+`'~:[]", true);
/**
 * URI user: unreserved / escaped / user-unreserved (`&=+$,;?/`), and leniently `#`, which PBX dial strings
 * (`sip:*72#1001@pbx`) often carry unescaped.
 */
export const URI_USER = table("-_.!~*'()%&=+$,;?/#", true);
/** URI password: unreserved / escaped / `&=+$,`. */
export const URI_PASSWORD = table("-_.!~*'()%&=+$,", true);
/** URI paramchar: unreserved / escaped / param-unreserved (`[]/:&+$`). */
export const URI_PARAM = table("-_.!~*'()%[]/:&+$", true);
/** URI header name/value: unreserved / escaped / hnv-unreserved (`[]/?:+$`). */
export const URI_HEADER = table("-_.!~*'()%[]/?:+$", true);
/** Hostname characters (lenient: also `_`). */
export const HOST = table('-._', true);
/** URI scheme characters after the first letter. */
export const SCHEME = table('+-.', true);

/** Test every char of `s[from, to)` against a table (non-ASCII fails). */
export function allIn(t: Uint8Array, s: string, from = 0, to = s.length): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || t[c] === 0) return false;
  }
  return true;
}

/** True when the text is an RFC 3261 token. */
export function isToken(text: string): boolean {
  return allIn(TOKEN, text);
}

/** True when every `%` in s[from,to) starts a valid `%HH` escape. */
export function validEscapes(s: string, from = 0, to = s.length): boolean {
  let i = s.indexOf('%', from);
  while (i >= 0 && i < to) {
    if (i + 2 >= to) return false;
    if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return false;
    i = s.indexOf('%', i + 3);
  }
  return true;
}

export function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** SP or HTAB. */
export function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Parameter sets are instances of a class whose prototype is an empty object with a null prototype: nothing is
 * inherited (`params.constructor`, `params.__proto__` are ordinary, absent keys) and, unlike `Object.create(null)`
 * objects, V8 keeps them in fast mode (several times faster to fill).
 */
class ParamSet {}
delete (ParamSet.prototype as { constructor?: unknown }).constructor;
Object.setPrototypeOf(ParamSet.prototype, null);

/** A new empty parameter set (nothing inherited: any parameter name is safe). */
export function newParams(): SipParams {
  return new ParamSet() as SipParams;
}

/**
 * Read a quoted-string starting at s[i] === '"'. Returns the index after the closing quote, or -1 when it is not
 * terminated. Escapes (`\` + any char) are skipped.
 */
export function skipQuoted(s: string, i: number): number {
  const n = s.length;
  for (let j = i + 1; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  return -1;
}

/** Remove the quotes and `\` escapes of a quoted-string; other text is returned as is. */
export function unquote(text: string): string {
  if (text.length < 2 || text.charCodeAt(0) !== 0x22 || text.charCodeAt(text.length - 1) !== 0x22) return text;
  const inner = text.slice(1, -1);
  if (inner.indexOf('\\') < 0) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!;
    if (ch === '\\' && i + 1 < inner.length) out += inner[++i];
    else out += ch;
  }
  return out;
}

/** Make a quoted-string. */
export function quote(text: string): string {
  let out = '"';
  for (const ch of text) out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  return `${out}"`;
}

/** Skip SP/HTAB from i; returns the new index. */
export function skipWs(s: string, i: number): number {
  const n = s.length;
  while (i < n && isWs(s.charCodeAt(i))) i++;
  return i;
}

/** Read a run of chars of table t from i; returns the end index (== i when none). */
export function scan(t: Uint8Array, s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 128 || t[c] === 0) break;
    i++;
  }
  return i;
}

/**
 * Parse `*( SWS ";" SWS name [ SWS "=" SWS value ] )` header parameters from s[i]; value = token / host /
 * quoted-string. Stores into params (names lower-case). Returns the index where parsing stopped (the caller checks
 * it is the end or a delimiter), or -1 on a malformed parameter.
 */
export function parseHeaderParams(s: string, i: number, params: SipParams): number {
  const n = s.length;
  for (;;) {
    i = skipWs(s, i);
    if (i >= n || s.charCodeAt(i) !== 0x3b /* ; */) return i;
    i = skipWs(s, i + 1);
    const ns = i;
    let upper = false;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c >= 128 || TOKEN[c] === 0) break;
      if (c >= 0x41 && c <= 0x5a) upper = true;
      i++;
    }
    if (i === ns) return -1;
    const name = upper ? s.slice(ns, i).toLowerCase() : s.slice(ns, i);
    i = skipWs(s, i);
    if (i < n && s.charCodeAt(i) === 0x3d /* = */) {
      i = skipWs(s, i + 1);
      const vs = i;
      if (i < n && s.charCodeAt(i) === 0x22) {
        i = skipQuoted(s, i);
        if (i < 0) return -1;
      } else {
        i = scan(PARAM_VALUE, s, i);
        if (i === vs) return -1;
      }
      params[name] = s.slice(vs, i);
    } else {
      params[name] = null;
    }
  }
}

/** Largest CSeq number (RFC 3261 §8.1.1.5: less than 2**31). */
export const MAX_CSEQ = 0x7fffffff;

/** Parse a non-negative decimal integer header (Content-Length, Max-Forwards, Expires), at most 2^31-1. */
export function parseUInt(value: string): number | undefined {
  const n = value.length;
  if (n === 0 || n > 10) {
    // Allow leading zeros beyond 10 digits only if the number still fits.
    if (n === 0) return undefined;
    let i = 0;
    while (i < n - 1 && value.charCodeAt(i) === 0x30) i++;
    if (n - i > 10) return undefined;
    return parseUInt(value.slice(i));
  }
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    v = v * 10 + (c - 0x30);
  }
  return v > MAX_CSEQ ? undefined : v;
}

/** Parse `CSeq: <number> LWS <method>`. */
export function parseCSeq(value: string): CSeq | undefined {
  const n = value.length;
  let i = skipWs(value, 0);
  const ds = i;
  while (i < n && isDigit(value.charCodeAt(i))) i++;
  if (i === ds) return undefined;
  const seq = parseUInt(value.slice(ds, i));
  if (seq === undefined) return undefined;
  const ws = i;
  i = skipWs(value, i);
  if (i === ws) return undefined;
  const ms = i;
  i = scan(TOKEN, value, i);
  if (i === ms || skipWs(value, i) !== n) return undefined;
  return { seq, method: value.slice(ms, i) };
}
