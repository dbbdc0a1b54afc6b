import { isAscii } from 'node:buffer';
import { TOKEN, allIn, isWs, parseCSeq, parseUInt } from './grammar.js';
import { SipHeaders, headerKey } from './headers.js';
import { SipRequest, SipResponse, type SipMessage } from './message.js';
import { parseNameAddr } from './nameaddr.js';
import { parseUri } from './uri.js';
import { parseVia } from './via.js';
import { DEFAULT_LIMITS, type CSeq, type HeaderField, type NameAddr, type ParserLimits, type Uri, type Via } from './types.js';

/** What could be read from a message that failed to parse: enough to answer a bad request. */
export interface PartialMessage {
  isResponse: boolean;
  /** Request method, when the start line could be read. */
  method: string | undefined;
  /** Request-URI text, when the start line could be read. */
  uri: string | undefined;
  /** Response status, when the start line could be read. */
  status: number | undefined;
  /** The header fields that could be read, in order (at least Via, From, To, Call-ID, CSeq when they were legible). */
  headers: SipHeaders;
}

export type ParseResult =
  | { ok: true; msg: SipMessage }
  | {
      ok: false;
      /** Status to answer a request with (400, 505, 513 ...). Never answer a response: drop it. */
      status: number;
      /** Human-readable reason, also suitable as the response's reason phrase / Warning text. */
      reason: string;
      /** True when the start line looks like a response (`SIP/...`): drop it silently. */
      isResponse: boolean;
      partial: PartialMessage;
    };

export interface ParseOptions {
  limits?: Partial<ParserLimits>;
  /**
   * Stream mode: Content-Length is mandatory and the buffer must hold exactly one message (the framer guarantees it).
   * Datagram mode (default): a missing Content-Length means the body runs to the end of the datagram; octets past
   * Content-Length are ignored.
   */
  stream?: boolean;
  /**
   * For messages written by an app (drachtio `sip` frames): the mandatory-header checks are skipped (the engine
   * adds Via, tags, Call-ID, CSeq ...), and the body is everything after the empty line (Content-Length is ignored;
   * `serialize` writes the right one). The start line and the header lines must still be well formed.
   */
  lenient?: boolean;
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);

/** Canonical key of a header name (lower-casing a short string is cheaper than a cache lookup). */
function keyOf(name: string): string {
  return headerKey(name);
}

type Fail = Extract<ParseResult, { ok: false }>;

function fail(
  status: number,
  reason: string,
  isResponse: boolean,
  method: string | undefined,
  uri: string | undefined,
  code: number | undefined,
  fields: HeaderField[],
): Fail {
  return {
    ok: false,
    status,
    reason,
    isResponse,
    partial: { isResponse, method, uri, status: code, headers: SipHeaders.fromFields(fields) },
  };
}

/** `SIP/<major>.<minor>`: 0 when it is SIP/2.0, 1 when well-formed but another version, -1 when malformed. */
function checkVersion(v: string): number {
  if (v === 'SIP/2.0') return 0;
  const m = /^sip\/([0-9]{1,4})\.([0-9]{1,4})$/i.exec(v);
  if (m === null) return -1;
  return Number(m[1]) === 2 && Number(m[2]) === 0 ? 0 : 1;
}

/** True when a datagram holds only CR/LF/SP/HTAB: a keep-alive (RFC 5626 §3.5.1 / §4.4.1), not a message. */
export function isKeepAlive(buf: Buffer): boolean {
  if (buf.length === 0) return false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c !== 0x0d && c !== 0x0a && c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

/**
 * The limits with the defaults filled in, worked out once per limits object: callers pass the same one with every
 * message (the engine's configured limits, the app frames' size limit), and a spread per message was a slow clone.
 */
const merged = new WeakMap<Partial<ParserLimits>, ParserLimits>();
function fullLimits(l: Partial<ParserLimits>): ParserLimits {
  let m = merged.get(l);
  if (m === undefined) {
    m = { ...DEFAULT_LIMITS, ...l };
    merged.set(l, m);
  }
  return m;
}

/** Parse one SIP message from a datagram (or a frame cut by `StreamFramer`). Never throws. */
export function parseMessage(buf: Buffer, opts?: ParseOptions): ParseResult {
  const limits: ParserLimits = opts?.limits === undefined ? DEFAULT_LIMITS : fullLimits(opts.limits);
  try {
    return parseInner(buf, limits, opts?.stream === true, opts?.lenient === true);
  } catch {
    // Defensive: the parser is written not to throw; this keeps the promise if it ever does.
    return fail(400, 'Malformed message', false, undefined, undefined, undefined, []);
  }
}

function parseInner(buf: Buffer, limits: ParserLimits, stream: boolean, lenient: boolean): ParseResult {
  const total = buf.length;
  // RFC 3261 §7.5: CRLFs before the start line are ignored.
  let start = 0;
  while (start < total && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (start >= total) return fail(400, 'Empty message', false, undefined, undefined, undefined, []);

  let headEnd = buf.indexOf(CRLFCRLF, start);
  let bodyStart: number;
  let noBlankLine = false;
  if (headEnd < 0) {
    // No empty line: the whole datagram is headers (tolerated for datagrams, a trailing CRLF is dropped).
    noBlankLine = true;
    headEnd = total;
    while (headEnd > start && (buf[headEnd - 1] === 0x0d || buf[headEnd - 1] === 0x0a)) headEnd--;
    bodyStart = total;
  } else bodyStart = headEnd + 4;

  // Latin-1 decoding is cheaper and identical for ASCII, the usual case; UTF-8 otherwise.
  const head = isAscii(buf.subarray(start, headEnd)) ? buf.toString('latin1', start, headEnd) : buf.toString('utf8', start, headEnd);
  const hn = head.length;
  let eol = head.indexOf('\r\n');
  if (eol < 0) eol = hn;
  const firstLine = head.slice(0, eol);

  // ---- start line
  let isResponse = false;
  let method: string | undefined;
  let uri: string | undefined;
  let status: number | undefined;
  let reason = '';
  let version = 'SIP/2.0';
  let err: { status: number; reason: string } | undefined;
  let ruri: Uri | undefined;
  const c0 = firstLine.charCodeAt(0);
  if ((c0 === 0x53 || c0 === 0x73) && /^sip\//i.test(firstLine)) {
    isResponse = true;
    const sp1 = firstLine.indexOf(' ');
    version = sp1 < 0 ? firstLine : firstLine.slice(0, sp1);
    const vc = checkVersion(version);
    if (vc !== 0) err = { status: vc < 0 ? 400 : 505, reason: vc < 0 ? 'Malformed SIP version' : 'Version Not Supported' };
    else {
      const code = firstLine.slice(sp1 + 1, sp1 + 4);
      const after = firstLine.charCodeAt(sp1 + 4);
      if (
        sp1 < 0 ||
        code.length !== 3 ||
        !/^[1-6][0-9][0-9]$/.test(code) ||
        !(Number.isNaN(after) || after === 0x20)
      ) {
        err = { status: 400, reason: 'Malformed status line' };
      } else {
        status = Number(code);
        reason = firstLine.slice(sp1 + 5);
      }
    }
  } else {
    const sp1 = firstLine.indexOf(' ');
    const sp2 = sp1 < 0 ? -1 : firstLine.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 < 0 || firstLine.indexOf(' ', sp2 + 1) >= 0 || sp2 === sp1 + 1 || sp2 === firstLine.length - 1) {
      err = { status: 400, reason: 'Malformed request line' };
    } else {
      const m = firstLine.slice(0, sp1);
      const u = firstLine.slice(sp1 + 1, sp2);
      method = m;
      uri = u;
      version = firstLine.slice(sp2 + 1);
      const vc = checkVersion(version);
      if (!allIn(TOKEN, m)) err = { status: 400, reason: 'Malformed method' };
      else if (vc < 0) err = { status: 400, reason: 'Malformed SIP version' };
      else if (vc > 0) err = { status: 505, reason: 'Version Not Supported' };
      else if (firstLine.indexOf('\t') >= 0 || (ruri = parseUri(u)) === undefined) {
        err = { status: 400, reason: 'Malformed Request-URI' };
      }
    }
  }
  if (err === undefined && firstLine.length > limits.maxLineLength) err = { status: 400, reason: 'Start line too long' };

  // ---- header fields (with folding)
  const fields: HeaderField[] = [];
  let pos = eol + 2;
  let viaIdx = -1;
  let nFrom = 0;
  let nTo = 0;
  let nCallId = 0;
  let nCSeq = 0;
  let nCl = 0;
  let nMf = 0;
  let fromV = '';
  let toV = '';
  let callIdV = '';
  let cseqV = '';
  let clV = '';
  let mfV = '';
  while (pos < hn) {
    let e = head.indexOf('\r\n', pos);
    if (e < 0) e = hn;
    if (isWs(head.charCodeAt(pos))) {
      // A continuation line with no header before it (e.g. right after the start line).
      err ??= { status: 400, reason: 'Unexpected continuation line' };
      break;
    }
    // Work on `head` directly; only a folded field is assembled into its own string.
    let s = head;
    let ls = pos;
    let le = e;
    let next = e + 2;
    if (next < hn && isWs(head.charCodeAt(next))) {
      let line = head.slice(pos, e);
      while (next < hn && isWs(head.charCodeAt(next))) {
        let e2 = head.indexOf('\r\n', next);
        if (e2 < 0) e2 = hn;
        line += ` ${head.slice(next, e2).trim()}`;
        next = e2 + 2;
        if (line.length > limits.maxLineLength) break;
      }
      s = line;
      ls = 0;
      le = line.length;
    }
    pos = next;
    if (le - ls > limits.maxLineLength) {
      err ??= { status: 400, reason: 'Header line too long' };
      break;
    }
    const lf = s.indexOf('\n', ls);
    const cr = s.indexOf('\r', ls);
    if ((lf >= 0 && lf < le) || (cr >= 0 && cr < le)) {
      err ??= { status: 400, reason: 'Bare CR or LF in header' };
      break;
    }
    const colon = s.indexOf(':', ls);
    let nameEnd = colon;
    while (nameEnd > ls && isWs(s.charCodeAt(nameEnd - 1))) nameEnd--;
    if (colon < 0 || colon >= le || nameEnd <= ls || !allIn(TOKEN, s, ls, nameEnd)) {
      err ??= { status: 400, reason: 'Malformed header line' };
      break;
    }
    if (fields.length >= limits.maxHeaders) {
      err ??= { status: 400, reason: 'Too many header fields' };
      break;
    }
    const name = s.slice(ls, nameEnd);
    const key = keyOf(name);
    let v0 = colon + 1;
    let v1 = le;
    while (v0 < v1 && isWs(s.charCodeAt(v0))) v0++;
    while (v1 > v0 && isWs(s.charCodeAt(v1 - 1))) v1--;
    const value = s.slice(v0, v1);
    switch (key) {
      case 'via':
        if (viaIdx < 0) viaIdx = fields.length;
        break;
      case 'from':
        nFrom++;
        fromV = value;
        break;
      case 'to':
        nTo++;
        toV = value;
        break;
      case 'call-id':
        nCallId++;
        callIdV = value;
        break;
      case 'cseq':
        nCSeq++;
        cseqV = value;
        break;
      case 'content-length':
        nCl++;
        clV = value;
        break;
      case 'max-forwards':
        nMf++;
        mfV = value;
        break;
    }
    fields.push({ name, key, value });
  }
  if (err !== undefined) return fail(err.status, err.reason, isResponse, method, uri, status, fields);
  const F = (st: number, r: string): Fail => fail(st, r, isResponse, method, uri, status, fields);

  if (total - start > limits.maxMessageSize) {
    // Only the message's own extent counts: find it first when a Content-Length tells it.
    const cl = nCl === 1 ? parseUInt(clV) : undefined;
    if (cl === undefined || bodyStart - start + cl > limits.maxMessageSize) return F(513, 'Message Too Large');
  }

  if (lenient) {
    if (total - start > limits.maxMessageSize) return F(513, 'Message Too Large');
    const headers = SipHeaders.fromFields(fields);
    const body = total > bodyStart ? buf.subarray(bodyStart, total) : EMPTY;
    const m: SipMessage = isResponse
      ? new SipResponse(status!, reason, headers, body, version)
      : new SipRequest(method!, uri!, headers, body, version);
    m.raw = start === 0 ? buf : buf.subarray(start);
    return { ok: true, msg: m };
  }

  // ---- mandatory headers (RFC 3261 §8.1.1)
  if (viaIdx < 0) return F(400, 'Missing Via');
  const vias: Via[] = [];
  for (let k = viaIdx; k < fields.length; k++) {
    const f = fields[k]!;
    if (f.key !== 'via') continue;
    const v = parseVia(f.value);
    if (v === undefined) return F(400, 'Malformed Via');
    for (const x of v) vias.push(x);
  }
  if (nFrom !== 1) return F(400, nFrom === 0 ? 'Missing From' : 'Multiple From');
  if (nTo !== 1) return F(400, nTo === 0 ? 'Missing To' : 'Multiple To');
  if (nCallId !== 1) return F(400, nCallId === 0 ? 'Missing Call-ID' : 'Multiple Call-ID');
  if (nCSeq !== 1) return F(400, nCSeq === 0 ? 'Missing CSeq' : 'Multiple CSeq');
  if (nCl > 1) return F(400, 'Multiple Content-Length');
  if (nMf > 1) return F(400, 'Multiple Max-Forwards');
  const from: NameAddr | undefined = parseNameAddr(fromV);
  if (from === undefined) return F(400, 'Malformed From');
  const to: NameAddr | undefined = parseNameAddr(toV);
  if (to === undefined) return F(400, 'Malformed To');
  if (callIdV.length === 0) return F(400, 'Malformed Call-ID');
  for (let k = 0; k < callIdV.length; k++) {
    const c = callIdV.charCodeAt(k);
    if (c <= 0x20 || c === 0x7f) return F(400, 'Malformed Call-ID');
  }
  const cseq: CSeq | undefined = parseCSeq(cseqV);
  if (cseq === undefined) return F(400, 'Malformed CSeq');
  if (!isResponse && cseq.method !== method) return F(400, 'CSeq method does not match the request method');
  if (nMf === 1) {
    const mf = parseUInt(mfV);
    if (mf === undefined || mf > 255) return F(400, 'Malformed Max-Forwards');
  }

  // ---- body, framed by Content-Length (RFC 3261 §18.3)
  let end: number;
  if (nCl === 1) {
    const cl = parseUInt(clV);
    if (cl === undefined) return F(400, 'Malformed Content-Length');
    if (noBlankLine && cl > 0) return F(400, 'Content-Length larger than the message');
    if (bodyStart + cl > total) return F(400, 'Content-Length larger than the message');
    end = bodyStart + cl;
  } else {
    if (stream) return F(400, 'Missing Content-Length');
    end = total;
  }
  if (end - start > limits.maxMessageSize) return F(513, 'Message Too Large');

  const headers = SipHeaders.fromFields(fields);
  const body = end > bodyStart ? buf.subarray(bodyStart, end) : EMPTY;
  let msg: SipMessage;
  if (isResponse) msg = new SipResponse(status!, reason, headers, body, version);
  else {
    const rq = new SipRequest(method!, uri!, headers, body, version);
    rq._primeUri(ruri);
    msg = rq;
  }
  msg.raw = start === 0 && end === total ? buf : buf.subarray(start, end);
  msg._prime(vias, from, to, cseq);
  return { ok: true, msg };
}
