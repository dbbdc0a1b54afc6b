import { describe, expect, it } from 'vitest';
import { StreamFramer, type FramedItem } from './framer.js';

function message(n: number, body = ''): Buffer {
  const b = Buffer.from(body, 'utf8');
  return Buffer.from(
    `OPTIONS sip:bob@b.example SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK${n}\r\nFrom: <sip:a@a>;tag=${n}\r\n` +
      `To: <sip:bob@b.example>\r\nCall-ID: ${n}@x\r\nCSeq: ${n} OPTIONS\r\nContent-Type: text/plain\r\nl: ${b.length}\r\n\r\n${body}`,
    'utf8',
  );
}

function feed(f: StreamFramer, data: Buffer, cuts: number[]): FramedItem[] {
  const out: FramedItem[] = [];
  let last = 0;
  for (const c of [...cuts, data.length]) {
    out.push(...f.push(data.subarray(last, c)));
    last = c;
  }
  return out;
}

describe('StreamFramer', () => {
  const a = message(1, 'héllo wörld');
  const b = message(2);
  const c = message(3, 'x'.repeat(100));
  const stream = Buffer.concat([a, Buffer.from('\r\n\r\n'), b, c]);

  it('frames coalesced messages byte-exactly, with keep-alives', () => {
    const items = new StreamFramer().push(stream);
    expect(items.map((i) => i.type)).toEqual(['message', 'keepalive', 'message', 'message']);
    const msgs = items.filter((i) => i.type === 'message');
    expect(msgs.map((m) => m.data)).toEqual([a, b, c]);
    const first = msgs[0]!;
    expect(first.result.ok && first.result.msg.body.toString('utf8')).toBe('héllo wörld');
    expect(items[1]).toEqual({ type: 'keepalive', kind: 'ping' });
  });

  it('gives the same result whatever the split points', () => {
    // Every single split point, and a few byte-by-byte runs.
    for (let cut = 1; cut < stream.length; cut++) {
      const f = new StreamFramer();
      const items = feed(f, stream, [cut]);
      expect(items.filter((i) => i.type === 'message').map((m) => m.data.toString('latin1'))).toEqual(
        [a, b, c].map((x) => x.toString('latin1')),
      );
      expect(f.pending).toBe(0);
    }
    const f = new StreamFramer();
    const items = feed(f, stream, Array.from({ length: stream.length - 1 }, (_, i) => i + 1));
    expect(items.map((i) => i.type)).toEqual(['message', 'keepalive', 'message', 'message']);
  });

  it('a lone CRLF between messages is a pong', () => {
    const items = new StreamFramer().push(Buffer.concat([Buffer.from('\r\n'), b]));
    expect(items.map((i) => (i.type === 'keepalive' ? i.kind : i.type))).toEqual(['pong', 'message']);
  });

  it('waits for the rest of a message', () => {
    const f = new StreamFramer();
    expect(f.push(c.subarray(0, c.length - 10))).toEqual([]);
    expect(f.pending).toBe(c.length - 10);
    expect(f.push(c.subarray(c.length - 10)).map((i) => i.type)).toEqual(['message']);
  });

  it('missing Content-Length is fatal, with the legible headers', () => {
    const noCl = Buffer.from(message(4).toString('latin1').replace(/l: 0\r\n/, ''), 'latin1');
    const f = new StreamFramer();
    const items = f.push(noCl);
    expect(items).toHaveLength(1);
    const e = items[0]!;
    expect(e.type === 'error' && [e.status, e.reason]).toEqual([400, 'Missing Content-Length']);
    expect(e.type === 'error' && e.result?.ok === false && e.result.partial.headers.get('call-id')).toBe('4@x');
    expect(f.failed).toBe(true);
    expect(f.push(b)).toEqual([]);
  });

  it.each([['-1'], ['abc'], ['5, 6']])('malformed Content-Length %j is fatal', (v) => {
    const bad = Buffer.from(message(5).toString('latin1').replace('l: 0', `l: ${v}`), 'latin1');
    expect(new StreamFramer().push(bad)[0]).toMatchObject({ type: 'error', status: 400 });
  });

  it('message size limit → 513, also while the head is still incomplete', () => {
    const big = message(6, 'y'.repeat(5000));
    expect(new StreamFramer({ maxMessageSize: 4000 }).push(big)[0]).toMatchObject({ type: 'error', status: 513 });
    const f = new StreamFramer({ maxMessageSize: 1000 });
    expect(f.push(Buffer.from(`INVITE sip:x SIP/2.0\r\nX: ${'z'.repeat(2000)}`))[0]).toMatchObject({ type: 'error', status: 513 });
  });

  it('a malformed message with a good length is reported and framing continues', () => {
    const bad = Buffer.from(message(7).toString('latin1').replace('CSeq: 7 OPTIONS', 'CSeq: x'), 'latin1');
    const items = new StreamFramer().push(Buffer.concat([bad, b]));
    expect(items.map((i) => i.type === 'message' && i.result.ok)).toEqual([false, true]);
  });

  it('folded Content-Length', () => {
    const folded = Buffer.from(message(8, 'abc').toString('latin1').replace('l: 3', 'Content-Length:\r\n  3'), 'latin1');
    const items = new StreamFramer().push(folded);
    expect(items[0]?.type === 'message' && items[0].result.ok).toBe(true);
  });
});
