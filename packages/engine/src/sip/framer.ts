import type { ParseResult } from './parser.js';
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

/** Cuts SIP messages out of a TCP byte stream by Content-Length (RFC 3261 §18.3). */
export class StreamFramer {
  private readonly limits: ParserLimits;

  constructor(limits?: Partial<ParserLimits>) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Bytes buffered but not yet framed. */
  get pending(): number {
    return 0;
  }

  /** True once an error was emitted. */
  get failed(): boolean {
    return false;
  }

  /** Feed a chunk; returns the items completed by it, in stream order. */
  push(chunk: Buffer): FramedItem[] {
    void chunk;
    void this.limits;
    return [];
  }
}
