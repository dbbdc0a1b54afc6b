import { describe, expect, it } from 'vitest';
import type { SipRequest } from './message.js';
import { isKeepAlive, parseMessage } from './parser.js';
import { serialize } from './serialize.js';

const CRLF = '\r\n';
function msg(start: string, headers: string[], body = ''): Buffer {
  return Buffer.from(`${start}${CRLF}${headers.join(CRLF)}${CRLF}${CRLF}${body}`, 'utf8');
}
const BASE = [
  'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport',
  'From: "Alice" <sip:alice@a.example>;tag=f1',
  'To: <sip:bob@b.example>',
  'Call-ID: c1@10.0.0.1',
  'CSeq: 1 INVITE',
  'Max-Forwards: 70',
];
function req(extra: string[] = [], body = '', start = 'INVITE sip:bob@b.example SIP/2.0'): Buffer {
  const cl = extra.some((h) => /^(content-length|l)\s*:/i.test(h)) ? [] : [`Content-Length: ${Buffer.byteLength(body)}`];
  return msg(start, [...BASE, ...extra, ...cl], body);
}

describe('parseMessage: requests', () => {
  it('parses a typical INVITE', () => {
    const sdp = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=é\r\n';
    const r = parseMessage(req(['Content-Type: application/sdp', 'Contact: <sip:alice@10.0.0.1>'], sdp));
    expect(r.ok).toBe(true);
    if (!r.ok || r.msg.isResponse) return;
    const m = r.msg;
    expect(m.method).toBe('INVITE');
    expect(m.uri).toBe('sip:bob@b.example');
    expect(m.requestUri).toMatchObject({ kind: 'sip', user: 'bob', host: 'b.example' });
    expect(m.topVia).toMatchObject({ host: '10.0.0.1', port: 5060, branch: 'z9hG4bK1', rport: null });
    expect(m.from?.tag).toBe('f1');
    expect(m.to?.tag).toBeUndefined();
    expect(m.callId).toBe('c1@10.0.0.1');
    expect(m.cseq).toEqual({ seq: 1, method: 'INVITE' });
    expect(m.maxForwards).toBe(70);
    expect(m.contentType).toBe('application/sdp');
    expect(m.body.toString('utf8')).toBe(sdp);
    expect(m.body.length).toBe(Buffer.byteLength(sdp));
    expect(m.contact?.contacts[0]?.uriText).toBe('sip:alice@10.0.0.1');
  });

  it('keeps UTF-8 header text and the raw bytes', () => {
    const data = req(['Subject: café ☕', 'X-Emoji: 😀']);
    const r = parseMessage(data);
    if (!r.ok) throw new Error(r.reason);
    expect(r.msg.headers.get('subject')).toBe('café ☕');
    expect(r.msg.headers.get('x-emoji')).toBe('😀');
    expect(r.msg.raw?.equals(data)).toBe(true);
    expect(serialize(r.msg).equals(data)).toBe(true);
  });

  it('ignores CRLFs before the start line', () => {
    const r = parseMessage(Buffer.concat([Buffer.from('\r\n\r\n'), req()]));
    expect(r.ok).toBe(true);
  });

  it('datagram without Content-Length: body runs to the end', () => {
    const data = msg('MESSAGE sip:bob@b SIP/2.0', [...BASE.slice(0, 4), 'CSeq: 2 MESSAGE', 'Content-Type: text/plain'], 'hello');
    const r = parseMessage(data);
    if (!r.ok) throw new Error(r.reason);
    expect(r.msg.body.toString()).toBe('hello');
    expect(parseMessage(data, { stream: true })).toMatchObject({ ok: false, status: 400, reason: 'Missing Content-Length' });
  });

  it.each<[string, Buffer, number, RegExp]>([
    ['empty', Buffer.alloc(0), 400, /Empty/],
    ['only CRLFs', Buffer.from('\r\n\r\n'), 400, /Empty/],
    ['garbage', Buffer.from('hello world'), 400, /request line/],
    ['lower-case version is fine but 3.0 is not', req([], '', 'INVITE sip:b@b SIP/3.0'), 505, /Version/],
    ['malformed version', req([], '', 'INVITE sip:b@b HTTP/1.1'), 400, /version/],
    ['tab in request line', req([], '', 'INVITE\tsip:b@b SIP/2.0'), 400, /request line|method/],
    ['bad method', req([], '', 'INV(ITE sip:b@b SIP/2.0'), 400, /method/],
    ['no Via', msg('OPTIONS sip:b@b SIP/2.0', BASE.slice(1).map((h) => h.replace('INVITE', 'OPTIONS'))), 400, /Missing Via/],
    ['header without colon', req(['Bogus header']), 400, /header line/],
    ['continuation first', msg('INVITE sip:b@b SIP/2.0', [' folded', ...BASE]), 400, /continuation/],
    ['bad Max-Forwards', req(['Max-Forwards: 256'].concat()).subarray(0), 400, /Max-Forwards/],
    ['bare LF in header', req(['X-A: a\nb']), 400, /Bare/],
    ['Content-Length too big', req(['Content-Length: 10'], 'abc'), 400, /Content-Length/],
  ])('rejects %s', (_n, data, status, reason) => {
    const r = parseMessage(data);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.status).toBe(status);
    expect(r.reason).toMatch(reason);
    expect(r.isResponse).toBe(false);
  });

  it('partial carries the legible headers', () => {
    const r = parseMessage(req(['Content-Length: 99']));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.partial.method).toBe('INVITE');
    expect(r.partial.headers.get('call-id')).toBe('c1@10.0.0.1');
    expect(r.partial.headers.getAll('via')).toHaveLength(1);
  });
});

describe('parseMessage: responses', () => {
  const RES = BASE.slice(0, 5).map((h) => (h.startsWith('To:') ? `${h};tag=t1` : h));
  it.each<[string, number, string]>([
    ['SIP/2.0 200 OK', 200, 'OK'],
    ['SIP/2.0 180 Ringing', 180, 'Ringing'],
    ['SIP/2.0 100 ', 100, ''],
    ['SIP/2.0 100', 100, ''],
    ['SIP/2.0 486 Busy  Here ', 486, 'Busy  Here '],
    ['sip/2.0 603 Decline', 603, 'Decline'],
  ])('%j', (start, status, reason) => {
    const r = parseMessage(msg(start, [...RES, 'Content-Length: 0']));
    if (!r.ok) throw new Error(r.reason);
    expect(r.msg.isResponse && [r.msg.status, r.msg.reason]).toEqual([status, reason]);
  });

  it.each(['SIP/2.0 99 Low', 'SIP/2.0 700 High', 'SIP/2.0 2000 OK', 'SIP/2.0 20x OK', 'SIP/2.0', 'SIP/2.0 200OK'])(
    'drops %j',
    (start) => {
      const r = parseMessage(msg(start, [...RES, 'Content-Length: 0']));
      expect(r).toMatchObject({ ok: false, isResponse: true });
    },
  );
});

describe('limits', () => {
  it('message size → 513', () => {
    const body = 'x'.repeat(2000);
    const r = parseMessage(req(['Content-Type: text/plain'], body), { limits: { maxMessageSize: 1500 } });
    expect(r).toMatchObject({ ok: false, status: 513 });
    if (!r.ok) expect(r.partial.headers.get('call-id')).toBe('c1@10.0.0.1');
  });
  it('only the message counts, not trailing octets of the datagram', () => {
    const data = Buffer.concat([req(), Buffer.alloc(3000, 0x41)]);
    expect(parseMessage(data, { limits: { maxMessageSize: 1500 } }).ok).toBe(true);
  });
  it('header count', () => {
    const extra = Array.from({ length: 30 }, (_, i) => `X-H${i}: ${i}`);
    expect(parseMessage(req(extra), { limits: { maxHeaders: 20 } })).toMatchObject({ ok: false, status: 400, reason: /Too many/ });
    expect(parseMessage(req(extra), { limits: { maxHeaders: 50 } }).ok).toBe(true);
  });
  it('line length (after unfolding)', () => {
    const long = `X-Long: ${'a'.repeat(300)}\r\n ${'b'.repeat(300)}`;
    expect(parseMessage(req([long]), { limits: { maxLineLength: 500 } })).toMatchObject({ ok: false, reason: /too long/ });
    expect(parseMessage(req([long]), { limits: { maxLineLength: 700 } }).ok).toBe(true);
  });
});

describe('message accessors follow edits', () => {
  it('re-parses after a header edit', () => {
    const r = parseMessage(req());
    if (!r.ok || r.msg.isResponse) throw new Error('x');
    const m: SipRequest = r.msg;
    expect(m.topVia?.host).toBe('10.0.0.1');
    m.headers.prepend('Via', 'SIP/2.0/TCP proxy.example:5070;branch=z9hG4bKp');
    expect(m.topVia?.host).toBe('proxy.example');
    expect(m.vias).toHaveLength(2);
    m.headers.set('To', '<sip:bob@b.example>;tag=xyz');
    expect(m.to?.tag).toBe('xyz');
    m.uri = 'sip:carol@c.example';
    expect(m.requestUri).toMatchObject({ user: 'carol' });
    m.headers.set('CSeq', 'garbage');
    expect(m.cseq).toBeUndefined();
  });
});

describe('app messages (lenient) and keep-alives', () => {
  it('accepts what a drachtio-srf app sends: no Via, no tags, body framed by the frame', () => {
    const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n';
    const data = Buffer.from(
      `SIP/2.0 200 OK\r\nCall-ID: 1-29586@127.0.0.1\r\ncseq: 1 INVITE\r\nfrom: sipp <sip:sipp@127.0.0.1:5072>;tag=29586SIPpTag001\r\n` +
        `to: service <sip:service@127.0.0.1:5060>\r\nContent-Length: 999\r\n\r\n${sdp}`,
    );
    expect(parseMessage(data).ok).toBe(false);
    const r = parseMessage(data, { lenient: true });
    if (!r.ok || !r.msg.isResponse) throw new Error('lenient parse failed');
    expect(r.msg.status).toBe(200);
    expect(r.msg.body.toString()).toBe(sdp);
    expect(r.msg.vias).toEqual([]);
    expect(r.msg.from?.tag).toBe('29586SIPpTag001');
    expect(serialize(r.msg).toString()).toContain(`Content-Length: ${sdp.length}\r\n`);
    const req = parseMessage(Buffer.from('INVITE sip:service@127.0.0.1:5090 SIP/2.0\r\nfrom: sip:sipp@localhost\r\n\r\n'), { lenient: true });
    expect(req.ok && !req.msg.isResponse && req.msg.method).toBe('INVITE');
    expect(parseMessage(Buffer.from('INVITE  sip:x SIP/2.0\r\n\r\n'), { lenient: true }).ok).toBe(false);
  });

  it.each<[string, boolean]>([['\r\n\r\n', true], ['\r\n', true], [' \r\n', true], ['', false], ['\r\nX', false]])(
    'isKeepAlive(%j) = %j',
    (s, k) => expect(isKeepAlive(Buffer.from(s))).toBe(k),
  );
});

describe('top Via edits', () => {
  it('sets received/rport on the top via only, also inside a comma-separated field', () => {
    const data = req().toString().replace(
      'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport',
      'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport, SIP/2.0/UDP p.example;branch=z9hG4bK0',
    );
    const r = parseMessage(Buffer.from(data));
    if (!r.ok) throw new Error(r.reason);
    const m = r.msg;
    const top = m.topVia!;
    top.params.received = '192.0.2.9';
    top.params.rport = '40000';
    expect(m.setTopVia(top)).toBe(true);
    expect(m.headers.get('via')).toBe(
      'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport=40000;received=192.0.2.9, SIP/2.0/UDP p.example;branch=z9hG4bK0',
    );
    expect(m.topVia).toMatchObject({ received: '192.0.2.9', rport: 40000 });
    expect(m.removeTopVia()?.branch).toBe('z9hG4bK1');
    expect(m.headers.getAll('via')).toEqual(['SIP/2.0/UDP p.example;branch=z9hG4bK0']);
    expect(m.removeTopVia()?.host).toBe('p.example');
    expect(m.headers.has('via')).toBe(false);
    expect(m.removeTopVia()).toBeUndefined();
  });
});
