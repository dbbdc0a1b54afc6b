import { isIPv6 } from 'node:net';
import {
  HOST,
  SCHEME,
  URI_HEADER,
  URI_PARAM,
  URI_PASSWORD,
  URI_USER,
  allIn,
  isDigit,
  isHex,
  newParams,
  validEscapes,
} from './grammar.js';
import type { OtherUri, SipParams, SipUri, TelUri, Uri } from './types.js';

/** Characters of a tel: number (global or local; visual separators; DTMF). */
const TEL_NUMBER = (() => {
  const t = new Uint8Array(128);
  for (const ch of '0123456789ABCDEFabcdef*#+-.()pPwW') t[ch.charCodeAt(0)] = 1;
  return t;
})();

/** Parse a port (1-5 digits, ≤ 65535) in s[from,to); undefined when invalid. */
function parsePort(s: string, from: number, to: number): number | undefined {
  if (to <= from || to - from > 5) return undefined;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return undefined;
    v = v * 10 + (c - 0x30);
  }
  return v <= 65535 ? v : undefined;
}

/** Dotted-quad IPv4 (no leading zeros beyond a single 0, each part ≤ 255). */
function isIPv4(s: string): boolean {
  let parts = 0;
  let i = 0;
  const n = s.length;
  while (i <= n) {
    const p0 = i;
    let v = 0;
    while (i < n && isDigit(s.charCodeAt(i))) {
      v = v * 10 + (s.charCodeAt(i) - 0x30);
      i++;
    }
    const len = i - p0;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && s.charCodeAt(p0) === 0x30)) return false;
    parts++;
    if (i === n) break;
    if (s.charCodeAt(i) !== 0x2e) return false;
    i++;
  }
  return parts === 4;
}

/** Validate a host: `[IPv6]`, IPv4, or a hostname. */
export function isValidHost(host: string): boolean {
  const n = host.length;
  if (n === 0) return false;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    return n > 2 && host.charCodeAt(n - 1) === 0x5d && isIPv6(host.slice(1, -1));
  }
  let digitsDots = true;
  for (let i = 0; i < n; i++) {
    const c = host.charCodeAt(i);
    if (c >= 128 || HOST[c] === 0) return false;
    if (digitsDots && !isDigit(c) && c !== 0x2e) digitsDots = false;
  }
  // Dotted digits only: must be a real IPv4 address (a hostname's top label cannot be numeric).
  if (digitsDots) return isIPv4(host);
  return host.charCodeAt(0) !== 0x2e && host.charCodeAt(0) !== 0x2d;
}

/**
 * Parse host[:port] in s[from,to). Returns undefined when invalid.
 * IPv6 must be bracketed; `[2001:db8::10:5070]` is a host without port.
 */
export function parseHostPort(s: string, from: number, to: number): { host: string; port: number | undefined } | undefined {
  let hostEnd: number;
  if (s.charCodeAt(from) === 0x5b) {
    const close = s.indexOf(']', from);
    if (close < 0 || close >= to) return undefined;
    hostEnd = close + 1;
  } else {
    hostEnd = s.indexOf(':', from);
    if (hostEnd < 0 || hostEnd > to) hostEnd = to;
  }
  const host = s.slice(from, hostEnd);
  if (!isValidHost(host)) return undefined;
  if (hostEnd === to) return { host, port: undefined };
  if (s.charCodeAt(hostEnd) !== 0x3a) return undefined;
  const port = parsePort(s, hostEnd + 1, to);
  return port === undefined ? undefined : { host, port };
}

/** Decode %HH escapes of an ASCII-safe name (used for parameter names); the text itself when none. */
function unescapeName(name: string): string {
  if (name.indexOf('%') < 0) return name;
  return unescapeUri(name) ?? name;
}

/** Parse `;name[=value]` URI parameters in s[from,to) into params. False when malformed. */
function parseUriParams(s: string, from: number, to: number, params: SipParams): boolean {
  let i = from;
  while (i < to) {
    if (s.charCodeAt(i) !== 0x3b) return false;
    i++;
    let end = s.indexOf(';', i);
    if (end < 0 || end > to) end = to;
    const eq = s.indexOf('=', i);
    const nameEnd = eq >= 0 && eq < end ? eq : end;
    if (nameEnd === i || !allIn(URI_PARAM, s, i, nameEnd) || !validEscapes(s, i, nameEnd)) return false;
    const name = unescapeName(s.slice(i, nameEnd)).toLowerCase();
    if (nameEnd < end) {
      if (end === nameEnd + 1 || !allIn(URI_PARAM, s, nameEnd + 1, end) || !validEscapes(s, nameEnd + 1, end)) return false;
      params[name] = s.slice(nameEnd + 1, end);
    } else params[name] = null;
    i = end;
  }
  return true;
}

function parseSip(text: string, scheme: 'sip' | 'sips', start: number): SipUri | undefined {
  const n = text.length;
  let user: string | undefined;
  let password: string | undefined;
  let i = start;
  const at = text.indexOf('@', i);
  if (at >= 0) {
    const colon = text.indexOf(':', i);
    const userEnd = colon >= 0 && colon < at ? colon : at;
    if (userEnd === i || !allIn(URI_USER, text, i, userEnd) || !validEscapes(text, i, userEnd)) return undefined;
    user = text.slice(i, userEnd);
    if (userEnd < at) {
      if (at > userEnd + 1 && (!allIn(URI_PASSWORD, text, userEnd + 1, at) || !validEscapes(text, userEnd + 1, at))) {
        return undefined;
      }
      password = text.slice(userEnd + 1, at);
    }
    i = at + 1;
  }
  // hostport ends at ';' or '?' (outside an IPv6 reference, which contains neither).
  let hpEnd = i;
  while (hpEnd < n) {
    const c = text.charCodeAt(hpEnd);
    if (c === 0x3b || c === 0x3f) break;
    hpEnd++;
  }
  if (hpEnd === i) return undefined;
  const hp = parseHostPort(text, i, hpEnd);
  if (hp === undefined) return undefined;
  const params = newParams();
  const q = text.indexOf('?', hpEnd);
  const paramsEnd = q < 0 ? n : q;
  if (!parseUriParams(text, hpEnd, paramsEnd, params)) return undefined;
  const headers: Array<[string, string]> = [];
  if (q >= 0) {
    let j = q + 1;
    if (j >= n) return undefined;
    while (j < n) {
      let end = text.indexOf('&', j);
      if (end < 0) end = n;
      const eq = text.indexOf('=', j);
      if (eq < 0 || eq >= end || eq === j) return undefined;
      if (!allIn(URI_HEADER, text, j, eq) || !validEscapes(text, j, eq)) return undefined;
      if (eq + 1 < end && (!allIn(URI_HEADER, text, eq + 1, end) || !validEscapes(text, eq + 1, end))) return undefined;
      headers.push([text.slice(j, eq), text.slice(eq + 1, end)]);
      j = end + 1;
      if (end < n && j >= n) return undefined;
    }
  }
  return { kind: 'sip', scheme, user, password, host: hp.host, port: hp.port, params, headers };
}

function parseTel(text: string, start: number): TelUri | undefined {
  const n = text.length;
  let semi = text.indexOf(';', start);
  if (semi < 0) semi = n;
  if (semi === start || !allIn(TEL_NUMBER, text, start, semi)) return undefined;
  const params = newParams();
  if (!parseUriParams(text, semi, n, params)) return undefined;
  return { kind: 'tel', scheme: 'tel', number: text.slice(start, semi), params };
}

/** Parse an absolute URI (sip, sips, tel, or any other scheme kept opaque). Undefined when malformed. */
export function parseUri(text: string): Uri | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const c0 = text.charCodeAt(0);
  if (!((c0 >= 0x41 && c0 <= 0x5a) || (c0 >= 0x61 && c0 <= 0x7a))) return undefined;
  if (colon > 1 && !allIn(SCHEME, text, 1, colon)) return undefined;
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSip(text, scheme, colon + 1);
  if (scheme === 'tel') return parseTel(text, colon + 1);
  const opaque = text.slice(colon + 1);
  if (opaque.length === 0) return undefined;
  for (let i = 0; i < opaque.length; i++) {
    const c = opaque.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22) return undefined;
  }
  const other: OtherUri = { kind: 'other', scheme, opaque };
  return other;
}

/** Parse a sip/sips URI only. */
export function parseSipUri(text: string): SipUri | undefined {
  const u = parseUri(text);
  return u?.kind === 'sip' ? u : undefined;
}

/** Format `;name=value` parameters. */
export function formatParams(params: SipParams): string {
  let out = '';
  for (const k in params) {
    const v = params[k];
    out += v === null || v === undefined ? `;${k}` : `;${k}=${v}`;
  }
  return out;
}

/** Serialize a URI back to text (parameters in stored order). */
export function formatUri(uri: Uri): string {
  switch (uri.kind) {
    case 'sip': {
      let out = `${uri.scheme}:`;
      if (uri.user !== undefined) {
        out += uri.user;
        if (uri.password !== undefined) out += `:${uri.password}`;
        out += '@';
      }
      out += uri.host;
      if (uri.port !== undefined) out += `:${uri.port}`;
      out += formatParams(uri.params);
      if (uri.headers.length > 0) out += `?${uri.headers.map(([k, v]) => `${k}=${v}`).join('&')}`;
      return out;
    }
    case 'tel':
      return `tel:${uri.number}${formatParams(uri.params)}`;
    default:
      return `${uri.scheme}:${uri.opaque}`;
  }
}

/**
 * Decode `%HH` escapes; the resulting bytes are read as UTF-8 when valid, else as Latin-1. Undefined on a bad
 * escape.
 */
export function unescapeUri(text: string): string | undefined {
  if (text.indexOf('%') < 0) return text;
  const n = text.length;
  const bytes: number[] = [];
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= n) return undefined;
      const h1 = text.charCodeAt(i + 1);
      const h2 = text.charCodeAt(i + 2);
      if (!isHex(h1) || !isHex(h2)) return undefined;
      const b = parseInt(text.slice(i + 1, i + 3), 16);
      if (b >= 0x80) ascii = false;
      bytes.push(b);
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else {
      ascii = false;
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
    }
  }
  const buf = Buffer.from(bytes);
  if (ascii) return buf.toString('latin1');
  const utf = buf.toString('utf8');
  return utf.includes('\ufffd') ? buf.toString('latin1') : utf;
}

/** Host and port of a URI as `host[:port]`. */
export function uriHostPort(uri: SipUri): string {
  return uri.port === undefined ? uri.host : `${uri.host}:${uri.port}`;
}

