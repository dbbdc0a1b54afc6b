/**
 * The cheap path of load shedding: while new INVITEs are being refused (the admission controller limits, or a backstop
 * sheds), a UDP datagram that may be a new INVITE is looked at as raw header lines — no parse, no message objects —
 * and, when refused, answered with a 503 built from those lines. Under 2× overload half of the INVITEs are refused;
 * parsing each of them in full cost the engine the time it needed to read the responses and ACKs of the calls it had
 * admitted, its UDP receive buffer overflowed, the kernel dropped the callee's 180/200 with the flood, and admitted
 * calls ended with 408 on the B leg.
 *
 * The scan only recognises the plain case; anything else (`undefined`) takes the full path (parser, wire verdicts,
 * `UasSide`), which decides the same way. The plain case: request line `INVITE <uri> SIP/2.0`; no header folding;
 * exactly one From, To, Call-ID and CSeq (`<n> INVITE`); no `tag` in To (not in a dialog); a top Via `SIP/2.0/UDP`
 * whose sent-by host is the source's IPv4 address (nothing to stamp but an empty `rport`), with a `z9hG4bK` branch
 * (RFC 3261 matching), no `received`, nothing quoted; a Request-URI user made of plain characters (so it reads the same
 * as the parser reads it) and, with any Resource-Priority, the same never-shed rule as the full path.
 */
import { isNeverShed } from './overload.js';
import { branchKey } from './transaction/table.js';

/** What the shedding decision needs of a raw new INVITE. */
export interface RawInvite {
  /** The server-transaction key, the one `serverKey` computes from the parsed request. */
  readonly key: string;
  /** Where responses go (RFC 3261 §18.2.2, RFC 3581): the top Via's port, or the source port with `rport`. */
  readonly port: number;
  /** The 503 with `Retry-After` and the given To-tag (every Via in order, `rport` filled in; From, Call-ID, CSeq). */
  response(toTag: string, retryAfterS: number): Buffer;
}

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SP = 0x20;
const HTAB = 0x09;
const INVITE_SP = Buffer.from('INVITE ');
const SIP20 = ' SIP/2.0';
const H_OTHER = 0;
const H_VIA = 1;
const H_FROM = 2;
const H_TO = 3;
const H_CALL_ID = 4;
const H_CSEQ = 5;
const H_PRIORITY = 6;

/** Whether `data[at, at + name.length)` is `name` (lower case ASCII) in any case. */
function nameIs(data: Buffer, at: number, name: string): boolean {
  for (let k = 0; k < name.length; k++) if (((data[at + k] as number) | 0x20) !== name.charCodeAt(k)) return false;
  return true;
}

/** Which of the headers the scan reads `data[start, end)` names, compact forms (RFC 3261 §7.3.3) included. */
function headerOf(data: Buffer, start: number, end: number): number {
  switch (end - start) {
    case 1: {
      const c = (data[start] as number) | 0x20;
      return c === 0x76 ? H_VIA : c === 0x66 ? H_FROM : c === 0x74 ? H_TO : c === 0x69 ? H_CALL_ID : H_OTHER;
    }
    case 2:
      return nameIs(data, start, 'to') ? H_TO : H_OTHER;
    case 3:
      return nameIs(data, start, 'via') ? H_VIA : H_OTHER;
    case 4:
      return nameIs(data, start, 'from') ? H_FROM : nameIs(data, start, 'cseq') ? H_CSEQ : H_OTHER;
    case 7:
      return nameIs(data, start, 'call-id') ? H_CALL_ID : H_OTHER;
    case 17:
      return nameIs(data, start, 'resource-priority') ? H_PRIORITY : H_OTHER;
    default:
      return H_OTHER;
  }
}
const TOP_VIA = /^SIP[ \t]*\/[ \t]*2\.0[ \t]*\/[ \t]*UDP[ \t]+(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?::(\d{1,5}))?[ \t]*((?:;[^;]*)*)$/i;
const CSEQ_INVITE = /^\d{1,10}[ \t]+INVITE$/;
/** A user part (or tel number) the parser reads as written: no escapes, no parameters, no visual separators. */
const PLAIN_USER = /^[0-9A-Za-z*#+_~!$&'()=,-]+$/;

/** The Request-URI's user (sip:/sips:) or number (tel:); '' when it has none; undefined when it is not plain. */
function uriUser(uri: string): string | undefined {
  const colon = uri.indexOf(':');
  if (colon < 0) return undefined;
  const scheme = uri.slice(0, colon).toLowerCase();
  if (scheme === 'tel') {
    const semi = uri.indexOf(';', colon);
    const n = uri.slice(colon + 1, semi < 0 ? uri.length : semi);
    return PLAIN_USER.test(n) && !n.includes('-') ? n : undefined;
  }
  if (scheme !== 'sip' && scheme !== 'sips') return undefined;
  const at = uri.indexOf('@', colon);
  if (at < 0) return uri.includes('%') ? undefined : '';
  const userinfo = uri.slice(colon + 1, at);
  const pw = userinfo.indexOf(':');
  const user = pw < 0 ? userinfo : userinfo.slice(0, pw);
  return PLAIN_USER.test(user) ? user : undefined;
}

/** Leading and trailing spaces and tabs of `data[from, to)` skipped, as latin1 (header values are ASCII on this path). */
function text(data: Buffer, from: number, to: number): string {
  while (from < to && (data[from] === SP || data[from] === HTAB)) from++;
  while (to > from && (data[to - 1] === SP || data[to - 1] === HTAB)) to--;
  return data.toString('latin1', from, to);
}

/**
 * Scans a UDP datagram from `peerAddr:peerPort` for a plain new INVITE (see above); `undefined` when it is anything
 * else, including malformed input (never throws). `neverShedUsers` as `isNeverShed` takes them. Whether its key
 * belongs to a live transaction (a retransmission) is the caller's question.
 */
export function scanNewInvite(data: Buffer, peerAddr: string, peerPort: number, neverShedUsers: ReadonlySet<string>): RawInvite | undefined {
  const n = data.length;
  if (n < 32 || data.compare(INVITE_SP, 0, 7, 0, 7) !== 0) return undefined;
  // One pass over the header bytes in JavaScript (no native call per line): line ends, the colon, bare CR/LF, folding;
  // only the five headers read are decoded.
  let i = 7;
  while (i < n && data[i] !== CR) {
    if (data[i] === LF) return undefined;
    i++;
  }
  if (i + 1 >= n || data[i + 1] !== LF) return undefined;
  const first = data.toString('latin1', 7, i);
  if (!first.endsWith(SIP20)) return undefined;
  const uri = first.slice(0, first.length - SIP20.length);
  if (uri.length === 0 || uri.includes(' ')) return undefined;
  const user = uriUser(uri);
  if (user === undefined) return undefined;

  const vias: string[] = [];
  let from: string | undefined;
  let to: string | undefined;
  let callId: string | undefined;
  let cseq: string | undefined;
  let priority: string | undefined;
  i += 2;
  for (;;) {
    if (i + 1 >= n) return undefined; // no end of the headers
    const c0 = data[i];
    if (c0 === CR) {
      if (data[i + 1] !== LF) return undefined;
      break; // the empty line
    }
    if (c0 === SP || c0 === HTAB) return undefined; // folded header
    const start = i;
    let colon = -1;
    while (i < n) {
      const c = data[i];
      if (c === CR) break;
      if (c === LF) return undefined; // a bare LF: the parser's business
      if (c === COLON && colon < 0) colon = i;
      i++;
    }
    if (i + 1 >= n || data[i + 1] !== LF || colon <= start) return undefined;
    let nameEnd = colon;
    while (nameEnd > start && (data[nameEnd - 1] === SP || data[nameEnd - 1] === HTAB)) nameEnd--;
    switch (headerOf(data, start, nameEnd)) {
      case H_VIA:
        vias.push(text(data, colon + 1, i));
        break;
      case H_FROM:
        if (from !== undefined) return undefined;
        from = text(data, colon + 1, i);
        break;
      case H_TO:
        if (to !== undefined) return undefined;
        to = text(data, colon + 1, i);
        break;
      case H_CALL_ID:
        if (callId !== undefined) return undefined;
        callId = text(data, colon + 1, i);
        break;
      case H_CSEQ:
        if (cseq !== undefined) return undefined;
        cseq = text(data, colon + 1, i);
        break;
      case H_PRIORITY:
        priority = priority === undefined ? text(data, colon + 1, i) : `${priority}, ${text(data, colon + 1, i)}`;
        break;
      default:
    }
    i += 2;
  }
  if (vias.length === 0 || from === undefined || to === undefined || callId === undefined || cseq === undefined) return undefined;
  if (from === '' || to === '' || callId === '' || !CSEQ_INVITE.test(cseq)) return undefined;
  // any tag in To (a dialog, or a URI parameter to read properly): the full path
  if (/tag/i.test(to)) return undefined;
  if (isNeverShed(user, priority, neverShedUsers)) return undefined;

  // the top Via: its first value (up to a comma); quoted parameters are the parser's business
  const line0 = vias[0] as string;
  const comma = line0.indexOf(',');
  const top = comma < 0 ? line0 : line0.slice(0, comma).trimEnd();
  if (top.includes('"')) return undefined;
  const m = TOP_VIA.exec(top);
  if (!m) return undefined;
  const host = m[1] as string;
  if (host !== peerAddr) return undefined;
  const viaPort = m[2] !== undefined ? Number(m[2]) : 5060;
  if (viaPort < 1 || viaPort > 65535) return undefined;
  let branch: string | undefined;
  let rport: 'none' | 'empty' | 'set' = 'none';
  for (const p of (m[3] as string).split(';')) {
    if (p === '') continue;
    const eq = p.indexOf('=');
    const k = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    const v = eq < 0 ? undefined : p.slice(eq + 1).trim();
    if (k === 'branch') {
      if (branch !== undefined || v === undefined || v === '') return undefined;
      branch = v;
    } else if (k === 'received' || k === '') return undefined;
    else if (k === 'rport') {
      if (rport !== 'none') return undefined;
      if (v === undefined) rport = 'empty';
      else if (/^\d{1,5}$/.test(v)) rport = 'set';
      else return undefined;
    }
  }
  if (branch === undefined || !branch.startsWith('z9hG4bK')) return undefined;
  // RFC 3581: with rport the response goes back to the source port, and an empty rport is filled in
  const port = rport === 'none' ? viaPort : peerPort;
  if (rport === 'empty') vias[0] = top.replace(/;[ \t]*rport[ \t]*(?=;|$)/i, `;rport=${peerPort}`) + (comma < 0 ? '' : line0.slice(comma));
  const fromV = from;
  const toV = to;
  const callIdV = callId;
  const cseqV = cseq;
  return {
    key: branchKey(branch, host, 'INVITE'),
    port,
    response(toTag: string, retryAfterS: number): Buffer {
      let s = 'SIP/2.0 503 Service Unavailable\r\n';
      for (const v of vias) s += `Via: ${v}\r\n`;
      s += `From: ${fromV}\r\nTo: ${toV};tag=${toTag}\r\nCall-ID: ${callIdV}\r\nCSeq: ${cseqV}\r\nRetry-After: ${retryAfterS}\r\nContent-Length: 0\r\n\r\n`;
      return Buffer.from(s, 'latin1');
    },
  };
}
