import { TOKEN, isWs, newParams, parseHeaderParams, quote, skipQuoted, skipWs, unquote } from './grammar.js';
import { splitHeaderValues } from './headers.js';
import { formatParams, parseUri } from './uri.js';
import type { NameAddr } from './types.js';

/** Token characters, plus (leniently) any non-ASCII character, for an unquoted display name. */
function scanDisplayToken(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 128 ? TOKEN[c] === 0 : c === 0xfffd) break;
    i++;
  }
  return i;
}

/** Parse one name-addr / addr-spec with its parameters (From, To, one Contact, one Route ...). */
export function parseNameAddr(text: string): NameAddr | undefined {
  const s = text;
  const n = s.length;
  let i = skipWs(s, 0);
  if (i >= n) return undefined;
  let displayName: string | undefined;
  let uriText: string;
  let bracketed = false;
  const c0 = s.charCodeAt(i);
  if (c0 === 0x22 /* " */ || c0 === 0x3c /* < */) {
    if (c0 === 0x22) {
      const end = skipQuoted(s, i);
      if (end < 0) return undefined;
      displayName = unquote(s.slice(i, end));
      i = skipWs(s, end);
      if (s.charCodeAt(i) !== 0x3c) return undefined;
    }
  } else {
    // Either `token *(LWS token) <uri>` or an addr-spec.
    const d0 = i;
    let j = i;
    let dEnd = i;
    for (;;) {
      const t0 = j;
      j = scanDisplayToken(s, j);
      if (j === t0) break;
      dEnd = j;
      j = skipWs(s, j);
    }
    if (j < n && s.charCodeAt(j) === 0x3c && dEnd > d0) {
      displayName = s.slice(d0, dEnd);
      i = j;
    } else if (j < n && s.charCodeAt(j) === 0x3c) {
      i = j;
    }
  }
  if (i < n && s.charCodeAt(i) === 0x3c) {
    const close = s.indexOf('>', i + 1);
    if (close < 0) return undefined;
    uriText = s.slice(i + 1, close);
    bracketed = true;
    i = close + 1;
  } else {
    // addr-spec: no ',', '?' or ';' inside (RFC 3261 §20: such URIs must use angle brackets); params follow ';'.
    const a0 = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x3b || isWs(c)) break;
      if (c === 0x2c || c === 0x3f || c === 0x3c || c === 0x3e || c === 0x22) return undefined;
      i++;
    }
    uriText = s.slice(a0, i);
  }
  const uri = parseUri(uriText);
  if (uri === undefined) return undefined;
  const params = newParams();
  i = parseHeaderParams(s, i, params);
  if (i < 0 || i !== n) return undefined;
  const tag = params.tag;
  if (tag === null) return undefined;
  return { displayName, uriText, uri, bracketed, params, tag };
}

/** Parse a list of name-addrs from one or more field values (each comma-split). Undefined if any is malformed. */
export function parseNameAddrList(values: readonly string[]): NameAddr[] | undefined {
  const out: NameAddr[] = [];
  for (const v of values) {
    const parts = v.indexOf(',') < 0 ? [v] : splitHeaderValues(v);
    for (const p of parts) {
      const na = parseNameAddr(p);
      if (na === undefined) return undefined;
      out.push(na);
    }
  }
  return out;
}

function displayText(name: string): string {
  // A run of tokens separated by single spaces can be written bare; anything else is quoted.
  if (name.length > 0) {
    let ok = true;
    let prevSpace = true;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c === 0x20) {
        if (prevSpace) {
          ok = false;
          break;
        }
        prevSpace = true;
      } else if (c < 128 && TOKEN[c] === 1) prevSpace = false;
      else {
        ok = false;
        break;
      }
    }
    if (ok && !prevSpace) return name;
  }
  return quote(name);
}

/** Serialize a name-addr: `"Display" <uri>;params` (angle brackets always, which is valid for every URI). */
export function formatNameAddr(na: NameAddr): string {
  const dn = na.displayName === undefined ? '' : `${displayText(na.displayName)} `;
  return `${dn}<${na.uriText}>${formatParams(na.params)}`;
}

/**
 * A From/To/Contact value in name-addr form (`<uri>;params`): an addr-spec is rewritten with angle brackets; a
 * name-addr, or text that is neither, is returned as it is. Without a parse when the text already opens with a
 * quoted display name (which must be followed by `<`) or has a `<` with neither `"` nor `;` before it (an addr-spec's
 * parameters could hold one only inside a quoted string): parsing could then only confirm it or fail.
 */
export function bracketed(v: string): string {
  const c = v.charCodeAt(v.length - v.trimStart().length);
  if (c === 0x22 /* " */) return v;
  const lt = v.indexOf('<');
  if (lt >= 0) {
    let plain = true;
    for (let k = 0; k < lt && plain; k++) {
      const ch = v.charCodeAt(k);
      plain = ch !== 0x22 && ch !== 0x3b;
    }
    if (plain) return v;
  }
  const na = parseNameAddr(v);
  if (!na || na.bracketed) return v;
  return formatNameAddr({ ...na, bracketed: true });
}
