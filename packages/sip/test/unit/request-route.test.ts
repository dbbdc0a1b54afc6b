import { describe, expect, it } from 'vitest';
import type { Cdr, ExtensionRecord, Tenant } from '@kumo/domain';
import { silentLogger, type Logger } from '@kumo/runtime';
import type { AuthGuardStore, CallRecordStore, DirectoryRepo, HuntStateStore, LocationStore } from '@kumo/store';
import {
  buildDigestAuthorization,
  computeHa1,
  CallRegistry,
  createInviteRoute,
  parseChallenge,
  type CallIo,
  type InboundInvite,
  type InviteRequest,
  type Leg,
} from '@kumo/sip';

const tenant: Tenant = {
  id: 'acme',
  name: 'Acme',
  sipDomain: 'acme.test',
  status: 'active',
  restrictionLevel: 0,
  notes: '',
  ports: 100,
  trunkChannels: 10,
  callsPerSecond: 10,
  createdAt: '',
  updatedAt: '',
};
const ext = (number: string): ExtensionRecord => ({
  number,
  displayName: `U${number}`,
  permissionClass: 'national',
  callerIdPresentation: 'allowed',
  device: {},
  department: 'sales',
  noAnswerTimeoutSec: 30,
  forwarding: {},
  createdAt: '',
  updatedAt: '',
  ha1Md5: computeHa1('MD5', number, 'acme.test', 'secret-pw'),
  ha1Sha256: computeHa1('SHA-256', number, 'acme.test', 'secret-pw'),
});

const carrierTrunk = { id: 'carrier', gateways: [{ host: '192.0.2.1', port: 5060, transport: 'udp', priority: 1 }], numberFormat: 'national', channelLimit: 1, emergency: false, name: '', createdAt: '', updatedAt: '' };
// A registration-based trunk: Kumo registered `kumo-trunk` to the carrier at 192.0.2.2.
const regTrunk = { ...carrierTrunk, id: 'registered', gateways: [{ host: '192.0.2.2', port: 5060, transport: 'udp', priority: 1 }], registration: { username: 'kumo-trunk', password: 'pw', expiresSec: 3600 } };
const knownDomains = new Map<string, string>();
/** Extensions whose records a caching directory holds (`cachedExtension`; set by a test). */
const cachedExtensions = new Set<string>();
/** While set, domain lookups wait for it (a test looks at what went out before the tenant record is back). */
let tenantGate: Promise<void> | undefined;
const directory = {
  // The carrier's gateway is 192.0.2.1:5060/udp; the tenant's one DID is +81312340002.
  trunksAtSource: (ip: string, port: number, transport: string) =>
    Promise.resolve(
      ip === '192.0.2.1' && transport === 'udp'
        ? [{ tenantId: 'acme', trunk: carrierTrunk, gateway: carrierTrunk.gateways[0], exactPort: port === 5060 }]
        : ip === '192.0.2.2' && transport === 'udp'
          ? [{ tenantId: 'acme', trunk: regTrunk, gateway: regTrunk.gateways[0], exactPort: port === 5060 }]
          : [],
    ),
  tenantById: () => Promise.resolve(tenant),
  tenantByDomain: async (d: string) => {
    await tenantGate;
    return d === 'acme.test' ? tenant : null;
  },
  // What a caching directory remembers of earlier lookups (`knownDomains` is set by a test).
  knownTenantIdOf: (d: string) => knownDomains.get(d),
  cachedExtension: (_t: string, n: string) => (cachedExtensions.has(n) ? Promise.resolve(ext(n)) : undefined),
  did: (_t: string, n: string) => Promise.resolve(['0312340002', '+81312340002'].includes(n) ? { number: '+81312340002', target: { type: 'extension', number: '1002' } } : null),
  extension: (_t: string, n: string) => Promise.resolve(['1001', '1002'].includes(n) ? ext(n) : null),
  numberingPlan: () => Promise.resolve({ extensionLength: 4, outsideLinePrefix: '0', featureCodes: { pickup: '*8', directedPickup: '**' } }),
  trunks: () => Promise.resolve([carrierTrunk, regTrunk]),
  numberKind: (_t: string, n: string) => Promise.resolve(['1001', '1002'].includes(n) ? 'extension' : null),
  ringGroup: () => Promise.resolve(null),
  pickupGroupsOf: () => Promise.resolve([]),
} as unknown as DirectoryRepo;

/** A logger that keeps its info lines. */
function capture(): { log: Logger; lines: { obj: Record<string, unknown>; msg: string }[] } {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  const log = {
    info: (obj: Record<string, unknown>, msg: string) => lines.push({ obj, msg }),
    debug: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    trace: () => undefined,
    child: () => log,
  };
  return { log: log as unknown as Logger, lines };
}

function setup(
  o: { tenantHosts?: { ipHostDomain?: string; domainAliases?: ReadonlyMap<string, string> }; log?: Logger; guard?: Partial<AuthGuardStore>; deps?: Partial<Parameters<typeof createInviteRoute>[0]> } = {},
) {
  const cdrs: Cdr[] = [];
  const route = createInviteRoute({
    ...(o.tenantHosts ? { tenantHosts: o.tenantHosts } : {}),
    log: o.log ?? silentLogger(),
    directory,
    location: { contactsFor: () => Promise.resolve([]), contactsOf: (_t: string, e: readonly string[]) => Promise.resolve(e.map(() => [])) } as unknown as LocationStore,
    hunt: { read: () => Promise.resolve({ busy: new Set(), idleSince: new Map(), lastAnswered: new Map() }) } as unknown as HuntStateStore,
    guard: {
      acceptNonceCount: () => Promise.resolve(true),
      blocked: (s: unknown[]) => Promise.resolve(s.map(() => false)),
      recordFailure: () => Promise.resolve({ count: 1, blocked: false }),
      deviceState: () => Promise.resolve({}),
      authState: () => Promise.resolve({ ip: false, aor: false, pair: false, device: {} }),
      setDeviceState: () => Promise.resolve(),
      trustDevice: () => Promise.resolve(),
      isTrusted: () => Promise.resolve(false),
      ...o.guard,
    } as unknown as AuthGuardStore,
    publishCdr: (c) => {
      cdrs.push(c);
      return Promise.resolve();
    },
    auth: { nonceSecret: 'x'.repeat(32), nonceLifetimeMs: 30_000, algorithms: ['SHA-256', 'MD5'] },
    ...o.deps,
  });
  return { route, cdrs };
}

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

function request(h: Record<string, string>, o: { uri?: string; ip?: string; port?: number; body?: string } = {}): InviteRequest {
  const lower = Object.fromEntries(Object.entries({ 'call-id': 'cid-1', ...h }).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    uri: o.uri ?? 'sip:1002@acme.test',
    source_address: o.ip ?? '127.0.0.1',
    source_port: o.port ?? 5060,
    protocol: 'udp',
    body: o.body ?? SDP,
    get: (n) => lower[n.toLowerCase()],
    has: (n) => n.toLowerCase() in lower,
  };
}

function invite(req: InviteRequest) {
  const sent: { status: number; reason: string; headers?: Readonly<Record<string, string>> }[] = [];
  const inv: InboundInvite = {
    callId: req.get('call-id') ?? '',
    fromTag: /tag=([^;]+)/.exec(req.get('from') ?? '')?.[1] ?? '',
    sdp: req.body,
    ...(req.get('user-agent') !== undefined ? { userAgent: req.get('user-agent') as string } : {}),
    progress: () => undefined,
    answer: () => Promise.reject(new Error('not in this test')),
    reject: (status, reason, headers) => {
      sent.push({ status, reason, ...(headers ? { headers } : {}) });
    },
    onCancel: () => undefined,
  };
  return { inv, sent };
}

const io: CallIo = {
  dial: () => ({ outcome: new Promise(() => undefined), cancel: () => undefined }),
  bridge: (_a: Leg, _b: Leg) => Promise.resolve('caller'),
  now: () => 1000,
  setTimer: () => () => undefined,
};

const from = (user: string, tag = 'ft1') => `<sip:${user}@acme.test>;tag=${tag}`;

function authorized(user: string, h: Record<string, string>, challenge: string, password = 'secret-pw'): Record<string, string> {
  const c = parseChallenge(challenge);
  if (!c) throw new Error('no challenge');
  const auth = buildDigestAuthorization({ algorithm: c.algorithm, username: user, password, realm: c.realm, nonce: c.nonce, method: 'INVITE', uri: 'sip:1002@acme.test', nc: 1, cnonce: 'abc' });
  return { ...h, 'Proxy-Authorization': auth };
}

describe('request route', () => {
  it.each([
    [{ From: from('1001'), To: '<sip:1002@acme.test>', 'Max-Forwards': '0' }, 483],
    [{ From: from('1001'), To: '<sip:1002@acme.test>;tag=x' }, 481],
    [{ From: '<sip:1001@acme.test>', To: '<sip:1002@acme.test>' }, 400],
    [{ From: from('1001', 'a'), To: '<sip:1002@acme.test>' }, 407],
  ])('sanity and challenge: %o → %i', async (h, status) => {
    const { route, cdrs } = setup();
    const req = request(h);
    const { inv, sent } = invite(req);
    await route(req, inv, io);
    expect(sent[0]?.status).toBe(status);
    expect(cdrs).toHaveLength(0);
  });

  it.each([
    ['the tenant it expected', 'acme', 1],
    ['another tenant (a stale hint): read again for the right one', 'gone', 2],
    ['no tenant (first request from the domain)', undefined, 1],
  ])('authentication reads started with the tenant lookup are used for %s', async (_what, known, reads) => {
    if (known !== undefined) knownDomains.set('acme.test', known);
    try {
      const asked: string[] = [];
      const { route, cdrs } = setup({
        guard: {
          // The pair (1001 from 127.0.0.1) is locked in tenant acme only.
          authState: (t: string) => {
            asked.push(t);
            return Promise.resolve({ ip: false, aor: false, pair: t === 'acme', device: {} });
          },
        },
      });
      const req = request({ From: from('1001'), To: '<sip:1002@acme.test>' });
      const { inv, sent } = invite(req);
      await route(req, inv, io);
      expect(sent[0]?.status).toBe(403);
      expect(sent[0]?.headers?.['X-Kumo-Reason']).toBe('auth-blocked');
      expect(asked).toEqual(known === 'gone' ? ['gone', 'acme'] : ['acme']);
      expect(asked).toHaveLength(reads);
      expect(cdrs).toHaveLength(0);
    } finally {
      knownDomains.clear();
    }
  });

  it.each([
    ['held by the process: checked and its nonce count spent before the tenant record is back', true, true, 480],
    ['not held: spent by the authentication step', false, true, 480],
    ['held, the nonce count already used: a replay, challenged again', true, false, 407],
  ])('a right answer, the caller’s secrets %s', async (_what, cached, fresh, status) => {
    knownDomains.set('acme.test', 'acme');
    if (cached) cachedExtensions.add('1001');
    try {
      const spent: string[] = [];
      const h = { From: from('1001'), To: '<sip:1002@acme.test>' };
      const first = setup();
      const c = invite(request(h));
      await first.route(request(h), c.inv, io);
      const challenge = c.sent[0]?.headers?.['Proxy-Authenticate']?.split('\r\n')[0] ?? '';
      const { route, cdrs } = setup({
        guard: {
          acceptNonceCount: (nonce: string) => {
            spent.push(nonce);
            return Promise.resolve(fresh);
          },
        },
      });
      let open!: () => void;
      tenantGate = new Promise<void>((r) => (open = r));
      const req = request(authorized('1001', h, challenge));
      const x = invite(req);
      const routed = route(req, x.inv, io);
      await new Promise((r) => setImmediate(r));
      // Cached: the count went out with the tenant lookup (the same Redis write), not after it.
      expect(spent).toHaveLength(cached ? 1 : 0);
      open();
      await routed;
      expect(spent).toHaveLength(1);
      expect(x.sent[0]?.status).toBe(status);
      expect(cdrs).toHaveLength(status === 480 ? 1 : 0);
    } finally {
      tenantGate = undefined;
      knownDomains.clear();
      cachedExtensions.clear();
    }
  });

  it('the route’s reads go out with the admission decision; the callee is called while the call record is written, the caller answered once it is in', async () => {
    const events: string[] = [];
    let admitted!: () => void;
    let recorded!: () => void;
    const admissionGate = new Promise<void>((r) => (admitted = r));
    const recordGate = new Promise<void>((r) => (recorded = r));
    const h = { From: from('1001'), To: '<sip:1002@acme.test>' };
    const s = await challenged(h);
    const leg = (callId: string): Leg => ({ callId, remoteSdp: SDP, hangup: () => Promise.resolve() });
    const { route, cdrs } = setup({
      deps: {
        location: {
          contactsFor: () => Promise.resolve([]),
          contactsOf: (_t: string, e: readonly string[]) => {
            events.push('routing read');
            return Promise.resolve(e.map((x) => (x === '1002' ? [{ id: 'b', contact: 'sip:1002@127.0.0.1:6000', source: { address: '127.0.0.1', port: 6000, transport: 'udp' }, expiresAt: 9e15, updatedAt: 0 }] : [])));
          },
        } as unknown as LocationStore,
        hunt: {
          read: () => Promise.resolve({ busy: new Set(), idleSince: new Map(), lastAnswered: new Map() }),
          callStarted: () => Promise.resolve(),
          callEnded: () => Promise.resolve(),
          groupAnswered: () => Promise.resolve(),
        } as unknown as HuntStateStore,
        admitCall: async () => {
          events.push('admission');
          await admissionGate;
          return { admit: true, release: () => Promise.resolve() };
        },
        lifecycle: {
          registry: new CallRegistry(),
          records: {
            put: async () => {
              events.push('record write');
              await recordGate;
              events.push('record in');
            },
            answered: () => Promise.resolve(),
            clear: () => Promise.resolve(),
          } as unknown as CallRecordStore,
        },
      },
    });
    const callIo: CallIo = {
      ...io,
      dial: () => {
        events.push('callee called');
        return { outcome: Promise.resolve({ kind: 'answered', leg: leg('b-leg') }), cancel: () => undefined };
      },
    };
    const req = request(authorized('1001', h, s.challenge));
    const x = invite(req);
    const answered = { ...x.inv, answer: () => Promise.resolve(void events.push('caller answered')).then(() => leg('cid-1')) };
    const routed = route(req, answered, callIo);
    const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
    await turn();
    expect(events.sort()).toEqual(['admission', 'routing read']);
    events.length = 0;
    admitted();
    await turn();
    // Called at once; the callee's answer waits for the record.
    expect(events).toEqual(['record write', 'callee called']);
    recorded();
    await routed;
    expect(events).toEqual(['record write', 'callee called', 'record in', 'caller answered']);
    expect(cdrs[0]).toMatchObject({ disposition: 'answered', calleeExtension: '1002' });
  });

  it('unknown source → 403, no CDR', async () => {
    const { route, cdrs } = setup();
    const req = request({ From: '<sip:1001@other.test>;tag=a', To: '<sip:1002@other.test>' }, { uri: 'sip:1002@other.test' });
    const { inv, sent } = invite(req);
    await route(req, inv, io);
    expect(sent[0]?.status).toBe(403);
    expect(cdrs).toHaveLength(0);
  });

  async function challenged(h: Record<string, string>) {
    const { route, cdrs } = setup();
    const first = invite(request(h));
    await route(request(h), first.inv, io);
    const challenge = first.sent[0]?.headers?.['Proxy-Authenticate']?.split('\r\n')[0] ?? '';
    return { route, cdrs, challenge };
  }

  it('a wrong password or a From that is not the authenticated user → 403 without CDR', async () => {
    const h = { From: from('1001'), To: '<sip:1002@acme.test>' };
    let s = await challenged(h);
    let req = request(authorized('1001', h, s.challenge, 'wrong'));
    let x = invite(req);
    await s.route(req, x.inv, io);
    expect(x.sent[0]?.status).toBe(403);
    s = await challenged(h);
    req = request(authorized('1002', h, s.challenge));
    x = invite(req);
    await s.route(req, x.inv, io);
    expect(x.sent[0]).toMatchObject({ status: 403 });
    expect(s.cdrs).toHaveLength(0);
  });

  it('authenticated: unparseable SDP → 488 with a rejected CDR; unknown number → 404 with a CDR', async () => {
    const h = { From: from('1001'), To: '<sip:1002@acme.test>', 'User-Agent': 'phone/1' };
    let s = await challenged(h);
    let req = request(authorized('1001', h, s.challenge), { body: 'garbage' });
    let x = invite(req);
    await s.route(req, x.inv, io);
    expect(x.sent[0]?.status).toBe(488);
    expect(s.cdrs[0]).toMatchObject({ tenantId: 'acme', disposition: 'rejected', rejectionReason: 'bad-sdp', callerExtension: '1001', userAgent: 'phone/1', department: 'sales' });
    s = await challenged(h);
    req = request(authorized('1001', h, s.challenge), { uri: 'sip:1999@acme.test' });
    x = invite(req);
    await s.route(req, x.inv, io);
    expect(x.sent[0]?.status).toBe(404);
    expect(s.cdrs[0]).toMatchObject({ calleeDialled: '1999', rejectionReason: 'not-found', codecs: ['PCMU'] });
  });

  it('authenticated call to an unregistered extension → 480 with a no-answer CDR', async () => {
    const h = { From: from('1001'), To: '<sip:1002@acme.test>' };
    const s = await challenged(h);
    const req = request(authorized('1001', h, s.challenge));
    const x = invite(req);
    await s.route(req, x.inv, io);
    expect(x.sent[0]?.status).toBe(480);
    expect(s.cdrs[0]).toMatchObject({ disposition: 'no-answer', calleeExtension: '1002', direction: 'internal' });
  });

  it.each([
    ['the IP host the README suggests (127.0.0.1)', '127.0.0.1', { ipHostDomain: 'acme.test' }],
    ['an IP host with a port', '127.0.0.1:5060', { ipHostDomain: 'acme.test' }],
    ['an alias of the tenant domain', 'pbx.example.jp', { domainAliases: new Map([['pbx.example.jp', 'acme.test']]) }],
    ['the domain in capitals with a trailing dot', 'ACME.test.', {}],
  ])('a phone using %s as its domain is challenged (407), as the registrar would', async (_n, host, tenantHosts) => {
    const { route } = setup({ tenantHosts });
    const req = request({ From: `<sip:1001@${host}>;tag=a`, To: `<sip:1002@${host}>` }, { uri: `sip:1002@${host}` });
    const { inv, sent } = invite(req);
    await route(req, inv, io);
    expect(sent[0]?.status).toBe(407);
    expect(sent[0]?.headers?.['Proxy-Authenticate']).toContain('realm="acme.test"');
  });

  it('a phone on a carrier gateway’s address (another port) calling an extension is a phone: challenged, not taken for the carrier', async () => {
    const { route, cdrs } = setup();
    const req = request({ From: from('1001'), To: '<sip:1002@acme.test>' }, { ip: '192.0.2.1', port: 5099 });
    const { inv, sent } = invite(req);
    await route(req, inv, io);
    expect(sent[0]?.status).toBe(407);
    expect(cdrs).toHaveLength(0);
  });

  it('a carrier call: from the gateway to a DID (request-URI or To) is inbound, whatever the source port', async () => {
    for (const [port, uri, to] of [
      [5060, 'sip:0312340002@acme.test', '<sip:0312340002@acme.test>'],
      [5099, 'sip:0312340002@acme.test', '<sip:0312340002@acme.test>'],
      [5060, 'sip:kumo@192.0.2.9', '<sip:+81312340002@acme.test>'],
    ] as const) {
      const { route, cdrs } = setup();
      const req = request({ From: '<sip:0901234567@carrier.test>;tag=c', To: to }, { ip: '192.0.2.1', port, uri });
      const { inv, sent } = invite(req);
      await route(req, inv, io);
      // 1002 has no registration: 480, but as an inbound call from the trunk.
      expect(sent[0], `${port} ${uri} ${to}`).toMatchObject({ status: 480 });
      expect(cdrs[0]).toMatchObject({ direction: 'inbound', trunkId: 'carrier', calleeExtension: '1002' });
    }
  });

  it('from the gateway’s own address and port an unknown number is the carrier’s call: 404 with a CDR', async () => {
    const { route, cdrs } = setup();
    const req = request({ From: '<sip:0901234567@carrier.test>;tag=c', To: '<sip:0399999999@acme.test>' }, { ip: '192.0.2.1', port: 5060, uri: 'sip:0399999999@acme.test' });
    const { inv, sent } = invite(req);
    await route(req, inv, io);
    expect(sent[0]?.status).toBe(404);
    expect(cdrs[0]).toMatchObject({ direction: 'inbound', trunkId: 'carrier' });
  });

  it('every refusal says why: Reason (RFC 3326), X-Kumo-Reason, and one info line with tenant, Call-ID, step and reason', async () => {
    const cap = capture();
    const { route } = setup({ log: cap.log });
    let req = request({ From: '<sip:1001@other.test>;tag=a', To: '<sip:1002@other.test>' }, { uri: 'sip:1002@other.test' });
    let x = invite(req);
    await route(req, x.inv, io);
    expect(x.sent[0]).toMatchObject({ status: 403, headers: { Reason: 'SIP;cause=403;text="unknown-source"', 'X-Kumo-Reason': 'unknown-source' } });
    expect(x.sent[0]?.headers?.['Retry-After']).toBeUndefined();
    expect(cap.lines).toEqual([{ obj: { tenant: undefined, callId: 'cid-1', method: 'INVITE', step: 'identifyTenant', status: 403, reason: 'unknown-source' }, msg: 'INVITE refused: 403 unknown-source' }]);

    // A refusal from the call session (nothing registered: 480) and one from authentication (403).
    const h = { From: from('1001'), To: '<sip:1002@acme.test>' };
    const s = await challenged(h);
    const c2 = capture();
    const { route: r2 } = setup({ log: c2.log });
    req = request(authorized('1001', h, s.challenge));
    x = invite(req);
    await r2(req, x.inv, io);
    expect(x.sent[0]).toMatchObject({ status: 480, headers: { Reason: 'SIP;cause=480;text="not-registered"', 'X-Kumo-Reason': 'not-registered' } });
    expect(c2.lines.map((l) => [l.obj.tenant, l.obj.step, l.obj.reason])).toEqual([['acme', 'runCall', 'not-registered']]);
    const c3 = capture();
    const { route: r3 } = setup({ log: c3.log });
    const s3 = await challenged(h);
    req = request(authorized('1001', h, s3.challenge, 'wrong'));
    x = invite(req);
    await r3(req, x.inv, io);
    expect(x.sent[0]?.status).toBe(403);
    expect(x.sent[0]?.headers?.Reason).toMatch(/^SIP;cause=403;text="/);
    // One refusal line; the authentication step also logs the failed digest with its brute-force counts (docs/interop.md).
    expect(c3.lines.filter((l) => l.msg.includes('refused')).map((l) => [l.obj.tenant, l.obj.step])).toEqual([['acme', 'authenticate']]);
    expect(c3.lines.filter((l) => !l.msg.includes('refused')).map((l) => l.msg)).toEqual(['digest authentication failed']);
  });

  it('a challenge (407) is no refusal: no Reason, no log line', async () => {
    const cap = capture();
    const { route } = setup({ log: cap.log });
    const req = request({ From: from('1001'), To: '<sip:1002@acme.test>' });
    const x = invite(req);
    await route(req, x.inv, io);
    expect(x.sent[0]?.status).toBe(407);
    expect(x.sent[0]?.headers?.Reason).toBeUndefined();
    expect(cap.lines).toEqual([]);
  });

  it('a call to the contact Kumo registered for a registration-based trunk is that trunk’s, from any port of its gateway', async () => {
    const { route, cdrs } = setup();
    const req = request({ From: '<sip:0901234567@carrier.test>;tag=c', To: '<sip:+81312340002@acme.test>' }, { ip: '192.0.2.2', port: 5099, uri: 'sip:kumo-trunk@198.51.100.1' });
    const { inv, sent } = invite(req);
    await route(req, inv, io);
    expect(sent[0]?.status).toBe(480);
    expect(cdrs[0]).toMatchObject({ direction: 'inbound', trunkId: 'registered', calleeExtension: '1002' });
    // Even with no DID anywhere and a From naming a tenant domain: the registered contact makes it the carrier's call (no challenge).
    const s2 = setup();
    const req2 = request({ From: '<sip:0901234567@acme.test>;tag=c', To: '<sip:kumo-trunk@198.51.100.1>' }, { ip: '192.0.2.2', port: 5099, uri: 'sip:kumo-trunk@198.51.100.1' });
    const x2 = invite(req2);
    await s2.route(req2, x2.inv, io);
    expect(x2.sent[0]?.status).toBe(404);
    expect(s2.cdrs[0]).toMatchObject({ direction: 'inbound', trunkId: 'registered' });
  });
});
