import { describe, expect, it } from 'vitest';
import {
  admitCall,
  DEFAULT_ADMISSION_POLICY as P,
  evaluatePlan,
  floodTrips,
  isAdmissionPlan,
  planAdmission,
  refillBucket,
  restrictionShare,
  trunkLimitFor,
  tenantTrunkLimitFor,
  type AdmissionCounters,
  type AdmissionDecision,
  type AdmissionPolicy,
  type AdmissionRequest,
  type CallPriority,
  type AdmissionDirection,
  type TenantStatus,
  type RestrictionLevel,
} from './policy.js';

const NOW = 1_700_000_000_000;

const C = { ports: 100, callsPerSecond: 10, burst: 20 };
const req = (o: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  status: 'active',
  contract: C,
  direction: 'outbound',
  priority: 'normal',
  trunk: { trunkId: 'tr1', channels: 30 },
  source: 'ext:201',
  restriction: { platform: 0, tenant: 0 },
  sample: 0.3,
  overloaded: false,
  ...o,
});

const counters = (o: Partial<AdmissionCounters> = {}): AdmissionCounters => ({
  activeCalls: 0,
  trunkChannels: 0,
  tenantTrunkChannels: 0,
  flood: { attempts: 0, completions: 0 },
  ...o,
});

/** The part of a decision the tables compare. */
const outcome = (d: AdmissionDecision): string =>
  d.admit ? 'admit' : `${d.status} ${d.reason}${d.retryAfter === undefined ? '' : ` ra=${d.retryAfter}`}`;

const full = counters({
  activeCalls: 100,
  trunkChannels: 30,
  tenantTrunkChannels: 30,
  bucket: { tokens: 0, updatedAt: NOW },
  flood: { attempts: 500, completions: 0, throttledUntil: NOW + 60_000 },
});
const restricted = { platform: 3, tenant: 3 } as const;

describe('admitCall: single rules', () => {
  const cases: [string, Partial<AdmissionRequest>, Partial<AdmissionCounters>, string][] = [
    ['plain outbound call', {}, {}, 'admit'],
    ['plain internal call', { direction: 'internal', trunk: undefined }, {}, 'admit'],
    ['plain inbound call', { direction: 'inbound' }, {}, 'admit'],
    // tenant status
    ['terminated: outbound', { status: 'terminated' }, {}, '403 tenant-terminated'],
    ['terminated: internal', { status: 'terminated', direction: 'internal' }, {}, '403 tenant-terminated'],
    ['terminated: inbound is 404', { status: 'terminated', direction: 'inbound' }, {}, '404 tenant-terminated'],
    ['terminated: emergency too', { status: 'terminated', priority: 'emergency' }, {}, '403 tenant-terminated'],
    ['suspended: outbound', { status: 'suspended' }, {}, '403 tenant-suspended'],
    ['suspended: internal', { status: 'suspended', direction: 'internal' }, {}, '403 tenant-suspended'],
    ['suspended: inbound (operator does not allow)', { status: 'suspended', direction: 'inbound' }, {}, '403 tenant-suspended'],
    ['suspended: priority number', { status: 'suspended', priority: 'priority' }, {}, '403 tenant-suspended'],
    ['suspended: emergency', { status: 'suspended', priority: 'emergency' }, {}, 'admit'],
    // ports
    ['99 of 100 ports busy', {}, { activeCalls: 99 }, 'admit'],
    ['100 of 100 ports busy', {}, { activeCalls: 100 }, '503 port-limit ra=5'],
    ['ports full: inbound too', { direction: 'inbound' }, { activeCalls: 100 }, '503 port-limit ra=5'],
    ['ports full: priority too', { priority: 'priority' }, { activeCalls: 100 }, '503 port-limit ra=5'],
    ['ports full: emergency admitted', { priority: 'emergency' }, { activeCalls: 100 }, 'admit'],
    ['ports over-full: emergency admitted', { priority: 'emergency' }, { activeCalls: 150 }, 'admit'],
    // trunk channels
    ['29 of 30 channels', {}, { trunkChannels: 29 }, 'admit'],
    ['30 of 30 channels', {}, { trunkChannels: 30 }, '503 trunk-channels ra=5'],
    ['trunk full: inbound too', { direction: 'inbound' }, { trunkChannels: 30 }, '503 trunk-channels ra=5'],
    ['trunk full: emergency uses the reserve', { priority: 'emergency' }, { trunkChannels: 30 }, 'admit'],
    ['trunk full + reserve used: emergency refused on this trunk', { priority: 'emergency' }, { trunkChannels: 31 }, '503 trunk-channels ra=5'],
    [
      'per-trunk reserve of 3',
      { priority: 'emergency', trunk: { trunkId: 'tr1', channels: 30, emergencyReserve: 3 } },
      { trunkChannels: 32 },
      'admit',
    ],
    ['no trunk known: channels not checked', { trunk: undefined }, { trunkChannels: 999, tenantTrunkChannels: 999 }, 'admit'],
    // tenant-wide trunk channels (contract)
    ['tenant trunk channels 39 of 40', { contract: { ...C, trunkChannels: 40 } }, { tenantTrunkChannels: 39 }, 'admit'],
    ['tenant trunk channels 40 of 40', { contract: { ...C, trunkChannels: 40 } }, { tenantTrunkChannels: 40 }, '503 trunk-channels ra=5'],
    ['tenant trunk channels full: inbound too', { direction: 'inbound', contract: { ...C, trunkChannels: 40 } }, { tenantTrunkChannels: 40 }, '503 trunk-channels ra=5'],
    ['tenant trunk channels full: emergency uses the reserve', { priority: 'emergency', contract: { ...C, trunkChannels: 40 } }, { tenantTrunkChannels: 40 }, 'admit'],
    ['tenant trunk channels + reserve used: emergency refused', { priority: 'emergency', contract: { ...C, trunkChannels: 40 } }, { tenantTrunkChannels: 41 }, '503 trunk-channels ra=5'],
    ['tenant trunk channels without a trunk: not checked', { trunk: undefined, contract: { ...C, trunkChannels: 40 } }, { tenantTrunkChannels: 99 }, 'admit'],
    ['no tenant-wide limit in the contract', {}, { tenantTrunkChannels: 10_000 }, 'admit'],
    // call rate
    ['bucket with one token', {}, { bucket: { tokens: 1, updatedAt: NOW } }, 'admit'],
    ['bucket empty', {}, { bucket: { tokens: 0, updatedAt: NOW } }, '503 rate-limit ra=1'],
    ['bucket empty, refilled after 100 ms at 10/s', {}, { bucket: { tokens: 0, updatedAt: NOW - 100 } }, 'admit'],
    ['bucket at 0.5, refilled after 40 ms: still short', {}, { bucket: { tokens: 0.5, updatedAt: NOW - 40 } }, '503 rate-limit ra=1'],
    [
      'slow rate: retry-after from the refill time',
      { contract: { ports: 100, callsPerSecond: 0.2, burst: 1 } },
      { bucket: { tokens: 0, updatedAt: NOW } },
      '503 rate-limit ra=5',
    ],
    ['rate cap disabled by contract', { contract: { ports: 100, callsPerSecond: 0, burst: 0 } }, { bucket: { tokens: 0, updatedAt: NOW } }, 'admit'],
    ['inbound calls do not take tokens', { direction: 'inbound' }, { bucket: { tokens: 0, updatedAt: NOW } }, 'admit'],
    ['internal calls take tokens', { direction: 'internal' }, { bucket: { tokens: 0, updatedAt: NOW } }, '503 rate-limit ra=1'],
    ['priority calls take tokens', { priority: 'priority' }, { bucket: { tokens: 0, updatedAt: NOW } }, '503 rate-limit ra=1'],
    ['emergency ignores the bucket', { priority: 'emergency' }, { bucket: { tokens: 0, updatedAt: NOW } }, 'admit'],
    // flood guard
    ['source throttled', {}, { flood: { attempts: 0, completions: 0, throttledUntil: NOW + 10_500 } }, '503 incomplete-call-flood ra=11'],
    ['throttle just ended', {}, { flood: { attempts: 0, completions: 0, throttledUntil: NOW } }, 'admit'],
    ['20 attempts, none complete: not judged yet', {}, { flood: { attempts: 20, completions: 0 } }, 'admit'],
    ['21 attempts, none complete: trips', {}, { flood: { attempts: 21, completions: 0 } }, '503 incomplete-call-flood ra=300'],
    ['21 attempts, 4 complete (19%): trips', {}, { flood: { attempts: 21, completions: 4 } }, '503 incomplete-call-flood ra=300'],
    ['21 attempts, 5 complete (24%): fine', {}, { flood: { attempts: 21, completions: 5 } }, 'admit'],
    ['inbound sources are guarded too', { direction: 'inbound', source: 'trunk:tr1' }, { flood: { attempts: 50, completions: 0 } }, '503 incomplete-call-flood ra=300'],
    ['emergency never throttled', { priority: 'emergency' }, { flood: { attempts: 50, completions: 0, throttledUntil: NOW + 1000 } }, 'admit'],
    // restriction
    ['level 1, sample 0.49 admitted', { restriction: { platform: 1, tenant: 0 }, sample: 0.49 }, {}, 'admit'],
    ['level 1, sample 0.5 refused', { restriction: { platform: 1, tenant: 0 }, sample: 0.5 }, {}, '503 restricted ra=30'],
    ['level 2, sample 0.09 admitted', { restriction: { platform: 0, tenant: 2 }, sample: 0.09 }, {}, 'admit'],
    ['level 2, sample 0.1 refused', { restriction: { platform: 0, tenant: 2 }, sample: 0.1 }, {}, '503 restricted ra=30'],
    ['level 3, sample 0 refused', { restriction: { platform: 3, tenant: 0 }, sample: 0 }, {}, '503 restricted ra=30'],
    ['the stricter of platform and tenant applies', { restriction: { platform: 1, tenant: 3 }, sample: 0 }, {}, '503 restricted ra=30'],
    ['level 3: priority numbers admitted', { restriction: restricted, priority: 'priority' }, {}, 'admit'],
    ['level 3: emergency admitted', { restriction: restricted, priority: 'emergency' }, {}, 'admit'],
    ['level 3: inbound not restricted', { restriction: restricted, direction: 'inbound' }, {}, 'admit'],
    ['level 3: internal not restricted', { restriction: restricted, direction: 'internal', trunk: undefined }, {}, 'admit'],
    // overload
    ['overloaded: outbound refused', { overloaded: true }, {}, '503 overload ra=5'],
    ['overloaded: inbound refused', { overloaded: true, direction: 'inbound' }, {}, '503 overload ra=5'],
    ['overloaded: internal refused', { overloaded: true, direction: 'internal' }, {}, '503 overload ra=5'],
    ['overloaded: priority admitted', { overloaded: true, priority: 'priority' }, {}, 'admit'],
    ['overloaded: emergency admitted', { overloaded: true, priority: 'emergency' }, {}, 'admit'],
  ];
  it.each(cases)('%s', (_name, r, c, want) => {
    expect(outcome(admitCall(req(r), counters(c), NOW))).toBe(want);
  });
});

describe('admitCall: rule precedence (first failing rule wins)', () => {
  const cases: [string, Partial<AdmissionRequest>, Partial<AdmissionCounters>, string][] = [
    ['terminated beats everything', { status: 'terminated', overloaded: true, restriction: restricted }, full, '403 tenant-terminated'],
    ['suspended beats overload, restriction and counters', { status: 'suspended', overloaded: true, restriction: restricted }, full, '403 tenant-suspended'],
    ['overload beats restriction and counters', { overloaded: true, restriction: restricted }, full, '503 overload ra=5'],
    ['restriction beats counters', { restriction: restricted }, full, '503 restricted ra=30'],
    ['flood beats ports', {}, full, '503 incomplete-call-flood ra=60'],
    ['ports beat trunk', {}, { ...full, flood: { attempts: 0, completions: 0 } }, '503 port-limit ra=5'],
    ['trunk beats rate', {}, { ...full, activeCalls: 0, flood: { attempts: 0, completions: 0 } }, '503 trunk-channels ra=5'],
    ['rate last', {}, { ...full, activeCalls: 0, trunkChannels: 0, flood: { attempts: 0, completions: 0 } }, '503 rate-limit ra=1'],
    ['priority under overload + restriction still meets flood guard', { priority: 'priority', overloaded: true, restriction: restricted }, full, '503 incomplete-call-flood ra=60'],
  ];
  it.each(cases)('%s', (_name, r, c, want) => {
    expect(outcome(admitCall(req(r), counters(c), NOW))).toBe(want);
  });
});

describe('admitCall: emergency is admitted under every combination', () => {
  const statuses: TenantStatus[] = ['active', 'suspended'];
  const directions: AdmissionDirection[] = ['outbound', 'internal', 'inbound'];
  const levels: RestrictionLevel[] = [0, 1, 2, 3];
  const combos: [TenantStatus, AdmissionDirection, RestrictionLevel, boolean, boolean][] = [];
  for (const s of statuses)
    for (const d of directions)
      for (const l of levels) for (const o of [false, true]) for (const f of [false, true]) combos.push([s, d, l, o, f]);
  it.each(combos)('status=%s direction=%s level=%s overloaded=%s everything-full=%s', (status, direction, level, overloaded, isFull) => {
    const d = admitCall(
      req({ status, direction, priority: 'emergency', overloaded, restriction: { platform: level, tenant: level }, sample: 0 }),
      // within the trunk reserve: channels = limit
      isFull ? { ...full, trunkChannels: 30 } : counters(),
      NOW,
    );
    expect(d.admit).toBe(true);
    if (d.admit) {
      expect(d.lease).toEqual({ port: true, trunkId: 'tr1', token: false });
      expect(d.priority).toBe('emergency');
    }
  });
});

describe('admitCall: what is leased', () => {
  it('a normal outbound call takes a port, the trunk, a token and a flood attempt', () => {
    const d = admitCall(req(), counters({ bucket: { tokens: 5, updatedAt: NOW - 1000 } }), NOW);
    expect(d).toEqual({
      admit: true,
      priority: 'normal',
      lease: { port: true, trunkId: 'tr1', token: true, bucket: { tokens: 14, updatedAt: NOW }, floodSource: 'ext:201' },
    });
  });
  it('a fresh bucket starts full', () => {
    const d = admitCall(req({ direction: 'internal', trunk: undefined }), counters(), NOW);
    expect(d.admit && d.lease).toEqual({ port: true, token: true, bucket: { tokens: 19, updatedAt: NOW }, floodSource: 'ext:201' });
  });
  it('an inbound call takes no token', () => {
    const d = admitCall(req({ direction: 'inbound', source: 'trunk:tr1' }), counters(), NOW);
    expect(d.admit && d.lease).toEqual({ port: true, trunkId: 'tr1', token: false, floodSource: 'trunk:tr1' });
  });
  it('a flood trip reports the source and the end of the cooling time', () => {
    const d = admitCall(req(), counters({ flood: { attempts: 30, completions: 1 } }), NOW);
    expect(d).toMatchObject({ admit: false, reason: 'incomplete-call-flood', floodTripped: { source: 'ext:201', until: NOW + 300_000 } });
  });
  it('a throttled (not newly tripped) source carries no trip', () => {
    const d = admitCall(req(), counters({ flood: { attempts: 30, completions: 1, throttledUntil: NOW + 5 } }), NOW);
    expect(d.admit === false && d.floodTripped).toBeUndefined();
  });
});

describe('admitCall: operator settings', () => {
  const policy = (o: Partial<AdmissionPolicy>): AdmissionPolicy => ({ ...P, ...o });
  const cases: [string, AdmissionPolicy, Partial<AdmissionRequest>, Partial<AdmissionCounters>, string][] = [
    ['suspended tenant receives inbound when enabled', policy({ suspendedAllowsInbound: true }), { status: 'suspended', direction: 'inbound' }, {}, 'admit'],
    ['…but still within its ports', policy({ suspendedAllowsInbound: true }), { status: 'suspended', direction: 'inbound' }, { activeCalls: 100 }, '503 port-limit ra=5'],
    ['…and makes no outbound calls', policy({ suspendedAllowsInbound: true }), { status: 'suspended' }, {}, '403 tenant-suspended'],
    ['flood guard answers 403 when configured', policy({ flood: { ...P.flood, rejectStatus: 403 } }), {}, { flood: { attempts: 99, completions: 0 } }, '403 incomplete-call-flood ra=300'],
    ['emergency reserve 0: full trunk refuses emergency', policy({ emergencyTrunkReserve: 0 }), { priority: 'emergency' }, { trunkChannels: 30 }, '503 trunk-channels ra=5'],
    ['custom restriction shares', policy({ restrictionShares: [0.8, 0.5, 0.2] }), { restriction: { platform: 3, tenant: 0 }, sample: 0.19 }, {}, 'admit'],
    ['custom retry-after', policy({ retryAfterSeconds: { ...P.retryAfterSeconds, portLimit: 42 } }), {}, { activeCalls: 100 }, '503 port-limit ra=42'],
  ];
  it.each(cases)('%s', (_name, pol, r, c, want) => {
    expect(outcome(admitCall(req(r), counters(c), NOW, pol))).toBe(want);
  });
});

describe('helpers', () => {
  it('restriction shares are 100/50/10/0 %', () => {
    expect([0, 1, 2, 3].map((l) => restrictionShare(l as RestrictionLevel, P))).toEqual([1, 0.5, 0.1, 0]);
  });
  it('a bucket never refills above its burst and ignores clocks going backwards', () => {
    expect(refillBucket({ tokens: 3, updatedAt: NOW - 60_000 }, { perSecond: 10, burst: 20 }, NOW)).toEqual({ tokens: 20, updatedAt: NOW });
    expect(refillBucket({ tokens: 3, updatedAt: NOW + 500 }, { perSecond: 10, burst: 20 }, NOW)).toEqual({ tokens: 3, updatedAt: NOW + 500 });
  });
  it('flood trip needs both more than N attempts and a low ratio', () => {
    const s = P.flood;
    expect(floodTrips({ attempts: 21, completions: 4 }, s)).toBe(true);
    expect(floodTrips({ attempts: 21, completions: 5 }, s)).toBe(false);
    expect(floodTrips({ attempts: 20, completions: 0 }, s)).toBe(false);
  });
  it('tenantTrunkLimitFor adds the reserve for emergency calls only', () => {
    expect(tenantTrunkLimitFor({ ...C, trunkChannels: 40 }, 'emergency', P)).toBe(41);
    expect(tenantTrunkLimitFor({ ...C, trunkChannels: 40 }, 'priority', P)).toBe(40);
    expect(tenantTrunkLimitFor(C, 'emergency', P)).toBeNull();
  });
  it('trunkLimitFor adds the reserve for emergency calls only', () => {
    const priorities: [CallPriority, number][] = [['emergency', 31], ['priority', 30], ['normal', 30]];
    for (const [p, want] of priorities) expect(trunkLimitFor({ trunkId: 'x', channels: 30 }, p, P)).toBe(want);
    expect(trunkLimitFor({ trunkId: 'x', channels: 30, emergencyReserve: 2 }, 'emergency', P)).toBe(32);
  });
  it('planAdmission + evaluatePlan compose to admitCall', () => {
    const p = planAdmission(req(), P);
    expect(isAdmissionPlan(p)).toBe(true);
    if (isAdmissionPlan(p)) expect(evaluatePlan(p, counters(), NOW)).toEqual(admitCall(req(), counters(), NOW));
  });
});
