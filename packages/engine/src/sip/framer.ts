import { parseUInt } from './grammar.js';
import { SipHeaders } from './headers.js';
import { parseMessage, type ParseResult } from './parser.js';
import { DEFAULT_LIMITS, type ParserLimits } from './types.js';

/** One thing cut from a stream. */
export type FramedItem =
  /** A whole message (`data` is exactly its bytes) and its parse result. */
  | { type: 'message'; data: Buffer; result: ParseResult }
  /**
   * A keep-alive (RFC 5626 §4.4.1): `ping` is a double CRLF, which the engine answers with a single CRLF (`pong`);
   * `pong` is a lone CRLF between messages, which needs no answer.
   */
  | { type: 'keepalive'; kind: 'ping' | 'pong' }
  /**
   * The stream cannot be framed any further (no Content-Length, message or line too large, garbage). `status`
   * is what to answer if the head was a request (`partial` says so); the engine should then close the connection.
   * After an error the framer ignores further input.
   */
  | { type: 'error'; status: number; reason: string; result: ParseResult | undefined };

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);
/** Content-Length / `l` header lines, folded continuations included (each alternative consumes input: linear). */
const CL_RE = /\r\n(?:content-length|l)[ \t]*:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)/gi;

/** Cuts SIP messages out of a TCP byte stream by Content-Length (RFC 3261 §18.3). */
export class StreamFramer {
  private readonly limits: ParserLimits;
  private buf: Buffer = EMPTY;
  /** Where to resume the search for the end of the head (bytes already searched). */
  private searchFrom = 0;
  /** Total length of the message being collected, once its head was read; -1 before. */
  private expected = -1;
  private dead = false;

  constructor(limits?: Partial<ParserLimits>) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Bytes buffered but not yet framed. */
  get pending(): number {
    return this.buf.length;
  }

  /** True once an error was emitted. */
  get failed(): boolean {
    return this.dead;
  }

  /** Feed a chunk; returns the items completed by it, in stream order. Never throws. */
  push(chunk: Buffer): FramedItem[] {
    const out: FramedItem[] = [];
    if (this.dead || chunk.length === 0) return out;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    try {
      this.drain(out);
    } catch {
      this.die(out, 400, 'Malformed stream', undefined);
    }
    return out;
  }

  private die(out: FramedItem[], status: number, reason: string, result: ParseResult | undefined): void {
    out.push({ type: 'error', status, reason, result });
    this.dead = true;
    this.buf = EMPTY;
  }

  private drain(out: FramedItem[]): void {
    for (;;) {
      const b = this.buf;
      if (b.length === 0) return;
      if (this.expected < 0) {
        // Between messages: keep-alives and stray line ends.
        if (b[0] === 0x0d || b[0] === 0x0a) {
          if (b.length >= 4 && b[0] === 0x0d && b[1] === 0x0a && b[2] === 0x0d && b[3] === 0x0a) {
            out.push({ type: 'keepalive', kind: 'ping' });
            this.consume(4);
            continue;
          }
          if (b[0] === 0x0d && b.length >= 2 && b[1] === 0x0a) {
            if (b.length === 2 || (b.length === 3 && b[2] === 0x0d)) return; // maybe the start of a ping
            out.push({ type: 'keepalive', kind: 'pong' });
            this.consume(2);
            continue;
          }
          if (b[0] === 0x0d && b.length === 1) return;
          this.consume(1); // stray CR or LF
          continue;
        }
        const idx = b.indexOf(CRLFCRLF, this.searchFrom);
        if (idx < 0) {
          if (b.length > this.limits.maxMessageSize) {
            this.die(out, 513, 'Message Too Large', headFailure(b, 513, 'Message Too Large'));
            return;
          }
          this.searchFrom = Math.max(0, b.length - 3);
          return;
        }
        const bodyStart = idx + 4;
        const head = b.toString('latin1', 0, idx);
        let cl: number | undefined;
        let count = 0;
        let bad = false;
        CL_RE.lastIndex = 0;
        for (let m = CL_RE.exec(head); m !== null; m = CL_RE.exec(head)) {
          count++;
          const v = parseUInt(m[1]!.replace(/\r\n/g, '').trim());
          if (v === undefined) bad = true;
          else if (cl !== undefined && cl !== v) bad = true;
          else cl = v;
        }
        if (count === 0) {
          this.die(out, 400, 'Missing Content-Length', headFailure(b.subarray(0, bodyStart), 400, 'Missing Content-Length'));
          return;
        }
        if (bad || cl === undefined) {
          this.die(out, 400, 'Malformed Content-Length', headFailure(b.subarray(0, bodyStart), 400, 'Malformed Content-Length'));
          return;
        }
        const total = bodyStart + cl;
        if (total > this.limits.maxMessageSize) {
          this.die(out, 513, 'Message Too Large', headFailure(b.subarray(0, bodyStart), 513, 'Message Too Large'));
          return;
        }
        this.expected = total;
      }
      if (this.buf.length < this.expected) return;
      const data = this.buf.subarray(0, this.expected);
      const result = parseMessage(data, { limits: this.limits, stream: true });
      this.consume(this.expected);
      out.push({ type: 'message', data, result });
    }
  }

  private consume(n: number): void {
    this.buf = n >= this.buf.length ? EMPTY : this.buf.subarray(n);
    this.searchFrom = 0;
    this.expected = -1;
  }
}

/** Parser options without a size bound (one object: the parser works out the full limits once per object). */
const UNBOUNDED = { limits: { maxMessageSize: Number.MAX_SAFE_INTEGER } };

/** A failed ParseResult for a head that cannot be framed, carrying whatever headers were legible. */
function headFailure(head: Buffer, status: number, reason: string): ParseResult {
  const r = parseMessage(head, UNBOUNDED);
  if (!r.ok) return { ...r, status, reason };
  const m = r.msg;
  return {
    ok: false,
    status,
    reason,
    isResponse: m.isResponse,
    partial: {
      isResponse: m.isResponse,
      method: m.isResponse ? undefined : m.method,
      uri: m.isResponse ? undefined : m.uri,
      status: m.isResponse ? m.status : undefined,
      headers: m.headers instanceof SipHeaders ? m.headers : new SipHeaders(m.headers),
    },
  };
}
