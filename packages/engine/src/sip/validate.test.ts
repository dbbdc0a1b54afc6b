import { describe, expect, it } from 'vitest';
import { SipRequest } from './message.js';
import { validateRequest, type ValidationPolicy } from './validate.js';

function req(method: string, uri: string, extra: Array<[string, string]> = [], body = ''): SipRequest {
  return new SipRequest(
    method,
    uri,
    [
      ['Via', 'SIP/2.0/UDP h;branch=z9hG4bK1'],
      ['From', '<sip:a@a>;tag=1'],
      ['To', '<sip:b@b>'],
      ['Call-ID', 'x'],
      ['CSeq', `1 ${method}`],
      ...extra,
    ],
    Buffer.from(body),
  );
}

describe('validateRequest', () => {
  it.each<[string, SipRequest, ValidationPolicy, number, Array<[string, string]>?]>([
    ['plain OPTIONS', req('OPTIONS', 'sip:b@b'), {}, 0],
    ['tel URI', req('INVITE', 'tel:+123'), {}, 0],
    ['http URI', req('OPTIONS', 'http://x'), {}, 416],
    ['scheme allowed by policy', req('OPTIONS', 'urn:x'), { uriSchemes: ['urn'] }, 0],
    ['URI headers', req('INVITE', 'sip:b@b?Subject=x'), {}, 400],
    ['Require unknown', req('INVITE', 'sip:b@b', [['Require', 'foo, timer']]), { supported: ['Timer'] }, 420, [['Unsupported', 'foo']]],
    ['Require known', req('INVITE', 'sip:b@b', [['Require', 'timer']]), { supported: ['timer'] }, 0],
    ['Require ignored on ACK', req('ACK', 'sip:b@b', [['Require', 'foo']]), {}, 0],
    ['Require ignored on CANCEL', req('CANCEL', 'sip:b@b', [['Require', 'foo']]), {}, 0],
    ['body type', req('INVITE', 'sip:b@b', [['Content-Type', 'application/xml']], '<x/>'), {}, 415, [['Accept', 'application/sdp, multipart/mixed, multipart/alternative, multipart/related']]],
    ['body type with params', req('INVITE', 'sip:b@b', [['c', 'Application/SDP; charset=x']], 'v=0'), {}, 0],
    ['any body type', req('INVITE', 'sip:b@b', [['Content-Type', 'application/xml']], '<x/>'), { acceptContentTypes: '*' }, 0],
    ['INFO bodies are the app’s business', req('INFO', 'sip:b@b', [['Content-Type', 'application/dtmf-relay']], 'Signal=1'), {}, 0],
    ['body without type', req('MESSAGE', 'sip:b@b', [], 'hi'), {}, 400],
    ['content encoding', req('INVITE', 'sip:b@b', [['Content-Type', 'application/sdp'], ['e', 'gzip']], 'x'), {}, 415, [['Accept-Encoding', 'identity']]],
    ['Accept without sdp', req('INVITE', 'sip:b@b', [['Accept', 'text/nobody']]), { answerContentTypes: ['application/sdp'] }, 406],
    ['Accept with wildcard', req('INVITE', 'sip:b@b', [['Accept', 'application/*']]), { answerContentTypes: ['application/sdp'] }, 0],
    ['Accept unchecked by default', req('INVITE', 'sip:b@b', [['Accept', 'text/nobody']]), {}, 0],
    ['Max-Forwards 0 forwarded', req('INVITE', 'sip:b@b', [['Max-Forwards', '0']]), { forwarding: true }, 483],
    ['Max-Forwards 0 local', req('OPTIONS', 'sip:b@b', [['Max-Forwards', '0']]), {}, 0],
    ['Contact *', req('REGISTER', 'sip:b', [['Contact', '*'], ['Expires', '0']]), {}, 0],
    ['Contact * with Expires', req('REGISTER', 'sip:b', [['Contact', '*'], ['Expires', '60']]), {}, 400],
    ['Contact * in INVITE', req('INVITE', 'sip:b', [['m', '*']]), {}, 400],
    ['Contact * among others', req('REGISTER', 'sip:b', [['m', '*, <sip:a@b>'], ['Expires', '0']]), {}, 400],
    ['bad Contact', req('INVITE', 'sip:b', [['Contact', '<sip:a@b']]), {}, 400],
    ['bad Route', req('INVITE', 'sip:b', [['Route', 'sip:a@b?x=y']]), {}, 400],
    ['bad Record-Route', req('INVITE', 'sip:b', [['Record-Route', '<>']]), {}, 400],
    ['bad Expires', req('REGISTER', 'sip:b', [['Expires', 'soon']]), {}, 400],
    ['good Date', req('INVITE', 'sip:b', [['Date', 'Sat, 13 Nov 2010 23:29:00 GMT']]), {}, 0],
    ['bad Date', req('INVITE', 'sip:b', [['Date', 'Fri, 01 Jan 2010 16:00:00 EST']]), {}, 400],
  ])('%s', (_n, r, policy, status, headers) => {
    const v = validateRequest(r, policy);
    if (status === 0) expect(v).toEqual({ ok: true });
    else {
      expect(v.ok).toBe(false);
      if (!v.ok) {
        expect(v.status).toBe(status);
        if (headers !== undefined) expect(v.headers).toEqual(headers);
      }
    }
  });
});
