import { SipHeaders } from './headers.js';
import type { SipMessage } from './message.js';
import { DEFAULT_LIMITS, type ParserLimits } from './types.js';

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
}

/** Parse one SIP message from a datagram (or a frame cut by `StreamFramer`). Never throws. */
export function parseMessage(buf: Buffer, opts?: ParseOptions): ParseResult {
  void buf;
  void opts;
  void DEFAULT_LIMITS;
  return {
    ok: false,
    status: 400,
    reason: 'Not implemented',
    isResponse: false,
    partial: { isResponse: false, method: undefined, uri: undefined, status: undefined, headers: new SipHeaders() },
  };
}
