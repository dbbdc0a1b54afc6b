import { describe, expect, it } from 'vitest';
import { takeMessages } from '../../src/ops/sip-probe.js';

const msg = (body: string, lengthHeader = 'Content-Length'): string =>
  `SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKx\r\nCSeq: 1 OPTIONS\r\n${lengthHeader}: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('the probe client’s TCP framing (RFC 3261 §18.3)', () => {
  const a = msg('');
  const b = msg('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n');
  const jp = msg('表示名'); // the length counts bytes, not characters
  it.each([
    { name: 'one whole message', stream: a, messages: [a], rest: '' },
    { name: 'two in one chunk, the second with a body', stream: a + b, messages: [a, b], rest: '' },
    { name: 'a body cut short waits for the rest', stream: a + b.slice(0, -5), messages: [a], rest: b.slice(0, -5) },
    { name: 'headers cut short wait for the rest', stream: b.slice(0, 20), messages: [], rest: b.slice(0, 20) },
    { name: 'keep-alive CRLFs between messages are dropped', stream: `\r\n\r\n${a}\r\n${b}`, messages: [a, b], rest: '' },
    { name: 'the compact form l:', stream: msg('abc', 'l') + a, messages: [msg('abc', 'l'), a], rest: '' },
    { name: 'a multi-byte body', stream: jp + a, messages: [jp, a], rest: '' },
  ])('$name', ({ stream, messages, rest }) => {
    const r = takeMessages(Buffer.from(stream));
    expect(r.messages).toEqual(messages);
    expect(r.rest.toString('utf8')).toBe(rest);
  });
});
