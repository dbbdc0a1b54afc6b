import type { SipMessage } from './message.js';

/** The start line (`INVITE sip:x SIP/2.0` or `SIP/2.0 200 OK`), without CRLF. */
export function startLine(msg: SipMessage): string {
  return msg.isResponse ? `${msg.version} ${msg.status} ${msg.reason}` : `${msg.method} ${msg.uri} ${msg.version}`;
}

/**
 * Serialize to wire bytes: start line, headers in order (`name: value`, as stored), a Content-Length equal to the
 * body's byte length (the first Content-Length / `l` field is rewritten in place and any other one dropped; one is
 * appended when absent), CRLF, body. Header text is written as UTF-8.
 */
export function serialize(msg: SipMessage): Buffer {
  const body = msg.body;
  let head = startLine(msg);
  let clDone = false;
  for (const f of msg.headers) {
    if (f.key === 'content-length') {
      if (!clDone) head += `\r\n${f.name}: ${body.length}`;
      clDone = true;
      continue;
    }
    head += `\r\n${f.name}: ${f.value}`;
  }
  if (!clDone) return finishMessage(head, body);
  head += '\r\n\r\n';
  return encode(head, body);
}

/**
 * The wire bytes of a message whose start line and header fields (`name: value`, CRLF-separated, no Content-Length)
 * are already written as `head`: a Content-Length equal to the body's byte length, CRLF, body. For the engine's own
 * messages built straight into text, without header objects. `owned`: in memory of its own, never a view of Node's
 * shared pool slab (bytes kept for a call's life: util.ts ownedCopy says why).
 */
export function finishMessage(head: string, body: Buffer, owned = false): Buffer {
  return encode(`${head}\r\nContent-Length: ${body.length}\r\n\r\n`, body, owned);
}

function encode(head: string, body: Buffer, owned = false): Buffer {
  if (body.length === 0 && !owned) return Buffer.from(head, 'utf8');
  const hb = Buffer.byteLength(head, 'utf8');
  const out = owned ? Buffer.allocUnsafeSlow(hb + body.length) : Buffer.allocUnsafe(hb + body.length);
  out.write(head, 0, 'utf8');
  body.copy(out, hb);
  return out;
}
