import { describe, expect, it } from 'vitest';
import { buildInDialog, confirmUacDialog, dialogAckBytes, dialogDest, inDialogBytes, stripTag, uacDialog, uasDialog } from '../../src/dialog/ua.js';
import { SipHeaders, parseMessage, serialize, type SipRequest, type SipResponse } from '../../src/index.js';
import type { Dest } from '../../src/transaction/types.js';

const UDP: Dest = { proto: 'udp', addr: '192.0.2.1', port: 5060 };

function msg(lines: string[]): SipRequest | SipResponse {
  const r = parseMessage(Buffer.from([...lines, 'Content-Length: 0', '', ''].join('\r\n')));
  if (!r.ok) throw new Error(r.reason);
  return r.msg;
}

const invite = msg([
  'INVITE sip:bob@b.example SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1',
  'From: "Alice" <sip:alice@a.example>;tag=a1',
  'To: <sip:bob@b.example>',
  'Call-ID: c1',
  'CSeq: 10 INVITE',
  'Contact: <sip:alice@192.0.2.9:5070>',
  'Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>',
]) as SipRequest;

const ok = msg([
  'SIP/2.0 200 OK',
  'Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1',
  'From: "Alice" <sip:alice@a.example>;tag=a1',
  'To: <sip:bob@b.example>;tag=b1',
  'Call-ID: c1',
  'CSeq: 10 INVITE',
  'Contact: <sip:bob@192.0.2.20:5080;transport=tcp>',
  'Record-Route: <sip:p2.example;lr>, <sip:p1.example;lr>',
]) as SipResponse;

describe('dialog UA functions (RFC 3261 §12)', () => {
  it('stripTag keeps the name-addr without its tag', () => {
    expect(stripTag('"Alice" <sip:alice@a.example>;tag=a1;x=1')).toBe('Alice <sip:alice@a.example>;x=1') // a token display name needs no quotes;
    expect(stripTag('<sip:bob@b.example>')).toBe('<sip:bob@b.example>');
  });

  it('UAC dialog: tags, route set reversed from the response, remote target from its Contact, CSeq of the INVITE', () => {
    const d = uacDialog(invite, ok, 'c1;from-tag=a1', 'confirmed', UDP, undefined);
    expect(d).toMatchObject({
      role: 'uac', callId: 'c1', localTag: 'a1', remoteTag: 'b1', remoteTarget: 'sip:bob@192.0.2.20:5080;transport=tcp',
      routeSet: ['<sip:p1.example;lr>', '<sip:p2.example;lr>'], localSeq: 10, inviteCSeq: 10, state: 'confirmed',
    });
    expect(d.localUri).toBe('Alice <sip:alice@a.example>');
  });

  it('an early UAC dialog is confirmed by the 2xx: its tag, target and route set win', () => {
    const early = msg(['SIP/2.0 180 Ringing', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:alice@a.example>;tag=a1', 'To: <sip:bob@b.example>;tag=b1', 'Call-ID: c1', 'CSeq: 10 INVITE']) as SipResponse;
    const d = uacDialog(invite, early, 'c1;from-tag=a1', 'early', UDP, undefined);
    expect(d.routeSet).toEqual([]);
    expect(d.remoteTarget).toBe('sip:bob@b.example');
    confirmUacDialog(d, ok);
    expect(d).toMatchObject({ state: 'confirmed', remoteTarget: 'sip:bob@192.0.2.20:5080;transport=tcp', routeSet: ['<sip:p1.example;lr>', '<sip:p2.example;lr>'] });
  });

  it('UAS dialog: route set as received, remote target = the request Contact, remote CSeq', () => {
    const d = uasDialog(invite, 'c1;from-tag=a1', 'early', { localTag: 'k1', localContact: '<sip:kumo@192.0.2.1>', inviteTxnId: 't1', dest: UDP, app: undefined });
    expect(d).toMatchObject({ role: 'uas', localTag: 'k1', remoteTag: 'a1', remoteSeq: 10, routeSet: ['<sip:p1.example;lr>', '<sip:p2.example;lr>'], remoteTarget: 'sip:alice@192.0.2.9:5070', isInvite: true });
  });

  it('in-dialog requests: loose routing keeps the target; strict routing moves it to the end of Route; CSeq counts up, ACK reuses the INVITE', () => {
    const d = uacDialog(invite, ok, 'c1;from-tag=a1', 'confirmed', UDP, undefined);
    const bye = buildInDialog(d, 'BYE', 'sip:placeholder', new SipHeaders(), Buffer.alloc(0));
    expect(bye.uri).toBe('sip:bob@192.0.2.20:5080;transport=tcp');
    expect(bye.headers.getAll('route')).toEqual(['<sip:p1.example;lr>', '<sip:p2.example;lr>']);
    expect(bye.headers.get('cseq')).toBe('11 BYE');
    expect(bye.headers.get('to')).toBe('<sip:bob@b.example>;tag=b1');
    expect(buildInDialog(d, 'ACK', 'sip:other@x', new SipHeaders(), Buffer.alloc(0), 10).headers.get('cseq')).toBe('10 ACK');
    d.routeSet = ['<sip:strict.example>', '<sip:p2.example;lr>'];
    const info = buildInDialog(d, 'INFO', undefined, new SipHeaders(), Buffer.alloc(0));
    expect(info.uri).toBe('sip:strict.example');
    expect(info.headers.getAll('route')).toEqual(['<sip:p2.example;lr>', '<sip:bob@192.0.2.20:5080;transport=tcp>']);
  });

  it('the 2xx ACK written straight into bytes is byte for byte the built ACK (loose and strict routing, no route, with a body)', () => {
    const via = 'SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKack';
    const built = (d: ReturnType<typeof uacDialog>, body: Buffer, ct?: string): string => {
      const h = new SipHeaders();
      if (body.length > 0) h.append('Content-Type', ct ?? 'application/sdp');
      const req = buildInDialog(d, 'ACK', undefined, h, body, d.inviteCSeq);
      req.headers.prepend('Via', via);
      return serialize(req).toString('utf8');
    };
    const sdp = Buffer.from('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n');
    for (const routes of [undefined, ['<sip:p1.example>', '<sip:p2.example;lr>'], []]) {
      const d = uacDialog(invite, ok, 'c1;from-tag=a1', 'confirmed', UDP, undefined);
      if (routes) d.routeSet = routes;
      for (const [body, ct] of [[Buffer.alloc(0), undefined], [sdp, undefined], [sdp, 'application/sdp;x=1']] as const) {
        const b = dialogAckBytes(d, via, body, ct);
        expect(b.toString('utf8')).toBe(built(d, body, ct));
        expect(b.buffer.byteLength).toBe(b.length); // memory of its own, not a pool slab
      }
    }
  });

  it('in-dialog requests written straight into bytes are byte for byte the built ones, and count the CSeq up alike', () => {
    const via = 'SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKbye';
    const extra: [string, string][] = [['X-Call', 'abc'], ['Content-Type', 'application/dtmf-relay']];
    const body = Buffer.from('Signal=1\r\nDuration=100\r\n');
    for (const routes of [undefined, ['<sip:p1.example>', '<sip:p2.example;lr>'], []]) {
      for (const [method, uri] of [['BYE', undefined], ['INFO', 'sip:placeholder'], ['NOTIFY', 'sip:bob@192.0.2.30']] as const) {
        const a = uacDialog(invite, ok, 'c1;from-tag=a1', 'confirmed', UDP, undefined);
        const b = uacDialog(invite, ok, 'c1;from-tag=a1', 'confirmed', UDP, undefined);
        if (routes) a.routeSet = b.routeSet = routes;
        const req = buildInDialog(a, method, uri, new SipHeaders(extra), body);
        req.headers.prepend('Via', via);
        expect(inDialogBytes(b, method, uri, via, extra, body).toString('utf8')).toBe(serialize(req).toString('utf8'));
        expect(b.localSeq).toBe(a.localSeq);
      }
    }
  });

  it('destination: the first route, else the remote target; transport from the URI; hostnames fall back to where the dialog came from', () => {
    const d = uacDialog(invite, ok, 'c1;from-tag=a1', 'confirmed', UDP, undefined);
    d.routeSet = [];
    expect(dialogDest(d)).toEqual({ proto: 'tcp', addr: '192.0.2.20', port: 5080 });
    d.remoteTarget = 'sips:bob@192.0.2.21';
    expect(dialogDest(d)).toEqual({ proto: 'tls', addr: '192.0.2.21', port: 5061 });
    d.routeSet = ['<sip:proxy.example;lr>'];
    expect(dialogDest(d)).toBe(d.dest);
  });
});
