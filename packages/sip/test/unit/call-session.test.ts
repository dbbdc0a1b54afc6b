import { describe, expect, it } from 'vitest';
import { planRoute, type ContactView, type ExtensionView, type HangupBy, type RingGroupView, type TenantRoutingView } from '@kumo/domain';
import {
  type AnsweredCall,
  CallControl,
  CallRegistry,
  CallSession,
  LocalPickupRegistry,
  type PickupRegistry,
  type BridgeOptions,
  type CallIo,
  type DialOutcome,
  type DialProgress,
  type DialRequest,
  type InboundInvite,
  type Leg,
  type PendingDial,
} from '@kumo/sip';

const tick = () => new Promise<void>((r) => setImmediate(r));

class FakeDial implements PendingDial {
  cancelled = false;
  settled = false;
  private resolve!: (o: DialOutcome) => void;
  readonly outcome = new Promise<DialOutcome>((r) => (this.resolve = r));
  hungUp = false;
  constructor(
    readonly req: DialRequest,
    private readonly onProgress: (p: DialProgress) => void,
  ) {}
  cancel(): void {
    this.cancelled = true;
    if (!this.settled) this.fail(487);
  }
  progress(status: number, sdp?: string): void {
    this.onProgress({ status, ...(sdp ? { sdp } : {}) });
  }
  answer(sdp = 'v=0 B'): Leg {
    const leg: Leg = {
      callId: `b-${this.req.uri}`,
      remoteSdp: sdp,
      hangup: () => {
        this.hungUp = true;
        return Promise.resolve();
      },
    };
    this.settled = true;
    this.resolve({ kind: 'answered', leg });
    return leg;
  }
  fail(status: number): void {
    this.settled = true;
    this.resolve({ kind: 'failed', failure: { kind: 'response', status } });
  }
}

class FakeIo implements CallIo {
  t = 1_000_000;
  readonly timers: { at: number; cb: () => void; live: boolean }[] = [];
  readonly dials: FakeDial[] = [];
  bridged: [Leg, Leg] | undefined;
  hangupBy: HangupBy = 'callee';
  now(): number {
    return this.t;
  }
  setTimer(ms: number, cb: () => void): () => void {
    const e = { at: this.t + ms, cb, live: true };
    this.timers.push(e);
    return () => (e.live = false);
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = due.at;
      due.live = false;
      due.cb();
      await tick();
    }
    this.t = end;
    await tick();
  }
  dial(req: DialRequest, onProgress: (p: DialProgress) => void): PendingDial {
    const d = new FakeDial(req, onProgress);
    this.dials.push(d);
    return d;
  }
  /** With it, a bridge lasts until the system ends the call (like the real bridge does). */
  holdBridge = false;
  bridge(a: Leg, b: Leg, _t?: unknown, opts?: BridgeOptions): Promise<HangupBy> {
    this.bridged = [a, b];
    const control = opts?.control;
    if (this.holdBridge && control) return new Promise((r) => control.onEnd(() => r('system')));
    return Promise.resolve(this.hangupBy);
  }
}

class FakeInvite implements InboundInvite {
  readonly progressSent: { status: number; sdp?: string }[] = [];
  answeredWith: string | undefined;
  rejected: { status: number; reason: string } | undefined;
  private cancelCb: (() => void) | undefined;
  constructor(
    readonly callId = 'a-call',
    readonly sdp = 'v=0 A',
  ) {}
  readonly fromTag = 'ft';
  progress(status: 180 | 183, sdp?: string): void {
    this.progressSent.push({ status, ...(sdp ? { sdp } : {}) });
  }
  answer(sdp: string): Promise<Leg> {
    this.answeredWith = sdp;
    return Promise.resolve({ callId: this.callId, remoteSdp: this.sdp, hangup: () => Promise.resolve() });
  }
  reject(status: number, reason: string): void {
    this.rejected = { status, reason };
  }
  onCancel(cb: () => void): void {
    this.cancelCb = cb;
  }
  cancel(): void {
    this.cancelCb?.();
  }
}

const contacts = (ext: string, n: number): ContactView[] =>
  Array.from({ length: n }, (_, i) => ({ uri: `sip:${ext}@10.0.0.${i + 1}`, source: { address: '127.0.0.1', port: 6000 + i, transport: 'udp' as const } }));

const exts: ExtensionView[] = [
  { number: '1001', displayName: 'Sato', permissionClass: 'mobile' },
  { number: '1002', forwarding: { busy: '1003' } },
  { number: '1003' },
  { number: '1004' },
];
const group: RingGroupView = {
  number: '200',
  strategy: 'sequential',
  totalTimeoutSec: 60,
  members: [
    { extension: '1003', timeoutSec: 10 },
    { extension: '1004', timeoutSec: 10 },
  ],
};
const tenant: TenantRoutingView = {
  id: 'acme',
  extensions: new Map(exts.map((e) => [e.number, e])),
  groups: new Map([['200', group]]),
  pickupGroups: [{ id: 'p', members: ['1001', '1002', '1003'] }],
  trunks: [
    {
      id: 'carrier',
      numberFormat: 'national',
      callerId: '+81312340000',
      gateways: [
        { host: '127.0.0.1', port: 5081, transport: 'udp', priority: 1 },
        { host: '127.0.0.1', port: 5082, transport: 'tcp', priority: 2 },
      ],
    },
  ],
  dids: new Map(),
};
const regs = new Map([
  ['1002', contacts('1002', 2)],
  ['1003', contacts('1003', 1)],
  ['1004', contacts('1004', 1)],
]);
const me = { kind: 'extension', extension: '1001' } as const;

function session(dialled: string, io = new FakeIo(), invite = new FakeInvite(), pickups?: LocalPickupRegistry, caller: typeof me | { kind: 'extension'; extension: string } = me) {
  const plan = planRoute(dialled, caller, tenant, regs);
  const s = new CallSession(plan, invite, io, { domain: 'acme.kumo.test', ...(pickups ? { pickups: pickups.forTenant('acme') } : {}) });
  return { s, io, invite, run: s.run() };
}

describe('CallSession', () => {
  it('forks to every contact; the first answer wins and the others are cancelled', async () => {
    const { io, invite, run } = session('1002');
    await tick();
    expect(io.dials.map((d) => d.req.proxy)).toEqual(['sip:127.0.0.1:6000;transport=udp', 'sip:127.0.0.1:6001;transport=udp']);
    expect(io.dials[0]!.req.headers.From).toBe('"Sato" <sip:1001@acme.kumo.test>');
    expect(io.dials[0]!.req.sdp).toBe('v=0 A');
    io.dials[0]!.progress(180);
    io.dials[1]!.progress(180);
    io.dials[1]!.answer('v=0 B2');
    const o = await run;
    expect(invite.progressSent).toEqual([{ status: 180 }]);
    expect(io.dials[0]!.cancelled).toBe(true);
    expect(io.dials[1]!.cancelled).toBe(false);
    expect(invite.answeredWith).toBe('v=0 B2');
    expect(o).toMatchObject({ finalStatus: 200, hangupBy: 'callee', answeredBy: '1002', answeredAt: 1_000_000, attempts: [0] });
  });

  it('the answer is recorded with the extensions the call now counts busy (one call-record write), and the hunt state is told', async () => {
    const plan = planRoute('1002', me, tenant, regs);
    const io = new FakeIo();
    const answered: AnsweredCall[] = [];
    const started: string[][] = [];
    const s = new CallSession(plan, new FakeInvite(), io, {
      domain: 'acme.kumo.test',
      onAnswered: (a) => void answered.push(a),
      tracker: {
        groupAnswered: () => Promise.resolve(),
        callStarted: (e) => Promise.resolve(void started.push([...e])),
        callEnded: () => Promise.resolve(),
      },
    });
    const run = s.run();
    await tick();
    io.dials[0]!.answer('v=0 B');
    await run;
    expect(answered.map((a) => ({ busy: a.busy, answeredBy: a.answeredBy }))).toEqual([{ busy: ['1001', '1002'], answeredBy: '1002' }]);
    expect(started).toEqual([['1001', '1002']]);
  });

  it('an answered call stops ringing for other workers with the answer’s writes (one Redis write); a cancelled one at once', async () => {
    const events: string[] = [];
    const pickups: PickupRegistry = {
      ringing: (ext) => (after) => {
        events.push(`stop ${ext} ${after ? 'after' : 'now'}`);
        void after?.then(() => events.push('shared entry removed'));
      },
      find: () => Promise.resolve(undefined),
    };
    const start = (): { io: FakeIo; invite: FakeInvite; run: Promise<unknown> } => {
      const io = new FakeIo();
      const invite = new FakeInvite();
      const s = new CallSession(planRoute('1003', me, tenant, regs), invite, io, {
        domain: 'acme.kumo.test',
        pickups,
        onAnswered: () => void events.push('call record'),
        tracker: {
          groupAnswered: () => Promise.resolve(),
          callStarted: () => Promise.resolve(void events.push('hunt state')),
          callEnded: () => Promise.resolve(),
        },
      });
      return { io, invite, run: s.run() };
    };
    const a = start();
    await tick();
    a.io.dials[0]!.answer('v=0 B');
    await a.run;
    expect(events).toEqual(['stop 1003 after', 'call record', 'hunt state', 'shared entry removed']);
    events.length = 0;
    const c = start();
    await tick();
    c.invite.cancel();
    await c.run;
    expect(events).toEqual(['stop 1003 now']);
  });

  it('every device busy → busy forwarding', async () => {
    const { io, run } = session('1002');
    await tick();
    io.dials[0]!.fail(486);
    io.dials[1]!.fail(486);
    await tick();
    await tick();
    expect(io.dials).toHaveLength(3);
    expect(io.dials[2]!.req.headers.To).toBe('<sip:1003@acme.kumo.test>');
    io.dials[2]!.answer();
    expect(await run).toMatchObject({ finalStatus: 200, answeredBy: '1003' });
  });

  it('no answer within the extension timeout → 480', async () => {
    const { io, invite, run } = session('1003');
    await tick();
    await io.advance(30_000);
    const o = await run;
    expect(io.dials[0]!.cancelled).toBe(true);
    expect(invite.rejected).toEqual({ status: 480, reason: 'Temporarily Unavailable' });
    expect(o).toMatchObject({ finalStatus: 480, cancelledByCaller: false });
  });

  it('caller CANCEL stops every fork; a 200 crossing the CANCEL is hung up', async () => {
    const { io, invite, run } = session('1002');
    await tick();
    invite.cancel();
    const late = io.dials[1]!;
    const o = await run;
    expect(io.dials.every((d) => d.cancelled)).toBe(true);
    expect(o).toMatchObject({ finalStatus: 487, cancelledByCaller: true });
    expect(invite.rejected).toBeUndefined();
    void late;
  });

  it('sequential group: next member after the member timeout', async () => {
    const { io, run } = session('200');
    await tick();
    expect(io.dials).toHaveLength(1);
    await io.advance(10_000);
    expect(io.dials).toHaveLength(2);
    expect(io.dials[1]!.req.headers.To).toBe('<sip:1004@acme.kumo.test>');
    io.dials[1]!.answer();
    expect(await run).toMatchObject({ finalStatus: 200, answeredBy: '1004' });
  });

  it('trunk: 503 on the first gateway → the second; number and caller ID in the trunk format', async () => {
    const { io, run } = session('00312345678');
    await tick();
    const d1 = io.dials[0]!;
    expect(d1.req.uri).toBe('sip:0312345678@127.0.0.1:5081;transport=udp');
    expect(d1.req.headers['P-Asserted-Identity']).toBe('<sip:0312340000@127.0.0.1:5081>');
    // The extension's internal display name does not go to the carrier (trunk callerName: none).
    expect(d1.req.headers.From).toBe('<sip:0312340000@127.0.0.1:5081>');
    d1.fail(503);
    await tick();
    await tick();
    expect(io.dials[1]!.req.uri).toBe('sip:0312345678@127.0.0.1:5082;transport=tcp');
    io.dials[1]!.answer();
    const o = await run;
    expect(o.step).toMatchObject({ kind: 'trunk', gatewayId: '127.0.0.1:5082' });
  });

  it('trunk full (every gateway’s trunk refuses a channel): 503 with X-Kumo-Reason trunk-channels, a rejected outcome', async () => {
    const headers: Record<string, string>[] = [];
    const invite = new (class extends FakeInvite {
      override reject(status: number, reason: string, h?: Readonly<Record<string, string>>): void {
        super.reject(status, reason);
        headers.push({ ...h });
      }
    })();
    const io = new FakeIo();
    const plan = planRoute('00312345678', me, tenant, regs);
    const s = new CallSession(plan, invite, io, { domain: 'acme.kumo.test', trunkGate: { acquire: () => Promise.resolve(false), release: () => Promise.resolve() } });
    const o = await s.run();
    expect(io.dials).toHaveLength(0);
    expect(invite.rejected).toEqual({ status: 503, reason: 'Trunk Channels Full' });
    expect(headers[0]).toEqual({ 'X-Kumo-Reason': 'trunk-channels' });
    expect(o).toMatchObject({ finalStatus: 503, rejectionReason: 'trunk-channels' });
  });

  it('trunk: no provisional within the setup timeout → next gateway', async () => {
    const { io, run } = session('00312345678');
    await tick();
    await io.advance(5_000);
    expect(io.dials[0]!.cancelled).toBe(true);
    expect(io.dials).toHaveLength(2);
    io.dials[1]!.progress(180);
    await io.advance(6_000);
    io.dials[1]!.fail(486);
    expect(await run).toMatchObject({ finalStatus: 486 });
  });

  it('trunk: never fails over after early media', async () => {
    const { io, invite, run } = session('00312345678');
    await tick();
    io.dials[0]!.progress(183, 'v=0 early');
    io.dials[0]!.fail(503);
    const o = await run;
    expect(invite.progressSent).toEqual([{ status: 183, sdp: 'v=0 early' }]);
    expect(io.dials).toHaveLength(1);
    expect(o.finalStatus).toBe(503);
  });

  it('withheld caller ID: anonymous From, Privacy: id, P-Asserted-Identity kept', async () => {
    const { io, run, invite } = session('01840312345678');
    await tick();
    expect(io.dials[0]!.req.headers).toMatchObject({
      From: '"Anonymous" <sip:anonymous@anonymous.invalid>',
      Privacy: 'id',
      'P-Asserted-Identity': '<sip:0312340000@127.0.0.1:5081>',
    });
    invite.cancel();
    await run;
  });

  it('refused plans answer at once', async () => {
    const { invite, run } = session('001014155550100');
    const o = await run;
    expect(invite.rejected?.status).toBe(403);
    expect(o).toMatchObject({ finalStatus: 403, rejectionReason: 'permission-denied' });
  });

  it('*8 picks up a call ringing a member of the pickup group', async () => {
    const pickups = new LocalPickupRegistry();
    const io = new FakeIo();
    const ringing = session('1003', io, new FakeInvite('ringing-call', 'v=0 caller'), pickups);
    await tick();
    expect(pickups.size).toBe(1);
    const picker = session('*8', io, new FakeInvite('picker-call', 'v=0 picker'), pickups, { kind: 'extension', extension: '1002' });
    const a = await ringing.run;
    const p = await picker.run;
    expect(io.dials[0]!.cancelled).toBe(true);
    expect(ringing.invite.answeredWith).toBe('v=0 picker');
    expect(picker.invite.answeredWith).toBe('v=0 caller');
    expect(a).toMatchObject({ finalStatus: 200, answeredBy: '1002', hangupBy: 'callee' });
    expect(p).toMatchObject({ finalStatus: 200, hangupBy: 'caller', bLegCallId: 'ringing-call' });
    expect(pickups.size).toBe(0);
  });

  it('*8 with nothing ringing → 480', async () => {
    const { invite, run } = session('*8', new FakeIo(), new FakeInvite(), new LocalPickupRegistry());
    await run;
    expect(invite.rejected?.status).toBe(480);
  });
});

describe('the system ends calls (docs/reliability.md)', () => {
  const withControl = (dialled: string, o: { maxDurationMs?: number } = {}) => {
    const io = new FakeIo();
    const invite = new FakeInvite();
    const control = new CallControl();
    const plan = planRoute(dialled, me, tenant, regs);
    const s = new CallSession(plan, invite, io, { domain: 'acme.kumo.test', control, ...o });
    return { io, invite, control, run: s.run() };
  };

  it('a ringing call: every fork is cancelled and the caller gets 503 (it may retry elsewhere)', async () => {
    const { io, invite, control, run } = withControl('1002');
    await tick();
    control.end('shutdown');
    const o = await run;
    expect(io.dials.every((d) => d.cancelled)).toBe(true);
    expect(invite.rejected).toEqual({ status: 503, reason: 'Service Unavailable' });
    expect(o).toMatchObject({ finalStatus: 503, cancelledByCaller: false });
    expect(o.answeredAt).toBeUndefined();
    expect(control.endCause).toBe('shutdown');
  });

  it('an answered call reaching the maximum duration is ended by the system (max-duration)', async () => {
    const { io, control, run } = withControl('1003', { maxDurationMs: 4 * 3600_000 });
    io.holdBridge = true;
    await tick();
    io.dials[0]!.answer();
    await tick();
    await io.advance(4 * 3600_000 - 1);
    expect(control.endCause).toBeUndefined();
    await io.advance(1);
    const o = await run;
    expect(control.endCause).toBe('max-duration');
    expect(o).toMatchObject({ finalStatus: 200, hangupBy: 'system', answeredAt: 1_000_000, endedAt: 1_000_000 + 4 * 3600_000 });
  });

  it('the registry: endAll ends every call, idle() waits for calls and tracked work, drain refuses new calls', async () => {
    const reg = new CallRegistry();
    const ended: string[] = [];
    const removes = ['a', 'b'].map((k) => reg.add({ tenantId: 't', callKey: k, legs: () => [], end: (c) => ended.push(`${k}:${c}`) }));
    let finish!: () => void;
    const errors: unknown[] = [];
    reg.track(new Promise<void>((r) => (finish = r)), (e) => errors.push(e));
    reg.track(Promise.reject(new Error('transfer failed')), (e) => errors.push(e));
    expect(reg.busy).toBe(4);
    expect(await reg.idle(10)).toBe(false);
    expect(reg.endAll('engine-lost')).toBe(2);
    expect(ended).toEqual(['a:engine-lost', 'b:engine-lost']);
    const idle = reg.idle(5000);
    for (const r of removes) r();
    finish();
    expect(await idle).toBe(true);
    expect(errors).toHaveLength(1);
    expect(reg.draining).toBe(false);
    reg.drain();
    expect(reg.draining).toBe(true);
  });
});
