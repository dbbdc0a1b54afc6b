import { TOKEN, isWs, newParams, parseHeaderParams, scan, skipWs } from './grammar.js';
import { formatParams, parseHostPort } from './uri.js';
import type { Via } from './types.js';

/** Characters of a sent-by host: hostname/IPv4 chars, and IPv6 reference brackets/colons handled separately. */
function hostEnd(s: string, i: number): number {
  const n = s.length;
  if (i < n && s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    return close < 0 ? -1 : close + 1;
  }
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x3a || c === 0x3b || c === 0x2c || isWs(c)) break;
    i++;
  }
  return i;
}

/** Parse one via-parm starting at i; returns [via, nextIndex] or undefined. */
function parseOne(s: string, i: number): [Via, number] | undefined {
  const n = s.length;
  i = skipWs(s, i);
  const p0 = i;
  i = scan(TOKEN, s, i);
  if (i === p0) return undefined;
  const protocolName = s.slice(p0, i);
  i = skipWs(s, i);
  if (s.charCodeAt(i) !== 0x2f) return undefined;
  i = skipWs(s, i + 1);
  const v0 = i;
  i = scan(TOKEN, s, i);
  if (i === v0) return undefined;
  const protocolVersion = s.slice(v0, i);
  i = skipWs(s, i);
  if (s.charCodeAt(i) !== 0x2f) return undefined;
  i = skipWs(s, i + 1);
  const t0 = i;
  i = scan(TOKEN, s, i);
  if (i === t0) return undefined;
  let transport = s.slice(t0, i);
  for (let k = t0; k < i; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0x61 && c <= 0x7a) {
      transport = transport.toUpperCase();
      break;
    }
  }
  const ws = i;
  i = skipWs(s, i);
  if (i === ws) return undefined;
  // sent-by = host [ COLON port ], LWS allowed around the colon.
  const h0 = i;
  const h1 = hostEnd(s, i);
  if (h1 <= h0) return undefined;
  i = skipWs(s, h1);
  let hp: ReturnType<typeof parseHostPort>;
  if (i < n && s.charCodeAt(i) === 0x3a) {
    const gap = i > h1;
    i = skipWs(s, i + 1);
    const d0 = i;
    while (i < n && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    if (i === d0) return undefined;
    // Usual case `host:port` is parsed in place; LWS around the colon needs a copy without it.
    if (!gap && d0 === h1 + 1) hp = parseHostPort(s, h0, i);
    else {
      const hpText = `${s.slice(h0, h1)}:${s.slice(d0, i)}`;
      hp = parseHostPort(hpText, 0, hpText.length);
    }
  } else hp = parseHostPort(s, h0, h1);
  // A port must be usable as a destination (RFC 3261 §18.2.2): 1–65535 (above 65535 is refused by parseHostPort).
  if (hp === undefined || hp.port === 0) return undefined;
  const params = newParams();
  i = parseHeaderParams(s, i, params);
  if (i < 0) return undefined;
  const branch = params.branch;
  const received = params.received;
  const rp = params.rport;
  let rport: number | null | undefined;
  if (rp === null) rport = null;
  else if (rp !== undefined) {
    if (rp.length === 0 || rp.length > 5 || !/^[0-9]+$/.test(rp)) return undefined;
    rport = Number(rp);
    if (rport < 1 || rport > 65535) return undefined;
  }
  if (branch === null || received === null) return undefined;
  const via: Via = {
    protocolName,
    protocolVersion,
    transport,
    host: hp.host,
    port: hp.port,
    params,
    branch,
    received: received === undefined ? undefined : received,
    rport,
  };
  return [via, i];
}

/** Parse one Via field value, which may hold several comma-separated vias. Undefined when malformed. */
export function parseVia(value: string): Via[] | undefined {
  const out: Via[] = [];
  const n = value.length;
  let i = 0;
  for (;;) {
    const r = parseOne(value, i);
    if (r === undefined) return undefined;
    out.push(r[0]);
    i = skipWs(value, r[1]);
    if (i >= n) return out;
    if (value.charCodeAt(i) !== 0x2c) return undefined;
    i++;
  }
}

/** Serialize one via (`SIP/2.0/UDP host:port;params`). Parameters come from `params` (branch/received/rport too). */
export function formatVia(via: Via): string {
  const hp = via.port === undefined ? via.host : `${via.host}:${via.port}`;
  return `${via.protocolName}/${via.protocolVersion}/${via.transport} ${hp}${formatParams(via.params)}`;
}
