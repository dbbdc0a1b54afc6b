import { describe, expect, it } from 'vitest';
import {
  onAttemptFailed,
  orderMembers,
  internalTarget,
  planRoute,
  referencedNumbers,
  type ContactView,
  type DidTarget,
  type ExtensionView,
  type HuntStateView,
  type Next,
  type RingGroupView,
  type RingStep,
  type RoutePlan,
  type TenantRoutingView,
  type TrunkStep,
  type TrunkView,
} from '../index.js';

const contact = (ext: string, n = 1): ContactView => ({
  uri: `sip:${ext}@10.0.0.${n}:5060`,
  source: { address: `127.0.0.${n}`, port: 5060 + n, transport: 'udp' },
});

function tenant(over: Partial<TenantRoutingView> = {}, exts: ExtensionView[] = [], groups: RingGroupView[] = []): TenantRoutingView {
  const baseExts: ExtensionView[] = [
    { number: '1001', displayName: 'Sato', outboundCallerId: '+81312340001', permissionClass: 'mobile' },
    { number: '1002', displayName: 'Suzuki', permissionClass: 'mobile' },
    { number: '1003', displayName: 'Takahashi' },
    { number: '1004', displayName: 'Tanaka', permissionClass: 'international' },
    { number: '1005', displayName: 'Ito', permissionClass: 'internal' },
    { number: '1006', displayName: 'Watanabe', permissionClass: 'national', callerIdPresentation: 'restricted' },
  ];
  const gw = (port: number, priority: number) => ({ host: '127.0.0.1', port, transport: 'udp' as const, priority });
  const trunks: TrunkView[] = [
    { id: 'carrier', numberFormat: 'national', callerId: '+81312340000', gateways: [gw(5082, 20), gw(5081, 10), gw(5083, 20)] },
    { id: 'sos', numberFormat: 'e164', roles: ['emergency'], callerId: '+81312340000', gateways: [gw(5090, 1)] },
  ];
  const byNumber = new Map<string, ExtensionView>();
  for (const e of [...baseExts, ...exts]) byNumber.set(e.number, e);
  return {
    id: 'acme',
    extensions: byNumber,
    groups: new Map(groups.map((g) => [g.number, g])),
    pickupGroups: [
      { id: 'sales', members: ['1001', '1002', '1003'] },
      { id: 'desk', members: ['1001', '1006'] },
    ],
    trunks,
    dids: new Map<string, DidTarget>([
      ['+81312340001', { type: 'extension', number: '1001' }],
      ['+81312340000', { type: 'ringGroup', number: '200' }],
      ['+81312340009', { type: 'extension', number: '9999' }],
    ]),
    ...over,
  };
}

const regs = (...exts: [string, number][]): Map<string, ContactView[]> => {
  const m = new Map<string, ContactView[]>();
  for (const [e, n] of exts) m.set(e, Array.from({ length: n }, (_, i) => contact(e, i + 1)));
  return m;
};
const ALL = regs(['1001', 2], ['1002', 1], ['1003', 1], ['1004', 1], ['1005', 1], ['1006', 1]);
const me = { kind: 'extension', extension: '1001' } as const;

const first = (p: RoutePlan) => {
  if (!('goto' in p.start)) throw new Error(`plan stops: ${JSON.stringify(p.start)}`);
  return p.steps[p.start.goto]!;
};
const stopOf = (n: Next) => ('stop' in n ? n.stop : undefined);
const target = (n: Next) => ('goto' in n ? n.goto : undefined);

describe('planRoute: extension calls', () => {
  it('rings every registered device of the callee together', () => {
    const p = planRoute('1002', { kind: 'extension', extension: '1001' }, tenant(), regs(['1002', 3]));
    const s = first(p) as RingStep;
    expect(p.direction).toBe('internal');
    expect(s.kind).toBe('ring');
    expect(s.targets.map((t) => t.contact.source?.address)).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    expect(s.timeoutSec).toBe(30);
    expect(p.caller).toMatchObject({ user: '1001', displayName: 'Sato', extension: '1001' });
    expect(p.callee).toEqual({ dialled: '1002', kind: 'extension', extension: '1002' });
    expect(stopOf(s.on.busy)?.status).toBe(486);
    expect(stopOf(s.on['no-answer'])?.status).toBe(480);
  });

  it('gives 480 when nothing is registered', () => {
    const p = planRoute('1002', me, tenant(), new Map());
    expect(stopOf(p.start)).toMatchObject({ status: 480, code: 'not-registered', rejected: false });
  });

  it('gives 404 for unknown numbers and 484 for incomplete ones', () => {
    expect(stopOf(planRoute('1999', me, tenant(), ALL).start)).toMatchObject({ status: 404, code: 'not-found', rejected: true });
    expect(stopOf(planRoute('003123', me, tenant(), ALL).start)).toMatchObject({ status: 484 });
    expect(stopOf(planRoute('abc', me, tenant(), ALL).start)).toMatchObject({ status: 404 });
  });

  it('refuses callers that are not extensions of the tenant', () => {
    expect(stopOf(planRoute('1002', { kind: 'extension', extension: '7777' }, tenant(), ALL).start)?.status).toBe(403);
  });

  it('uses the per-extension no-answer timeout', () => {
    const t = tenant({}, [{ number: '1002', noAnswerTimeoutSec: 12 }]);
    expect((first(planRoute('1002', me, t, ALL)) as RingStep).timeoutSec).toBe(12);
  });

  it('follows unconditional forwarding to an extension without ringing the first', () => {
    const t = tenant({}, [{ number: '1002', forwarding: { unconditional: '1003' } }]);
    const s = first(planRoute('1002', me, t, ALL)) as RingStep;
    expect(s.extension).toBe('1003');
    expect(s.forwardedFrom).toBe('1002');
  });

  it('forwards on busy and on no-answer to different targets', () => {
    const t = tenant({}, [{ number: '1002', forwarding: { busy: '1003', noAnswer: '00312345678' } }]);
    const p = planRoute('1002', me, t, ALL);
    const s = first(p) as RingStep;
    const busy = p.steps[target(s.on.busy)!] as RingStep;
    expect(busy.extension).toBe('1003');
    const na = p.steps[target(s.on['no-answer'])!] as TrunkStep;
    expect(na.kind).toBe('trunk');
    expect(na.number).toBe('0312345678');
    expect(na.forwardedFrom).toBe('1002');
    expect(target(s.on.unavailable)).toBe(na.index);
  });

  it('forwards at once on no-answer when nothing is registered', () => {
    const t = tenant({}, [{ number: '1002', forwarding: { noAnswer: '1003' } }]);
    const s = first(planRoute('1002', me, t, regs(['1003', 1]))) as RingStep;
    expect(s.extension).toBe('1003');
  });

  it('forwards unconditionally to a group', () => {
    const t = tenant({}, [{ number: '1002', forwarding: { unconditional: '200' } }], [
      { number: '200', strategy: 'ring-all', totalTimeoutSec: 30, members: [{ extension: '1003', timeoutSec: 10 }, { extension: '1004', timeoutSec: 10 }] },
    ]);
    const s = first(planRoute('1002', me, t, ALL)) as RingStep;
    expect(s.group).toBe('200');
    expect(s.targets.map((x) => x.extension)).toEqual(['1003', '1004']);
  });

  it('ignores forwarding loops', () => {
    const t = tenant({}, [
      { number: '1002', forwarding: { unconditional: '1003' } },
      { number: '1003', forwarding: { unconditional: '1002' } },
    ]);
    const p = planRoute('1002', me, t, ALL);
    const s = first(p) as RingStep;
    expect(s.extension).toBe('1003');
    expect(p.notes.join()).toMatch(/loop/);
  });

  it('a busy-forward chain back to the start ends busy', () => {
    const t = tenant({}, [
      { number: '1002', forwarding: { busy: '1003' } },
      { number: '1003', forwarding: { busy: '1002' } },
    ]);
    const p = planRoute('1002', me, t, ALL);
    const s = first(p) as RingStep;
    const s2 = p.steps[target(s.on.busy)!] as RingStep;
    expect(s2.extension).toBe('1003');
    expect(stopOf(s2.on.busy)?.status).toBe(486);
  });

  it('ignores a forward to an external number the forwarding extension may not dial', () => {
    const t = tenant({}, [{ number: '1005', permissionClass: 'internal', forwarding: { unconditional: '009012345678' } }]);
    const s = first(planRoute('1005', me, t, ALL)) as RingStep;
    expect(s.extension).toBe('1005');
  });

  it('caps forwarding depth', () => {
    const chain: ExtensionView[] = ['2001', '2002', '2003', '2004', '2005', '2006', '2007', '2008'].map((n, i, a) => ({
      number: n,
      forwarding: { unconditional: a[i + 1] ?? '1002' },
    }));
    const p = planRoute('2001', me, tenant({}, chain), regs(['2006', 1], ['2007', 1], ['1002', 1]));
    expect((first(p) as RingStep).extension).toBe('2006');
  });

  it('every step index is its position', () => {
    const t = tenant({}, [{ number: '1002', forwarding: { busy: '1003', noAnswer: '00312345678' } }]);
    const p = planRoute('1002', me, t, ALL);
    p.steps.forEach((s, i) => expect(s.index).toBe(i));
  });
});

describe('planRoute: outside line', () => {
  it('sends national numbers to the trunk by gateway priority in its format', () => {
    const p = planRoute('00312345678', me, tenant(), ALL);
    expect(p.direction).toBe('outbound');
    expect(p.callee).toEqual({ dialled: '00312345678', kind: 'fixed', e164: '+81312345678' });
    const gws = p.steps.map((s) => (s as TrunkStep).gatewayId);
    expect(gws).toEqual(['127.0.0.1:5081', '127.0.0.1:5082', '127.0.0.1:5083']);
    const s = first(p) as TrunkStep;
    expect(s.number).toBe('0312345678');
    // No display name to the carrier unless the trunk asks for one (issue 18 item 8).
    expect(s.callerId).toEqual({ user: '0312340001', e164: '+81312340001' });
    expect(s.setupTimeoutSec).toBe(5);
    expect((first(planRoute('00312345678', me, tenant(), ALL, { trunkSetupTimeoutSec: 3 })) as TrunkStep).setupTimeoutSec).toBe(3);
    expect(s.privacy).toBe(false);
    expect(target(s.on.failover)).toBe(1);
    expect(target((p.steps[1] as TrunkStep).on.failover)).toBe(2);
    expect('relay' in (p.steps[2] as TrunkStep).on.failover).toBe(true);
  });

  it.each([
    [{}, undefined],
    [{ callerName: 'none' }, undefined],
    [{ callerName: 'extension' }, 'Sato'],
    [{ callerName: 'fixed', callerNameFixed: 'ACME 株式会社' }, 'ACME 株式会社'],
  ] as const)('trunk %j sends the display name %j to the carrier', (over, name) => {
    const t = tenant({ trunks: [{ id: 'x', numberFormat: 'national', gateways: [{ host: '127.0.0.1', port: 5070, transport: 'udp', priority: 0 }], ...over }] });
    const s = first(planRoute('00312345678', me, t, ALL)) as TrunkStep;
    expect(s.callerId.displayName).toBe(name);
  });

  it('uses the trunk’s representative number when the extension has none, E.164 on E.164 trunks', () => {
    const t = tenant({ trunks: [{ id: 'x', numberFormat: 'e164', callerId: '+81312340000', gateways: [{ host: '127.0.0.1', port: 5070, transport: 'tcp', priority: 0 }] }] });
    const s = first(planRoute('009012345678', { kind: 'extension', extension: '1002' }, t, ALL)) as TrunkStep;
    expect(s.number).toBe('+819012345678');
    expect(s.callerId.user).toBe('+81312340000');
  });

  it.each([
    ['1001', '001014155550100', 403],
    ['1004', '001014155550100', 0],
    ['1001', '00990123456', 403],
    ['1005', '00312345678', 403],
    ['1005', '00120123456', 403],
    ['1005', '1002', 0],
    ['1006', '00312345678', 0],
    ['1006', '009012345678', 403],
    ['1006', '0110', 0],
    ['1005', '119', 0],
  ] as const)('%s dialling %s: %i', (from, dialled, status) => {
    const p = planRoute(dialled, { kind: 'extension', extension: from }, tenant(), ALL);
    if (status === 0) expect('goto' in p.start).toBe(true);
    else expect(stopOf(p.start)).toMatchObject({ status, code: 'permission-denied', rejected: true });
  });

  it('explains a refused international call', () => {
    const p = planRoute('001014155550100', me, tenant(), ALL);
    expect(stopOf(p.start)?.reason).toBe('Forbidden (international calls not permitted)');
  });

  it('an extension without a class gets the API default (national)', () => {
    const t = tenant({}, [{ number: '1007' }]);
    expect('goto' in planRoute('00312345678', { kind: 'extension', extension: '1007' }, t, ALL).start).toBe(true);
    expect(stopOf(planRoute('009012345678', { kind: 'extension', extension: '1007' }, t, ALL).start)?.status).toBe(403);
  });

  it('trunk roles: an ordinary call fails over across every ordinary trunk; a trunk with both roles carries both', () => {
    const g = (port: number) => ({ host: '127.0.0.3', port, transport: 'udp' as const, priority: 1 });
    const t = tenant({
      trunks: [
        { id: 'a-main', numberFormat: 'national', gateways: [g(5060)] },
        { id: 'b-both', numberFormat: 'national', roles: ['ordinary', 'emergency'], gateways: [g(5070)] },
        { id: 'c-sos', numberFormat: 'national', roles: ['emergency'], gateways: [g(5080)] },
      ],
    });
    expect(planRoute('00312345678', me, t, ALL).steps.map((s) => (s as TrunkStep).trunkId)).toEqual(['a-main', 'b-both']);
    expect(planRoute('110', me, t, ALL).steps.map((s) => (s as TrunkStep).trunkId)).toEqual(['b-both', 'c-sos', 'a-main']);
    // Issue 12 item 9: a trunk flagged `emergency: true` (records before roles) no longer drops out of ordinary failover.
    const legacy = tenant({ trunks: [{ id: 'a-main', numberFormat: 'national', gateways: [g(5060)] }, { id: 'b-flag', numberFormat: 'national', emergency: true, gateways: [g(5070)] }] });
    expect(planRoute('00312345678', me, legacy, ALL).steps.map((s) => (s as TrunkStep).trunkId)).toEqual(['a-main', 'b-flag']);
    expect(planRoute('119', me, legacy, ALL).steps.map((s) => (s as TrunkStep).trunkId)).toEqual(['b-flag', 'a-main']);
    // Only emergency trunks: ordinary calls have no trunk (503), emergency calls go out.
    const sosOnly = tenant({ trunks: [{ id: 'c-sos', numberFormat: 'national', roles: ['emergency'], gateways: [g(5080)] }] });
    expect(stopOf(planRoute('00312345678', me, sosOnly, ALL).start)?.code).toBe('no-trunk');
    expect((first(planRoute('118', me, sosOnly, ALL)) as TrunkStep).trunkId).toBe('c-sos');
  });

  it('gateways found down by OPTIONS pings: skipped by outside calls, tried last by emergency calls; all down → 503 no-gateway', () => {
    const g = (port: number) => ({ host: '127.0.0.3', port, transport: 'udp' as const, priority: port });
    const trunks: TrunkView[] = [
      { id: 'a', numberFormat: 'national', roles: ['ordinary', 'emergency'], gateways: [g(5060), g(5070)] },
      { id: 'b', numberFormat: 'national', gateways: [g(5080)] },
    ];
    const down = new Set(['udp|127.0.0.3|5060']);
    const t = { ...tenant({ trunks }), downGateways: down };
    expect(planRoute('00312345678', me, t, ALL).steps.map((s) => (s as TrunkStep).gatewayId)).toEqual(['127.0.0.3:5070', '127.0.0.3:5080']);
    expect(planRoute('119', me, t, ALL).steps.map((s) => (s as TrunkStep).gatewayId)).toEqual(['127.0.0.3:5070', '127.0.0.3:5080', '127.0.0.3:5060']);
    const allDown = { ...tenant({ trunks }), downGateways: new Set(['udp|127.0.0.3|5060', 'udp|127.0.0.3|5070', 'udp|127.0.0.3|5080']) };
    expect(stopOf(planRoute('00312345678', me, allDown, ALL).start)?.code).toBe('no-gateway');
    expect(planRoute('110', me, allDown, ALL).steps).toHaveLength(3);
  });

  it('fails over across trunks and never uses an emergency-only trunk for outside calls', () => {
    const gw = { host: '127.0.0.2', port: 5060, transport: 'udp' as const, priority: 1 };
    const t = tenant({ trunks: [...tenant().trunks, { id: 'backup', numberFormat: 'e164', gateways: [gw] }] });
    const p = planRoute('00312345678', me, t, ALL);
    expect(p.steps.map((s) => (s as TrunkStep).trunkId)).toEqual(['carrier', 'carrier', 'carrier', 'backup']);
    expect((p.steps[3] as TrunkStep).number).toBe('+81312345678');
    const sos = planRoute('119', me, t, ALL);
    expect(sos.steps.map((s) => (s as TrunkStep).trunkId)).toEqual(['sos', 'carrier', 'carrier', 'carrier', 'backup']);
  });

  it.each([
    ['01840312345678', '1001', true],
    ['01860312345678', '1006', false],
    ['00312345678', '1006', true],
    ['00312345678', '1001', false],
  ] as const)('privacy for %s from %s: %s', (dialled, from, privacy) => {
    const p = planRoute(dialled, { kind: 'extension', extension: from }, tenant(), ALL);
    expect(p.privacy).toBe(privacy);
    expect((first(p) as TrunkStep).privacy).toBe(privacy);
    expect((first(p) as TrunkStep).number).toBe('0312345678');
  });

  it('503 without an outbound trunk or gateways', () => {
    expect(stopOf(planRoute('00312345678', me, tenant({ trunks: [] }), ALL).start)?.code).toBe('no-trunk');
    expect(stopOf(planRoute('00312345678', me, tenant({ trunks: [{ id: 'e', numberFormat: 'e164', gateways: [] }] }), ALL).start)?.code).toBe(
      'no-gateway',
    );
    expect(stopOf(planRoute('119', me, tenant({ trunks: [] }), ALL).start)?.code).toBe('no-emergency-trunk');
  });

  it('routes a call to one of the tenant’s own DIDs internally', () => {
    const p = planRoute('00312340001', { kind: 'extension', extension: '1002' }, tenant(), ALL);
    expect((first(p) as RingStep).extension).toBe('1001');
    expect(p.direction).toBe('internal');
  });
});

describe('planRoute: emergency', () => {
  it.each(['110', '0110', '118', '0118', '119', '0119'])('%s goes to the emergency trunk', (d) => {
    const p = planRoute(d, me, tenant(), ALL);
    const s = first(p) as TrunkStep;
    expect(p.direction).toBe('emergency');
    expect(s.trunkId).toBe('sos');
    expect(s.emergency).toBe(true);
    expect(s.number).toBe(d.slice(-3));
    expect(s.callerId.e164).toBe('+81312340001');
  });

  it('presents the number even for extensions that withhold by default; 184 withholds', () => {
    expect(planRoute('119', { kind: 'extension', extension: '1006' }, tenant(), ALL).privacy).toBe(false);
    expect(planRoute('184119', { kind: 'extension', extension: '1006' }, tenant(), ALL).privacy).toBe(true);
  });

  it('wins over an extension numbered 110 and ignores permission class', () => {
    const p = planRoute('110', { kind: 'extension', extension: '1005' }, tenant({}, [{ number: '110' }]), ALL);
    expect(p.direction).toBe('emergency');
  });

  it('uses the first trunk when none is flagged for emergency', () => {
    const p = planRoute('119', me, tenant({ trunks: tenant().trunks.filter((t) => t.id !== 'sos') }), ALL);
    expect((first(p) as TrunkStep).trunkId).toBe('carrier');
  });
});

describe('planRoute: pickup', () => {
  it('*8 targets the other members of the caller’s pickup groups', () => {
    const p = planRoute('*8', me, tenant(), ALL);
    const s = first(p);
    expect(s).toMatchObject({ kind: 'pickup', scope: 'group', extensions: ['1002', '1003', '1006'] });
    expect(stopOf(s.on.unavailable)?.code).toBe('nothing-to-pick-up');
  });
  it('**<ext> targets that extension', () => {
    expect(first(planRoute('**1004', me, tenant(), ALL))).toMatchObject({ kind: 'pickup', scope: 'directed', extensions: ['1004'] });
    const custom = tenant({ numbering: { featureCodes: { pickup: '#8', directedPickup: '#9' } } });
    expect(first(planRoute('#91004', me, custom, ALL))).toMatchObject({ kind: 'pickup', extensions: ['1004'] });
    expect(first(planRoute('#8', me, custom, ALL))).toMatchObject({ kind: 'pickup', scope: 'group' });
    expect(stopOf(planRoute('**1999', me, tenant(), ALL).start)?.status).toBe(404);
  });
  it('*8 without a pickup group is 404', () => {
    expect(stopOf(planRoute('*8', { kind: 'extension', extension: '1004' }, tenant(), ALL).start)?.code).toBe('no-pickup-group');
  });
});

describe('planRoute: inbound from a trunk', () => {
  const trunkCaller = { kind: 'trunk', trunkId: 'carrier', number: '09011112222' } as const;
  it.each(['0312340001', '+81312340001', '81312340001'])('DID %s rings the extension', (did) => {
    const p = planRoute(did, trunkCaller, tenant(), ALL);
    const s = first(p) as RingStep;
    expect(p.direction).toBe('inbound');
    expect(s.direction).toBe('inbound');
    expect(s.extension).toBe('1001');
    expect(p.caller).toEqual({ user: '009011112222', e164: '+819011112222' });
    expect(p.callee).toMatchObject({ e164: '+81312340001', extension: '1001', kind: 'extension' });
  });
  it('unknown DID → 404, DID to a missing target → 404, unknown trunk → 403', () => {
    expect(stopOf(planRoute('0312349999', trunkCaller, tenant(), ALL).start)).toMatchObject({ status: 404, code: 'unknown-did' });
    expect(stopOf(planRoute('0312340009', trunkCaller, tenant(), ALL).start)).toMatchObject({ status: 404, code: 'unknown-did' });
    expect(stopOf(planRoute('0312340001', { ...trunkCaller, trunkId: 'nope' }, tenant(), ALL).start)?.status).toBe(403);
  });
  it('anonymous callers are shown as anonymous', () => {
    const p = planRoute('0312340001', { ...trunkCaller, number: 'anonymous' }, tenant(), ALL);
    expect(p.caller.user).toBe('anonymous');
    expect(p.privacy).toBe(true);
  });
});

describe('ring groups', () => {
  const members = ['1001', '1002', '1003', '1004'];
  const m = (...ms: string[]) => ms.map((extension) => ({ extension, timeoutSec: 10 }));
  const g = (strategy: RingGroupView['strategy'], over: Partial<RingGroupView> = {}): RingGroupView => ({
    number: '200',
    strategy,
    members: m(...members),
    totalTimeoutSec: 25,
    ...over,
  });
  const caller = { kind: 'extension', extension: '1005' } as const;
  const memberOrder = (p: RoutePlan): (string | undefined)[] => {
    const out: (string | undefined)[] = [];
    let n: Next = p.start;
    while ('goto' in n) {
      const s = p.steps[n.goto] as RingStep;
      out.push(s.member);
      n = s.on['no-answer'];
    }
    return out;
  };

  it('ring-all rings every device of every member in one step, with the total timeout', () => {
    const p = planRoute('200', caller, tenant({}, [], [g('ring-all')]), ALL);
    const s = first(p) as RingStep;
    expect(s.targets.map((t) => t.extension)).toEqual(['1001', '1001', '1002', '1003', '1004']);
    expect(s.timeoutSec).toBe(25);
    expect(p.callee).toEqual({ dialled: '200', kind: 'group', group: '200' });
    expect(stopOf(s.on.busy)?.status).toBe(480);
  });

  it('ring-all still rings members who are in a call', () => {
    const p = planRoute('200', caller, tenant({}, [], [g('ring-all')]), ALL, { hunt: { busy: new Set(['1002']) } });
    expect((first(p) as RingStep).targets.map((t) => t.extension)).toContain('1002');
  });

  it('sequential: one member at a time in order, each with the member timeout, all devices together', () => {
    const p = planRoute('200', caller, tenant({}, [], [g('sequential')]), ALL);
    expect(memberOrder(p)).toEqual(['1001', '1002', '1003', '1004']);
    const s = first(p) as RingStep;
    expect(s.targets).toHaveLength(2);
    expect(s.timeoutSec).toBe(10);
    expect(s.segment).toBeDefined();
    expect(p.segments[s.segment!]?.totalTimeoutSec).toBe(25);
  });

  it.each([
    ['sequential', {}, ['1001', '1002', '1003', '1004']],
    ['sequential', { busy: new Set(['1002']) }, ['1001', '1003', '1004']],
    ['round-robin', {}, ['1001', '1002', '1003', '1004']],
    ['round-robin', { lastAnswered: new Map([['200', '1002']]) }, ['1003', '1004', '1001', '1002']],
    ['round-robin', { lastAnswered: new Map([['200', '1004']]) }, ['1001', '1002', '1003', '1004']],
    ['round-robin', { lastAnswered: new Map([['200', '1003']]), busy: new Set(['1004']) }, ['1001', '1002', '1003']],
    ['round-robin', { lastAnswered: new Map([['200', 'gone']]) }, ['1001', '1002', '1003', '1004']],
    ['longest-idle', {}, ['1001', '1002', '1003', '1004']],
    ['longest-idle', { idleSince: new Map([['1001', 500], ['1002', 100], ['1003', 300]]) }, ['1004', '1002', '1003', '1001']],
    ['longest-idle', { idleSince: new Map([['1001', 5], ['1002', 5]]), busy: new Set(['1003']) }, ['1004', '1001', '1002']],
  ] as const)('%s with %o → %o', (strategy, state, want) => {
    expect(orderMembers(strategy, '200', members, state as HuntStateView)).toEqual(want);
    expect(memberOrder(planRoute('200', caller, tenant({}, [], [g(strategy)]), ALL, { hunt: state }))).toEqual(want);
  });

  it('skips members with nothing registered and unknown members', () => {
    const p = planRoute('200', caller, tenant({}, [], [g('sequential', { members: m('1001', '9999', '1002', '1003') })]), regs(['1001', 1], ['1003', 1]));
    expect(memberOrder(p)).toEqual(['1001', '1003']);
  });

  it('overflows after the last member, to a dial string', () => {
    const p = planRoute('200', caller, tenant({}, [], [g('sequential', { members: m('1001', '1002'), overflow: '1003' })]), ALL);
    const last = p.steps[target((first(p) as RingStep).on.busy)!] as RingStep;
    const over = p.steps[target(last.on['no-answer'])!] as RingStep;
    expect(over.extension).toBe('1003');
    expect(p.segments[last.segment!]?.onTimeout).toEqual({ goto: over.index });
  });

  it('overflows at once when nobody can ring; busy when everybody is busy; 480 when nobody is registered', () => {
    const t = tenant({}, [], [g('sequential', { overflow: '1005' })]);
    expect((first(planRoute('200', caller, t, regs(['1005', 1]))) as RingStep).extension).toBe('1005');
    const t2 = tenant({}, [], [g('sequential')]);
    expect(stopOf(planRoute('200', caller, t2, ALL, { hunt: { busy: new Set(members) } }).start)?.status).toBe(486);
    expect(stopOf(planRoute('200', caller, t2, new Map()).start)?.status).toBe(480);
  });

  it('member timeout never exceeds the total timeout', () => {
    const p = planRoute('200', caller, tenant({}, [], [g('sequential', { members: [{ extension: '1001', timeoutSec: 90 }], totalTimeoutSec: 20 })]), ALL);
    expect((first(p) as RingStep).timeoutSec).toBe(20);
    const q = planRoute('200', caller, tenant({}, [], [g('sequential', { members: [{ extension: '1001', timeoutSec: 7 }, { extension: '1002', timeoutSec: 12 }] })]), ALL);
    expect(q.steps.map((s) => (s as RingStep).timeoutSec)).toEqual([7, 12]);
  });

  it('a group call does not follow members’ own forwarding', () => {
    const t = tenant({}, [{ number: '1001', forwarding: { unconditional: '1003' } }], [g('sequential')]);
    expect((first(planRoute('200', caller, t, ALL)) as RingStep).member).toBe('1001');
  });

  it('the group’s total timeout sends the call to overflow', () => {
    const t = tenant({}, [], [g('sequential', { overflow: '1005' })]);
    const p = planRoute('200', caller, t, ALL);
    const s = first(p) as RingStep;
    const d = onAttemptFailed(p, { step: s.index, now: 26_000, segmentStartedAt: { [s.segment!]: 0 } }, { kind: 'no-answer-timeout' });
    expect(d.action).toBe('try');
    expect(d.action === 'try' && (p.steps[d.step] as RingStep).extension).toBe('1005');
  });
});

describe('referencedNumbers', () => {
  it('lists forwarding targets, members and overflow that are internal', () => {
    expect(referencedNumbers({ number: '1001', forwarding: { unconditional: '1002', busy: '00312345678', noAnswer: '200' } })).toEqual([
      '1002',
      '200',
    ]);
    expect(
      referencedNumbers({
        number: '200',
        strategy: 'sequential',
        totalTimeoutSec: 30,
        members: [
          { extension: '1001', timeoutSec: 5 },
          { extension: '1002', timeoutSec: 5 },
        ],
        overflow: '1003',
      }),
    ).toEqual(['1001', '1002', '1003']);
    expect(internalTarget('**1004')).toBe('1004');
    expect(internalTarget('0110')).toBeUndefined();
  });
});
