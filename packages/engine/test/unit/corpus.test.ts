import { describe, expect, it } from 'vitest';
import {
  StreamFramer,
  createErrorResponse,
  createResponse,
  parseMessage,
  validateRequest,
  type ValidationPolicy,
} from '../../src/index.js';
import { loadCorpora } from './corpora.js';

/** Verdicts from test/corpora/README.md (RFC 4475 §3 and RFC 5118). */
type Verdict =
  | { kind: 'accept' }
  | { kind: 'status'; status: number; header?: [string, RegExp] }
  | { kind: 'drop' }
  | { kind: 'accept-or-400' };

const A: Verdict = { kind: 'accept' };
const R400: Verdict = { kind: 'status', status: 400 };
const DROP: Verdict = { kind: 'drop' };

const RFC4475: Record<string, Verdict> = {
  wsinv: A, intmeth: A, esc01: A, escnull: A, esc02: A, lwsdisp: A, longreq: A, dblreq: A, semiuri: A,
  transports: A, mpart01: A, unreason: A, noreason: A, unksm2: A, cparam01: A, cparam02: A, regescrt: A, inv2543: A,
  badinv01: R400, clerr: R400, ncl: R400, scalar02: R400, quotbal: R400, ltgtruri: R400, lwsruri: R400,
  lwsstart: R400, trws: R400, escruri: R400, baddate: R400, regbadct: R400, badaspec: R400, baddn: R400,
  mismatch01: R400, mismatch02: R400, insuf: R400, multi01: R400, mcl01: R400,
  badvers: { kind: 'status', status: 505 },
  unkscm: { kind: 'status', status: 416 },
  novelsc: { kind: 'status', status: 416 },
  bext01: { kind: 'status', status: 420, header: ['Unsupported', /nothingSupportsThis, nothingSupportsThisEither/] },
  invut: { kind: 'status', status: 415, header: ['Accept', /application\/sdp/] },
  // The app challenges (401): the engine must parse and accept it and hand it over.
  regaut01: A,
  sdp01: { kind: 'status', status: 406 },
  zeromf: { kind: 'status', status: 483 },
  scalarlg: DROP, bigcode: DROP, bcast: DROP,
  badbranch: { kind: 'accept-or-400' },
};

const RFC5118: Record<string, Verdict> = {
  'ipv6-bad': R400,
  'ipv6-bug-abnf-3-colons': R400,
  'ipv4-mapped-ipv6': A, 'ipv6-correct-abnf-2-colons': A, 'ipv6-good': A, 'ipv6-in-sdp': A, 'mult-ip-in-header': A,
  'mult-ip-in-sdp': A, 'port-ambiguous': A, 'port-unambiguous': A, 'via-received-param-no-delim': A,
  'via-received-param-with-delim': A,
};

/** Per-file policy: what the engine would apply in that situation. */
function policyFor(name: string): ValidationPolicy {
  if (name === 'zeromf') return { forwarding: true };
  // The engine/app would answer an INVITE with SDP: an Accept without it is not acceptable.
  if (name === 'sdp01') return { answerContentTypes: ['application/sdp'] };
  return {};
}

/**
 * The status the engine would answer with: 0 = accepted (a response is accepted and then handed to transaction
 * matching, which drops it when it matches nothing); -1 = dropped at parse (a malformed response).
 */
function judge(name: string, data: Buffer): { status: number; response: boolean; headers: Array<[string, string]> } {
  const r = parseMessage(data);
  if (!r.ok) {
    if (r.isResponse) return { status: -1, response: true, headers: [] };
    return { status: r.status, response: false, headers: [] };
  }
  if (r.msg.isResponse) return { status: 0, response: true, headers: [] };
  const v = validateRequest(r.msg, policyFor(name));
  return v.ok ? { status: 0, response: false, headers: [] } : { status: v.status, response: false, headers: v.headers };
}

const files = loadCorpora();

/** Why each 400 is given: the rejection must come from the defect the RFC planted, not from something else. */
const REASON_400: Record<string, RegExp> = {
  badaspec: /To/, baddate: /Date/, baddn: /From/, badinv01: /Via/, clerr: /Content-Length/, escruri: /Request-URI/,
  insuf: /Missing/, ltgtruri: /Request-URI/, lwsruri: /request line/, lwsstart: /request line/,
  mcl01: /Multiple Content-Length/, mismatch01: /CSeq method/, mismatch02: /CSeq method/, multi01: /Multiple/,
  ncl: /Content-Length/, quotbal: /To/, regbadct: /Contact/, scalar02: /CSeq/, trws: /request line/,
  'ipv6-bad': /Request-URI/, 'ipv6-bug-abnf-3-colons': /Request-URI/,
};

function reasonOf(name: string, data: Buffer): string {
  const r = parseMessage(data);
  if (!r.ok) return r.reason;
  if (r.msg.isResponse) return '';
  const v = validateRequest(r.msg, policyFor(name));
  return v.ok ? '' : v.reason;
}

describe('SIP torture corpora', () => {
  it('has every file of both corpora, each with a verdict', () => {
    const n4475 = files.filter((f) => f.set === 'rfc4475');
    const n5118 = files.filter((f) => f.set === 'rfc5118');
    expect(n4475).toHaveLength(49);
    expect(n5118).toHaveLength(12);
    for (const f of n4475) expect(RFC4475[f.name], f.name).toBeDefined();
    for (const f of n5118) expect(RFC5118[f.name], f.name).toBeDefined();
  });

  for (const f of files) {
    const verdict = (f.set === 'rfc4475' ? RFC4475 : RFC5118)[f.name];
    it(`${f.set}/${f.name} → ${JSON.stringify(verdict?.kind === 'status' ? verdict.status : verdict?.kind)}`, () => {
      expect(verdict).toBeDefined();
      const got = judge(f.name, f.data);
      switch (verdict!.kind) {
        case 'accept':
          expect(got.status).toBe(0);
          break;
        case 'drop':
          // Never answered: malformed (scalarlg, bigcode) or matching no transaction of ours (bcast).
          expect(got.response).toBe(true);
          if (f.name !== 'bcast') expect(got.status).toBe(-1);
          break;
        case 'accept-or-400':
          expect([0, 400]).toContain(got.status);
          break;
        case 'status': {
          expect(got.status).toBe(verdict!.status);
          if (verdict!.status === 400) expect(reasonOf(f.name, f.data)).toMatch(REASON_400[f.name]!);
          if (verdict!.header !== undefined) {
            const [name, re] = verdict!.header;
            const h = got.headers.find(([n]) => n === name);
            expect(h?.[1]).toMatch(re);
          }
          // A rejected request can always be answered: the response copies what was legible.
          const r = parseMessage(f.data);
          const res = r.ok
            ? r.msg.isResponse
              ? undefined
              : createResponse(r.msg, verdict!.status)
            : createErrorResponse(r.partial, r.status, r.reason);
          expect(res, 'an error response can be built').toBeDefined();
          expect(res!.headers.has('via')).toBe(true);
          break;
        }
      }
    });
  }
});

describe('corpus details', () => {
  const get = (name: string) => {
    const f = files.find((x) => x.name === name)!;
    const r = parseMessage(f.data);
    if (!r.ok) throw new Error(`${name}: ${r.reason}`);
    return r.msg;
  };

  it('wsinv: folding, LWS in Via, compact headers, quoted display names', () => {
    const m = get('wsinv');
    expect(m.isResponse).toBe(false);
    expect(m.vias?.map((v) => [v.transport, v.host, v.branch])).toEqual([
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    expect(m.from?.displayName).toBe('J Rosenberg \\"');
    expect(m.from?.tag).toBe('98asjd8');
    expect(m.to?.tag).toBe('1918181833n');
    expect(m.cseq).toEqual({ seq: 9, method: 'INVITE' });
    expect(m.maxForwards).toBe(68);
    expect(m.headers.get('NewFangledHeader')).toBe('newfangled value continued newfangled value');
    expect(m.headers.get('s')).toBe('');
    const c = m.contact;
    expect(c?.star).toBe(false);
    expect(c?.contacts[0]?.displayName).toBe('Quoted string ""');
    expect(c?.contacts[0]?.params.q).toBe('0.33');
    expect(m.body.length).toBe(150);
    expect(m.routes?.[0]?.uri).toMatchObject({ kind: 'sip', host: 'services.example.com' });
  });

  it('dblreq: octets past Content-Length are ignored', () => {
    const m = get('dblreq');
    expect(m.isResponse ? '' : m.method).toBe('REGISTER');
    expect(m.body.length).toBe(0);
    expect(m.raw!.toString('latin1').endsWith('Content-Length: 0\r\n\r\n')).toBe(true);
  });

  it('dblreq over a stream: two messages, framed by Content-Length', () => {
    const f = files.find((x) => x.name === 'dblreq')!;
    const items = new StreamFramer().push(f.data);
    const methods = items.map((i) =>
      i.type === 'message' ? (i.result.ok && !i.result.msg.isResponse ? i.result.msg.method : 'bad') : i.type,
    );
    // The file ends with a few octets past the INVITE's Content-Length: on a stream they are the start of a next
    // message, which has no Content-Length and ends the connection.
    expect(methods.filter((m) => m !== 'keepalive')).toEqual(['REGISTER', 'INVITE', 'error']);
  });

  it('every corpus message that parses frames identically over a stream, split anywhere', () => {
    for (const f of files) {
      const r = parseMessage(f.data);
      if (!r.ok || r.msg.contentLength === undefined || f.name === 'dblreq') continue;
      const one = r.msg.raw!;
      for (const cut of [1, Math.floor(one.length / 2), one.length - 1]) {
        const fr = new StreamFramer();
        const items = [...fr.push(one.subarray(0, cut)), ...fr.push(one.subarray(cut))];
        expect(items, f.name).toHaveLength(1);
        const it0 = items[0]!;
        expect(it0.type === 'message' && it0.data.equals(one), f.name).toBe(true);
      }
    }
  });

  it('mpart01: binary body is byte exact', () => {
    const m = get('mpart01');
    expect(m.body.length).toBe(553);
    expect(m.contentType).toBe('multipart/mixed');
  });

  it('esc01 / escnull: escaped URIs', () => {
    const m = get('esc01');
    expect(m.isResponse).toBe(false);
    if (!m.isResponse) expect(m.requestUri).toMatchObject({ kind: 'sip', user: 'sips%3Auser%40example.com', host: 'example.net' });
    const c = m.contact?.contacts[0]?.uri;
    expect(c?.kind === 'sip' ? c.params.lr : 'x').toBeNull();
    expect(get('escnull').contact?.contacts).toHaveLength(2);
  });

  it('intmeth: unusual method, URI user and password', () => {
    const m = get('intmeth');
    if (m.isResponse) throw new Error('request expected');
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    const u = m.requestUri;
    expect(u?.kind).toBe('sip');
    if (u?.kind === 'sip') {
      expect(u.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
      expect(u.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
      expect(u.host).toBe('example.com');
    }
    expect(m.from?.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(m.headers.get("extensionHeader-!.%*+_`'~")).toBe('\uFEFF大停電'); // the BOM is part of the value: only SP/HTAB are trimmed
  });

  it('esc02: C%6Fntact is another header, not Contact', () => {
    const m = get('esc02');
    expect(m.contact?.contacts).toHaveLength(2);
    expect(m.headers.get('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
  });

  it('longreq: many Vias in every spelling', () => {
    const m = get('longreq');
    expect(m.vias?.length).toBeGreaterThan(30);
  });

  it('regescrt: Contact URI headers are stored, not applied', () => {
    const m = get('regescrt');
    const u = m.contact?.contacts[0]?.uri;
    expect(u?.kind === 'sip' ? u.headers : []).toEqual([['Route', '%3Csip:sip.example.com%3E']]);
    expect(m.routes).toEqual([]);
  });

  it('unreason / noreason: reason phrases', () => {
    const u = get('unreason');
    expect(u.isResponse && u.status).toBe(200);
    expect(u.isResponse && u.reason.startsWith('= 2**3 * 5**2 но')).toBe(true);
    const n = get('noreason');
    expect(n.isResponse && n.reason).toBe('');
  });

  it('rfc5118: IPv6 references and received', () => {
    const m = get('via-received-param-no-delim');
    expect(m.topVia?.received).toBe('2001:db8::9:255');
    expect(get('via-received-param-with-delim').topVia?.received).toBe('[2001:db8::9:255]');
    const p = get('port-ambiguous');
    if (!p.isResponse) expect(p.requestUri).toMatchObject({ host: '[2001:db8::10:5070]', port: undefined });
    const q = get('port-unambiguous');
    if (!q.isResponse) expect(q.requestUri).toMatchObject({ host: '[2001:db8::10]', port: 5070 });
    const h = get('mult-ip-in-header');
    expect(h.vias?.map((v) => [v.host, v.port])).toEqual([
      ['[2001:db8::9:1]', 6050],
      ['192.0.2.1', undefined],
      ['[2001:db8::9:255]', undefined],
    ]);
  });

  it('badvers: 505 with the headers needed to answer', () => {
    const f = files.find((x) => x.name === 'badvers')!;
    const r = parseMessage(f.data);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.status).toBe(505);
      expect(r.partial.headers.get('call-id')).toBe('badvers.31417@c.example.com');
      const res = createErrorResponse(r.partial, 505);
      expect(res?.headers.get('to')).toMatch(/;tag=/);
    }
  });
});
