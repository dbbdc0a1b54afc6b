import { describe, expect, it } from 'vitest';
import { parseMessage, serialize, type SipRequest, type SipResponse } from '../../src/index.js';
import { buildCancel, buildLocalFailure, buildNon2xxAck, buildResponse } from '../../src/transaction/requests.js';

function msg(lines: string[]): SipRequest | SipResponse {
  const r = parseMessage(Buffer.from([...lines, 'Content-Length: 0', '', ''].join('\r\n')));
  if (!r.ok) throw new Error(r.reason);
  return r.msg;
}

/** An INVITE as the engine sends it: its own Via on top, a Route set. */
const invite = msg([
  'INVITE sip:bob@192.0.2.20:5080 SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKout1',
  'Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKin1',
  'Route: <sip:p1.example;lr>',
  'Route: <sip:p2.example;lr>',
  'Max-Forwards: 69',
  'From: <sip:alice@a.example>;tag=a1',
  'To: <sip:bob@b.example>',
  'Call-ID: c1',
  'CSeq: 7 INVITE',
  'Contact: <sip:alice@192.0.2.1>',
]) as SipRequest;

const busy = msg([
  'SIP/2.0 486 Busy Here',
  'Via: SIP/2.0/UDP 192.0.2.1:5060;rport=5060;branch=z9hG4bKout1',
  'From: <sip:alice@a.example>;tag=a1',
  'To: <sip:bob@b.example>;tag=b9',
  'Call-ID: c1',
  'CSeq: 7 INVITE',
]) as SipResponse;

const lines = (m: SipRequest | SipResponse): string[] => serialize(m).toString('latin1').split('\r\n');

describe('transaction layer messages (pure builders)', () => {
  it('a response copies every Via in order, From, To, Call-ID and CSeq, and adds a To-tag above 100', () => {
    const r = buildResponse(invite, 503, undefined, 'kshedx', [['Retry-After', '5']]);
    expect(lines(r)).toEqual([
      'SIP/2.0 503 Service Unavailable',
      'Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKout1',
      'Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKin1',
      'From: <sip:alice@a.example>;tag=a1',
      'To: <sip:bob@b.example>;tag=kshedx',
      'Call-ID: c1',
      'CSeq: 7 INVITE',
      'Retry-After: 5',
      'Content-Length: 0',
      '',
      '',
    ]);
    expect(buildResponse(invite, 100).to?.tag).toBeUndefined();
    expect(buildResponse(invite, 180).to?.tag).toMatch(/^[A-Za-z0-9]+$/);
    // a To that has a tag keeps it
    expect(buildResponse(busy as unknown as SipRequest, 481, 'Gone', 'zz').headers.get('to')).toBe('<sip:bob@b.example>;tag=b9');
  });

  it('the ACK of a non-2xx has the INVITE’s top Via (same branch), Route set, Request-URI and CSeq number, and the response’s To', () => {
    const ack = buildNon2xxAck(invite, busy);
    expect(lines(ack)).toEqual([
      'ACK sip:bob@192.0.2.20:5080 SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKout1',
      'Route: <sip:p1.example;lr>',
      'Route: <sip:p2.example;lr>',
      'Max-Forwards: 70',
      'From: <sip:alice@a.example>;tag=a1',
      'To: <sip:bob@b.example>;tag=b9',
      'Call-ID: c1',
      'CSeq: 7 ACK',
      'Content-Length: 0',
      '',
      '',
    ]);
  });

  it('a CANCEL has the INVITE’s top Via, Route set, From, To (no tag), Call-ID and CSeq number, and the Reason when given', () => {
    const c = buildCancel(invite, 'SIP;cause=200;text="Call completed elsewhere"');
    expect(c.method).toBe('CANCEL');
    expect(c.uri).toBe('sip:bob@192.0.2.20:5080');
    expect(c.headers.getAll('via')).toEqual(['SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKout1']);
    expect(c.headers.getAll('route')).toEqual(['<sip:p1.example;lr>', '<sip:p2.example;lr>']);
    expect(c.headers.get('to')).toBe('<sip:bob@b.example>');
    expect(c.headers.get('cseq')).toBe('7 CANCEL');
    expect(c.headers.get('reason')).toBe('SIP;cause=200;text="Call completed elsewhere"');
    expect(buildCancel(invite).headers.has('reason')).toBe(false);
    expect(buildCancel(invite, '').headers.has('reason')).toBe(false);
  });

  it('a locally generated failure carries the request’s own Via, From, To, Call-ID and CSeq', () => {
    const f = buildLocalFailure(invite, 408, 'Request Timeout');
    expect(f.status).toBe(408);
    expect(f.reason).toBe('Request Timeout');
    expect(f.headers.getAll('via')).toEqual(['SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKout1']);
    expect(f.headers.get('cseq')).toBe('7 INVITE');
    // it parses back as a response of the same transaction
    const back = parseMessage(serialize(f));
    expect(back.ok && back.msg.isResponse && back.msg.topVia?.branch).toBe('z9hG4bKout1');
  });
});
