import { describe, expect, it } from 'vitest';
import { createErrorResponse, createResponse, generateBranch, generateTag, reasonPhrase } from './builders.js';
import { SipRequest, SipResponse } from './message.js';
import { parseMessage } from './parser.js';
import { serialize } from './serialize.js';

const INVITE = Buffer.from(
  'INVITE sip:bob@b.example SIP/2.0\r\n' +
    'v: SIP/2.0/UDP p1.example;branch=z9hG4bKp1\r\n' +
    'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport=5060;received=192.0.2.1\r\n' +
    'Record-Route: <sip:p1.example;lr>\r\n' +
    'f: "Alice" <sip:alice@a.example>;tag=f1\r\n' +
    'To: Bob <sip:bob@b.example>\r\n' +
    'Call-ID: c1@10.0.0.1\r\n' +
    'cseq: 1 INVITE\r\n' +
    'Max-Forwards: 70\r\n' +
    'Content-Length: 0\r\n\r\n',
);

function parse(b: Buffer): SipRequest {
  const r = parseMessage(b);
  if (!r.ok || r.msg.isResponse) throw new Error('bad fixture');
  return r.msg;
}

describe('createResponse', () => {
  it('copies Via/From/To/Call-ID/CSeq as written and adds a To-tag', () => {
    const res = createResponse(parse(INVITE), 180, undefined, { toTag: 'T1' });
    expect(res.reason).toBe('Ringing');
    expect(res.headers.fields().map((f) => `${f.name}: ${f.value}`)).toEqual([
      'v: SIP/2.0/UDP p1.example;branch=z9hG4bKp1',
      'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport=5060;received=192.0.2.1',
      'f: "Alice" <sip:alice@a.example>;tag=f1',
      'To: Bob <sip:bob@b.example>;tag=T1',
      'Call-ID: c1@10.0.0.1',
      'cseq: 1 INVITE',
    ]);
    expect(res.to?.tag).toBe('T1');
    expect(serialize(res).toString()).toMatch(/^SIP\/2\.0 180 Ringing\r\n[\s\S]*Content-Length: 0\r\n\r\n$/);
  });

  it('100 Trying gets no tag; a random tag otherwise; an existing tag is kept', () => {
    const req = parse(INVITE);
    expect(createResponse(req, 100).to?.tag).toBeUndefined();
    expect(createResponse(req, 200).to?.tag).toMatch(/^[A-Za-z0-9_-]{13}$/);
    req.headers.set('To', 'Bob <sip:bob@b.example>;tag=existing');
    expect(createResponse(req, 200, 'OK', { toTag: 'other' }).to?.tag).toBe('existing');
  });

  it('options: Record-Route, extra headers, body', () => {
    const res = createResponse(parse(INVITE), 200, 'OK', {
      copyRecordRoute: true,
      headers: [['Contact', '<sip:bob@10.0.0.2>'], ['Content-Type', 'application/sdp']],
      body: Buffer.from('v=0\r\n'),
    });
    expect(res.recordRoutes?.map((r) => r.uriText)).toEqual(['sip:p1.example;lr']);
    const wire = serialize(res);
    const back = parseMessage(wire);
    expect(back.ok && back.msg.body.toString()).toBe('v=0\r\n');
    expect(back.ok && back.msg.contentLength).toBe(5);
  });
});

describe('createErrorResponse', () => {
  it('answers from a failed parse', () => {
    const bad = Buffer.from(INVITE.toString().replace('cseq: 1 INVITE', 'cseq: 1 BYE'));
    const r = parseMessage(bad);
    if (r.ok) throw new Error('should fail');
    const res = createErrorResponse(r.partial, r.status, r.reason, { toTag: 'e1' });
    expect(res?.status).toBe(400);
    expect(res?.reason).toBe('CSeq method does not match the request method');
    expect(res?.headers.get('to')).toBe('Bob <sip:bob@b.example>;tag=e1');
    expect(res?.vias).toHaveLength(2);
  });
  it('cannot answer without a Via, nor a response', () => {
    const r = parseMessage(Buffer.from('garbage\r\n\r\n'));
    if (r.ok) throw new Error('should fail');
    expect(createErrorResponse(r.partial, 400)).toBeUndefined();
    expect(
      createErrorResponse({ isResponse: true, method: undefined, uri: undefined, status: 200, headers: parse(INVITE).headers }, 400),
    ).toBeUndefined();
  });
});

describe('serialize', () => {
  it('rewrites Content-Length to the byte length of the body', () => {
    const res = new SipResponse(200, 'OK', [['Content-Length', '999'], ['l', '5'], ['X-A', 'b']], Buffer.from('ü', 'utf8'));
    expect(serialize(res).toString('utf8')).toBe('SIP/2.0 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nü');
    const req = new SipRequest('BYE', 'sip:a@b', [['Via', 'SIP/2.0/UDP h;branch=z9hG4bKx']]);
    expect(serialize(req).toString()).toBe('BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nContent-Length: 0\r\n\r\n');
  });
  it('round-trips a parsed message byte for byte when nothing changed', () => {
    expect(serialize(parse(INVITE)).equals(INVITE)).toBe(true);
  });
});

describe('helpers', () => {
  it('reason phrases, tags and branches', () => {
    expect(reasonPhrase(487)).toBe('Request Terminated');
    expect(reasonPhrase(499)).toBe('Client Error');
    expect(generateTag()).not.toBe(generateTag());
    expect(generateBranch()).toMatch(/^z9hG4bK[A-Za-z0-9_-]+$/);
  });
});
