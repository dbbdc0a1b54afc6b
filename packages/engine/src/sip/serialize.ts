import type { SipMessage } from './message.js';

/** The start line (`INVITE sip:x SIP/2.0` or `SIP/2.0 200 OK`), without CRLF. */
export function startLine(msg: SipMessage): string {
  return msg.isResponse ? `${msg.version} ${msg.status} ${msg.reason}` : `${msg.method} ${msg.uri} ${msg.version}`;
}

/**
 * Serialize to wire bytes: start line, headers in order (`name: value`, as stored), a Content-Length equal to the
 * body's byte length (an existing Content-Length / `l` field is rewritten in place, else one is appended), CRLF, body.
 */
export function serialize(msg: SipMessage): Buffer {
  void msg;
  return Buffer.alloc(0);
}
