/**
 * drachtio control-protocol framing: `<decimal byte length>#<payload>`, no terminator.
 * Frames may be split anywhere (even inside the length digits) or coalesced; the reader
 * buffers. Like drachtio-server, at most 5 length digits are accepted (payload ≤ 99 999
 * bytes from an app); anything else is a protocol error and the caller closes the link.
 */
export const MAX_LENGTH_DIGITS = 5;

export class FrameError extends Error {
  readonly code = 'KUMO_ERR_CONTROL_FRAMING';
}

export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxDigits = MAX_LENGTH_DIGITS) {}

  /** Feeds bytes; returns the complete payloads (as UTF-8 strings) now available. Throws FrameError. */
  push(chunk: Buffer): string[] {
    return this.pushBytes(chunk).map((b) => b.toString('utf8'));
  }

  /**
   * Feeds bytes; returns the complete payloads now available as they were read: views of the chunks (no copy, not
   * decoded), so a SIP message in a frame reaches the parser as the app's bytes. Throws FrameError.
   */
  pushBytes(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    let off = 0;
    for (;;) {
      // read length digits
      let i = off;
      let len = 0;
      while (i < this.buf.length) {
        const c = this.buf[i] as number;
        if (c >= 0x30 && c <= 0x39) {
          len = len * 10 + (c - 0x30);
          i++;
          if (i - off > this.maxDigits) throw new FrameError(`frame length has more than ${this.maxDigits} digits`);
        } else break;
      }
      if (i >= this.buf.length) break; // need more bytes (still inside the length)
      if (this.buf[i] !== 0x23 /* # */ || i === off) throw new FrameError('frame does not start with <length>#');
      if (len <= 0) throw new FrameError('frame length must be positive');
      const start = i + 1;
      const end = start + len;
      if (end > this.buf.length) break;
      out.push(this.buf.subarray(start, end));
      off = end;
    }
    this.buf = off === 0 ? this.buf : this.buf.subarray(off);
    if (this.buf.length === 0) this.buf = Buffer.alloc(0);
    return out;
  }

  get buffered(): number {
    return this.buf.length;
  }
}

/** Encodes one frame. */
export function encodeFrame(payload: string): string {
  return `${Buffer.byteLength(payload, 'utf8')}#${payload}`;
}

/**
 * Splits a payload as read (`FrameReader.pushBytes`) into its leader tokens (UTF-8) and the bytes after the first
 * CRLF (the SIP message, a view), if any. Only the leader is decoded.
 */
export function splitFrame(payload: Buffer): { tokens: string[]; body: Buffer | undefined } {
  const n = payload.length;
  let pos = -1;
  for (let i = 0; i + 1 < n; i++) {
    if (payload[i] === 0x0d && payload[i + 1] === 0x0a) {
      pos = i;
      break;
    }
  }
  const leader = payload.toString('utf8', 0, pos === -1 ? n : pos);
  return { tokens: leader.split('|'), body: pos === -1 ? undefined : payload.subarray(pos + 2) };
}

/** Splits a payload into its leader tokens and the text after the first CRLF (the SIP message), if any. */
export function splitPayload(payload: string): { tokens: string[]; body: string | undefined } {
  const pos = payload.indexOf('\r\n');
  const leader = pos === -1 ? payload : payload.slice(0, pos);
  return { tokens: leader.split('|'), body: pos === -1 ? undefined : payload.slice(pos + 2) };
}
