import { describe, expect, it } from 'vitest';
import { scanNewInvite } from '../../src/fastshed.js';
import { parseMessage, type SipRequest } from '../../src/sip/index.js';
import { serverKey } from '../../src/transaction/table.js';
import { loadCorpora } from './corpora.js';

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';
const PEER = '127.0.0.1';
const PEER_PORT = 40000;
const EMERGENCY = new Set(['110', '118', '119', '0110', '0118', '0119']);

/** A new INVITE as sipp sends it, with `o` replacing parts (a header set to null is left out). */
function invite(o: { start?: string; via?: string | null; to?: string | null; from?: string | null; callId?: string | null; cseq?: string | null; extra?: string } = {}): string {
  const h = (name: string, v: string | null | undefined, def: string): string => (v === null ? '' : `${name}: ${v ?? def}\r\n`);
  return (
    `${o.start ?? 'INVITE sip:bob@127.0.0.1:5060 SIP/2.0'}\r\n` +
    h('Via', o.via, 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1-abc') +
    'Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-up\r\n' +
    h('From', o.from, '"Alice" <sip:alice@127.0.0.1:5070>;tag=a1') +
    h('To', o.to, '<sip:bob@127.0.0.1:5060>') +
    h('Call-ID', o.callId, '1-abc@127.0.0.1') +
    h('CSeq', o.cseq, '1 INVITE') +
    'Max-Forwards: 70\r\nContact: <sip:alice@127.0.0.1:5070>\r\n' +
    (o.extra ?? '') +
    `Content-Type: application/sdp\r\nContent-Length: ${SDP.length}\r\n\r\n${SDP}`
  );
}

const scan = (text: string | Buffer, peer = PEER): ReturnType<typeof scanNewInvite> =>
  scanNewInvite(typeof text === 'string' ? Buffer.from(text, 'latin1') : text, peer, PEER_PORT, EMERGENCY);

/**
 * Whatever the scan lets the raw path refuse, the full path would also treat as a new INVITE with the same key — or
 * refuse itself (a malformed INVITE gets the 503 instead of its 400 while the engine sheds: refused either way).
 */
function agreesWithParser(data: Buffer, peer = PEER): void {
  const raw = scanNewInvite(data, peer, PEER_PORT, EMERGENCY);
  if (!raw) return;
  const p = parseMessage(data);
  if (!p.ok) return;
  if (p.msg.isResponse) throw new Error(`the scan took a response: ${data.toString('latin1').slice(0, 200)}`);
  const req = p.msg;
  expect(req.method).toBe('INVITE');
  expect(req.to?.tag).toBeUndefined();
  expect(raw.key).toBe(serverKey(req, 'INVITE'));
  const u = req.requestUri;
  const user = u === undefined ? undefined : 'number' in u ? u.number : 'user' in u ? u.user : undefined;
  expect(user !== undefined && EMERGENCY.has(user)).toBe(false);
}

describe('scanNewInvite: which INVITEs the raw path may refuse without a parse', () => {
  const refusable: [string, string][] = [
    ['a plain new INVITE', invite()],
    ['compact header names', invite().replace('From:', 'f:').replace('To:', 't:').replace('Call-ID:', 'i:').replace('Via: SIP/2.0/UDP 127', 'v: SIP/2.0/UDP 127')],
    ['header names in any case, spaces around the colon', invite().replace('Call-ID:', 'CALL-ID  :').replace('CSeq:', 'cseq:')],
    ['an empty rport (filled in, response to the source port)', invite({ via: 'SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bK-2' })],
    ['a Via without a port (5060)', invite({ via: 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-3' })],
    ['two Via values on one line', invite({ via: 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-4, SIP/2.0/UDP 10.0.0.8;branch=z9hG4bK-x' })],
    ['a tel: Request-URI that is not an emergency number', invite({ start: 'INVITE tel:0312345678 SIP/2.0' })],
    ['a Resource-Priority outside esnet', invite({ extra: 'Resource-Priority: wps.3\r\n' })],
    ['a To with a display name', invite({ to: '"Bob" <sip:bob@127.0.0.1>' })],
  ];
  it.each(refusable)('%s', (_name, text) => {
    const raw = scan(text);
    expect(raw).toBeDefined();
    agreesWithParser(Buffer.from(text, 'latin1'));
  });

  const fullPath: [string, string, string?][] = [
    ['in a dialog (To-tag)', invite({ to: '<sip:bob@127.0.0.1>;tag=x' })],
    ['To-tag with spaces and another case', invite({ to: '<sip:bob@127.0.0.1> ; TAG = x' })],
    ['a CANCEL', invite({ start: 'CANCEL sip:bob@127.0.0.1:5060 SIP/2.0', cseq: '1 CANCEL' })],
    ['an ACK', invite({ start: 'ACK sip:bob@127.0.0.1:5060 SIP/2.0', cseq: '1 ACK' })],
    ['an OPTIONS', invite({ start: 'OPTIONS sip:bob@127.0.0.1:5060 SIP/2.0', cseq: '1 OPTIONS' })],
    ['a response', invite({ start: 'SIP/2.0 200 OK' })],
    ['CSeq method other than INVITE', invite({ cseq: '1 ACK' })],
    ['lower-case method', invite({ start: 'invite sip:bob@127.0.0.1 SIP/2.0' })],
    ['SIP version other than 2.0', invite({ start: 'INVITE sip:bob@127.0.0.1 SIP/3.0' })],
    ['a Request-URI with a space', invite({ start: 'INVITE sip:bob@127.0.0.1 x SIP/2.0' })],
    ['an escaped Request-URI user', invite({ start: 'INVITE sip:%31%31%39@127.0.0.1 SIP/2.0' })],
    ['an emergency number', invite({ start: 'INVITE sip:119@127.0.0.1 SIP/2.0' })],
    ['an emergency number behind the outside-line prefix', invite({ start: 'INVITE sip:0110@127.0.0.1;user=phone SIP/2.0' })],
    ['an emergency tel: number', invite({ start: 'INVITE tel:118 SIP/2.0' })],
    ['a tel: number with visual separators', invite({ start: 'INVITE tel:03-1234-5678 SIP/2.0' })],
    ['an esnet Resource-Priority', invite({ extra: 'Resource-Priority: esnet.0\r\n' })],
    ['an esnet Resource-Priority in a second header', invite({ extra: 'Resource-Priority: wps.3\r\nResource-Priority: esnet.1\r\n' })],
    ['a Via to be stamped with received (another host)', invite(), '127.0.0.2'],
    ['a Via that already has received', invite({ via: 'SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;branch=z9hG4bK-5' })],
    ['an RFC 2543 branch', invite({ via: 'SIP/2.0/UDP 127.0.0.1:5070;branch=old-2543' })],
    ['no branch', invite({ via: 'SIP/2.0/UDP 127.0.0.1:5070' })],
    ['two branches', invite({ via: 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-a;branch=z9hG4bK-b' })],
    ['Via over TCP', invite({ via: 'SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-6' })],
    ['Via port 0', invite({ via: 'SIP/2.0/UDP 127.0.0.1:0;branch=z9hG4bK-7' })],
    ['Via port 65536', invite({ via: 'SIP/2.0/UDP 127.0.0.1:65536;branch=z9hG4bK-8' })],
    ['a quoted Via parameter', invite({ via: 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-9;x="a,b"' })],
    ['rport with a bad value', invite({ via: 'SIP/2.0/UDP 127.0.0.1:5070;rport=x;branch=z9hG4bK-10' })],
    ['an IPv6 sent-by', invite({ via: 'SIP/2.0/UDP [::1]:5070;branch=z9hG4bK-11' }), '::1'],
    ['no Via', invite({ via: null })],
    ['no To', invite({ to: null })],
    ['no From', invite({ from: null })],
    ['no Call-ID', invite({ callId: null })],
    ['no CSeq', invite({ cseq: null })],
    ['an empty Call-ID', invite({ callId: '' })],
    ['two To headers', invite({ extra: 'To: <sip:carol@127.0.0.1>\r\n' })],
    ['two CSeq headers', invite({ extra: 'CSeq: 2 INVITE\r\n' })],
    ['a folded header', invite({ extra: 'Subject: a\r\n  folded\r\n' })],
    ['a header line without a colon', invite({ extra: 'Subject\r\n' })],
    ['a bare LF inside the headers', invite({ extra: 'Subject: a\nX: b\r\n' })],
    ['a bare CR inside the headers', invite({ extra: 'Subject: a\rX: b\r\n' })],
    ['no end of headers', invite().split('\r\n\r\n')[0] as string],
    ['too short to be SIP', 'INVITE sip:a SIP/2.0\r\n\r\n'],
  ];
  it.each(fullPath)('%s → full path', (_name, text, peer) => {
    expect(scan(text, peer)).toBeUndefined();
  });

  it('gives the parser’s transaction key and a 503 that parses with every Via, From, To + tag, Call-ID, CSeq, Retry-After', () => {
    const data = Buffer.from(invite({ via: 'SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bK-1-abc' }), 'latin1');
    const raw = scanNewInvite(data, PEER, PEER_PORT, EMERGENCY);
    const p = parseMessage(data);
    if (!raw || !p.ok) throw new Error('no scan');
    expect(raw.key).toBe(serverKey(p.msg as SipRequest, 'INVITE'));
    expect(raw.port).toBe(PEER_PORT); // rport: back to the source port
    const r = parseMessage(raw.response('kshedX', 5));
    if (!r.ok || !r.msg.isResponse) throw new Error('503 does not parse');
    expect(r.msg.status).toBe(503);
    expect(r.msg.headers.getAll('via')).toEqual(['SIP/2.0/UDP 127.0.0.1:5070;rport=40000;branch=z9hG4bK-1-abc', 'SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-up']);
    expect(r.msg.to?.tag).toBe('kshedX');
    expect(r.msg.from?.tag).toBe('a1');
    expect(r.msg.callId).toBe('1-abc@127.0.0.1');
    expect(r.msg.cseq).toMatchObject({ seq: 1, method: 'INVITE' });
    expect(r.msg.headers.get('retry-after')).toBe('5');
    // without rport: to the Via's port
    expect(scan(invite())?.port).toBe(5070);
  });

  it('never throws on the torture corpora, and agrees with the parser on whatever it takes', () => {
    for (const c of loadCorpora()) {
      expect(() => scanNewInvite(c.data, PEER, PEER_PORT, EMERGENCY)).not.toThrow();
      agreesWithParser(c.data);
    }
  });

  it('never throws on truncated or mangled INVITEs, and agrees with the parser on whatever it takes', () => {
    const base = Buffer.from(invite({ via: 'SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bK-m' }), 'latin1');
    let seed = 19;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = Buffer.from(' \t\r\n:;,=<>"@%\0\xffazAZ09');
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(base);
      const edits = 1 + rnd(4);
      for (let e = 0; e < edits; e++) b[rnd(b.length)] = alphabet[rnd(alphabet.length)] as number;
      const data = i % 5 === 0 ? b.subarray(0, rnd(b.length)) : b;
      expect(() => scanNewInvite(data, PEER, PEER_PORT, EMERGENCY)).not.toThrow();
      agreesWithParser(data);
    }
  });
});
