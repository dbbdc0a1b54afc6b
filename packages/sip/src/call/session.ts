/**
 * CallSession: one call, from the caller's INVITE to its end. Runs a route plan step by
 * step — forking to every contact of a ring step (first answer wins, the others are
 * CANCELled), one gateway at a time for trunks — asks the pure `onAttemptFailed` after
 * each failed step, bridges the answered legs and records the facts the CDR is built from.
 *
 * It owns its legs: whatever happens (caller CANCEL, timers, a 200 crossing a CANCEL,
 * errors) every leg it started is cancelled or hung up.
 */
import {
  mergeForkFailures,
  onAttemptFailed,
  UNREACHABLE_STOP,
  stepTimeoutMs,
  type AttemptFailure,
  type HangupBy,
  type PlanStep,
  type RingStep,
  type RingTarget,
  type RoutePlan,
  type Stop,
  type TrunkStep,
} from '@kumo/domain';
import {
  identityUri,
  quoteName,
  type AttendedRequest,
  type BridgeOptions,
  type CallIo,
  type CancelReason,
  type DialogRegistry,
  type DialRequest,
  type InboundInvite,
  type Leg,
  type PartyIdentity,
  type PendingDial,
  type SystemEnd,
  type TransferRequest,
} from './types.js';

/** Call-state side effects (round-robin cursor, busy/idle); failures here never fail a call. */
export interface CallTracker {
  groupAnswered(group: string, member: string): Promise<void>;
  callStarted(extensions: readonly string[]): Promise<void>;
  callEnded(extensions: readonly string[]): Promise<void>;
}

/** A ringing call a picker can take: on this worker (a CallSession) or on another (pickup.ts, through the relay). */
export interface Pickable {
  /** The ringing call's caller offer (the picker is answered with it). */
  readonly callerSdp: string;
  /** Its A-leg Call-ID (the picker's CDR names it). */
  readonly callId: string;
  /** Connects the answered picker in place of the ringing devices; false when the call no longer rings. */
  pickUp(leg: Leg, byExtension?: string): Promise<boolean>;
  /** Resolves once the picked-up call ends, with who hung up as the ringing call sees it. */
  whenEnded(): Promise<HangupBy>;
}

/** Ringing calls that `*8` / `**<ext>` can take (see pickup.ts). */
export interface PickupRegistry {
  /**
   * The session rings `extension`; the function returned ends that. Given `after` (the call was answered:
   * resolved once the answer's Redis writes are issued), state shared with other workers is updated with
   * those writes (one Redis write instead of two); what this worker itself sees changes at once.
   */
  ringing(extension: string, session: CallSession): (after?: Promise<void>) => void;
  /** The oldest call ringing one of `extensions` (in this order of preference). */
  find(extensions: readonly string[]): Promise<Pickable | undefined>;
}

/**
 * Admission's channel leases for outbound trunk attempts (docs/admission.md, Article 5): taken
 * before a trunk step, given back when the step fails (an answered call keeps its channel until
 * the route releases the call's leases).
 */
export interface TrunkGate {
  /** False: the trunk's (or the tenant's) channels are all in use; the step fails as a 503 and failover goes on. */
  acquire(trunkId: string): Promise<boolean>;
  release(trunkId: string): Promise<void>;
}

export interface SessionOptions {
  /** SIP domain of the tenant (host part of internal From/To). */
  readonly domain: string;
  readonly trunkGate?: TrunkGate;
  /** Credentials of a registration-based trunk: its outbound INVITEs answer the carrier's 401/407. */
  readonly trunkAuth?: (trunkId: string) => { readonly username: string; readonly password: string } | undefined;
  readonly tracker?: CallTracker;
  readonly pickups?: PickupRegistry;
  /** Longest a trunk call may ring unanswered, s (the carrier usually ends it first). Default 180. */
  readonly trunkRingCapSec?: number;
  readonly onError?: (err: unknown, where: string) => void;
  /**
   * Blind transfer (REFER) from one side of the answered call: connect the other side to the
   * target. Without it REFER is answered 501.
   */
  readonly transfer?: (
    t: TransferRequest & { readonly transferorExtension?: string; readonly transfereeIdentity?: PartyIdentity },
  ) => Promise<{ ok: true } | { ok: false; status: number; reason: string }>;
  /** Bridged legs of the tenant (attended transfer finds the replaced call here). */
  readonly dialogs?: DialogRegistry;
  /** Attended transfer (REFER with Replaces). Without it (or `dialogs`) such a REFER is answered 501. */
  readonly attended?: (
    t: AttendedRequest & { readonly transferorExtension?: string; readonly transfereeParty?: PartyIdentity },
  ) => Promise<{ ok: true } | { ok: false; status: number; reason: string }>;
  /** The system may end the call (drain, engine loss, keep-alive, maximum duration); see call/registry.ts. */
  readonly control?: SystemEnd;
  /** In-dialog OPTIONS keep-alive interval for the bridged legs, ms (0: off). */
  readonly keepAliveMs?: number;
  /** Longest an answered call may last, ms; then the system ends it (`max-duration`). */
  readonly maxDurationMs?: number;
  /** The call was answered and bridged: its legs (for the call record) and what the CDR will say about the answer. */
  readonly onAnswered?: (a: AnsweredCall) => Promise<void> | void;
}

/** What is known once a call is answered (the call record is updated with it). */
export interface AnsweredCall {
  readonly answeredAt: number;
  readonly legs: readonly Leg[];
  /** The plan step that answered (none for joined calls: attended transfer, Replaces). */
  readonly step?: PlanStep;
  readonly bLegCallId: string;
  readonly answerSdp: string;
  readonly answeredBy?: string;
  /**
   * The extensions the call counts as busy from now on (the tracker's `callStarted`), written with the
   * answer in one call-record write, so a process recovering the call counts them idle again.
   */
  readonly busy?: readonly string[];
}

export type { PartyIdentity } from './types.js';

/** What happened, for the CDR (see CallFacts in @kumo/domain). */
export interface SessionOutcome {
  readonly answeredAt?: number;
  readonly endedAt: number;
  readonly finalStatus: number;
  readonly finalReason: string;
  readonly hangupBy?: HangupBy;
  readonly rejectionReason?: string;
  readonly cancelledByCaller: boolean;
  /** No device could be reached (nothing rang): CDR disposition `unreachable`. */
  readonly unreachable?: boolean;
  readonly bLegCallId?: string;
  /** Remote SDP of the answering party (codecs are read from it). */
  readonly answerSdp?: string;
  readonly userAgentB?: string;
  /** The step that answered, or the last one tried. */
  readonly step?: PlanStep;
  /** The extension that answered (ring steps). */
  readonly answeredBy?: string;
  /** Steps tried, in order. */
  readonly attempts: readonly number[];
}

type StepResult =
  | { kind: 'answered'; leg: Leg; target?: RingTarget; pickedUp?: boolean }
  | { kind: 'failed'; failure: AttemptFailure };

interface Fork {
  readonly req: DialRequest;
  readonly target?: RingTarget;
  /** Tried once when `req` fails at the transport: the registered Contact, when the TCP/TLS flow is gone. */
  readonly fallback?: DialRequest;
}

/**
 * TCP/TLS reachability of a registered device (RFC 5923, RFC 5626): the connection its REGISTER came
 * on is the way to reach it while it lives (`proxy` = that connection's address and port: the engine
 * reuses the connection). When it is gone (a restart, a NAT timeout), that source port is an
 * ephemeral one nobody listens on, so the Contact the phone registered is tried instead — unless the
 * device uses RFC 5626 outbound (`reg-id`): it owns its flow and re-registers it, and its Contact is
 * not reachable from outside by design.
 */
function contactFallback(target: RingTarget, req: DialRequest): DialRequest | undefined {
  const src = target.contact.source;
  if (!src || src.transport === 'udp' || target.contact.regId !== undefined) return undefined;
  const m = /^sips?:(?:[^@;>]*@)?(\[[^\]]+\]|[^:;>]+)(?::(\d+))?/i.exec(target.contact.uri);
  if (!m?.[1]) return undefined;
  const host = m[1].replace(/^\[|\]$/g, '');
  const port = Number(m[2] ?? (src.transport === 'tls' ? 5061 : 5060));
  if (host === src.address && port === src.port) return undefined;
  const { proxy: _flow, ...rest } = req;
  return { ...rest, proxy: `sip:${hostPort(host, port)};transport=${src.transport}` };
}

/**
 * Carries a registered Path to the edge. Neither engine lets an app set Route (drachtio-server drops it
 * as an immutable header, Kumo's engine likewise), so the request goes to the Path's first hop
 * (`proxy`) with the whole Path in this header; the edge (infra/kamailio) takes its next hop from it
 * (the phone's received address) and removes it.
 */
export const PATH_HEADER = 'X-Kumo-Path';

/** The next hop of a registered Path (RFC 3327, set by a trusted edge): the first entry's host, port and transport. */
function pathHop(path: readonly string[]): string | undefined {
  const m = /^<?sips?:(?:[^@;>]*@)?(\[[^\]]+\]|[^:;>]+)(?::(\d+))?([^>]*)>?$/i.exec(path[0] ?? '');
  if (!m?.[1]) return undefined;
  const t = /;transport=([a-z]+)/i.exec(m[3] ?? '')?.[1]?.toLowerCase() ?? 'udp';
  return `sip:${m[1]}:${m[2] ?? (t === 'tls' ? '5061' : '5060')};transport=${t}`;
}

const DEFAULT_TRUNK_RING_CAP_SEC = 180;

/** How an unanswered call ends when the system ends it (drain, engine loss): the caller may retry elsewhere. */
const SYSTEM_STOP: Stop = { status: 503, reason: 'Service Unavailable', code: 'system', rejected: false };

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export class CallSession {
  private callerCancelled = false;
  private abortStep: (() => void) | undefined;
  private pickupHook: ((leg: Leg, byExtension?: string) => boolean) | undefined;
  private earlySdpSent = false;
  private ringingSent = false;
  private readonly ended: Promise<HangupBy>;
  private resolveEnded!: (by: HangupBy) => void;
  /** Resolved once an answered call's writes (record, hunt state, bridged legs) are issued; made when something waits for it. */
  private answerWrites: { readonly issued: Promise<void>; readonly resolve: () => void } | undefined;
  private answerWritesIssued = false;

  constructor(
    readonly plan: RoutePlan,
    readonly invite: InboundInvite,
    private readonly io: CallIo,
    private readonly o: SessionOptions,
  ) {
    this.ended = new Promise((r) => (this.resolveEnded = r));
    invite.onCancel(() => {
      this.callerCancelled = true;
      this.abortStep?.();
    });
    o.control?.onEnd(() => this.abortStep?.());
  }

  /** The caller's SDP offer (a picker is answered with it). */
  get callerSdp(): string {
    return this.invite.sdp;
  }

  /**
   * Connects `leg` (a picker, already answered with this call's offer) in place of the
   * ringing devices. Returns false when the call is no longer ringing. Otherwise resolves,
   * through `whenEnded()`, once the bridged call ends.
   */
  pickUp(leg: Leg, byExtension?: string): boolean {
    return this.pickupHook?.(leg, byExtension) ?? false;
  }

  whenEnded(): Promise<HangupBy> {
    return this.ended;
  }

  /** What waits for the answer's writes (`PickupRegistry.ringing`): undefined when they are already issued. */
  private afterAnswerWrites(): Promise<void> | undefined {
    if (this.answerWritesIssued) return undefined;
    if (this.answerWrites === undefined) {
      let resolve!: () => void;
      const issued = new Promise<void>((r) => (resolve = r));
      this.answerWrites = { issued, resolve };
    }
    return this.answerWrites.issued;
  }

  private answerWritesDone(): void {
    this.answerWritesIssued = true;
    this.answerWrites?.resolve();
  }

  async run(): Promise<SessionOutcome> {
    const plan = this.plan;
    const attempts: number[] = [];
    const segmentStartedAt: Record<string, number> = {};
    let next = plan.start;
    let stop: Stop | undefined;
    let trunkFull = false;
    let lastStep: PlanStep | undefined;
    try {
      while ('goto' in next) {
        const step = plan.steps[next.goto];
        if (!step) break;
        lastStep = step;
        attempts.push(step.index);
        if (step.segment !== undefined && segmentStartedAt[step.segment] === undefined) segmentStartedAt[step.segment] = this.io.now();
        if (this.callerCancelled) {
          stop = { status: 487, reason: 'Request Terminated', code: 'cancelled', rejected: false };
          break;
        }
        if (this.o.control?.endCause !== undefined) {
          stop = SYSTEM_STOP;
          break;
        }
        if (step.kind === 'pickup') {
          const picked = await this.runPickup(step.extensions, attempts, step);
          if (picked) return picked;
        }
        const gate = step.kind === 'trunk' ? this.o.trunkGate : undefined;
        const gated = gate && step.kind === 'trunk' ? await gate.acquire(step.trunkId) : true;
        if (!gated) trunkFull = true;
        const r: StepResult = gated
          ? await this.runStep(step, { step: step.index, now: this.io.now(), segmentStartedAt })
          : { kind: 'failed', failure: { kind: 'response', status: 503, reason: 'Trunk Channels Full' } };
        if (r.kind === 'answered') return await this.connect(step, r, attempts);
        if (gated && gate && step.kind === 'trunk') await gate.release(step.trunkId).catch((err: unknown) => this.o.onError?.(err, 'trunk-gate'));
        if (this.o.control?.endCause !== undefined && !this.callerCancelled) {
          stop = SYSTEM_STOP;
          break;
        }
        const d = onAttemptFailed(plan, { step: step.index, now: this.io.now(), segmentStartedAt }, r.failure);
        if (d.action === 'try') {
          next = { goto: d.step };
          continue;
        }
        stop = d.stop;
        break;
      }
      if (stop === undefined) {
        stop =
          'stop' in next
            ? next.stop
            : { status: 500, reason: 'Server Internal Error', code: 'bad-plan', rejected: false };
      }
    } catch (err) {
      this.o.onError?.(err, 'run');
      stop = { status: 500, reason: 'Server Internal Error', code: 'internal-error', rejected: false };
    }
    // The trunk's own channel limit, relayed as the last failure: say so (X-Kumo-Reason, Retry-After).
    if (trunkFull && stop.code === 'status-503' && stop.reason === 'Trunk Channels Full') stop = { ...stop, code: 'trunk-channels', rejected: true };
    const cancelled = this.callerCancelled || stop.code === 'cancelled';
    const unreachable = !cancelled && stop.code === UNREACHABLE_STOP.code;
    if (!cancelled) {
      this.invite.reject(stop.status, stop.reason, {
        'X-Kumo-Reason': stop.code,
        ...(unreachable ? { Reason: 'SIP;cause=480;text="No contact reachable"' } : {}),
      });
    }
    this.resolveEnded('system');
    return {
      endedAt: this.io.now(),
      finalStatus: cancelled ? 487 : stop.status,
      finalReason: cancelled ? 'Request Terminated' : stop.reason,
      ...(stop.rejected ? { rejectionReason: stop.code } : {}),
      ...(unreachable ? { unreachable: true } : {}),
      cancelledByCaller: this.callerCancelled,
      ...(lastStep !== undefined ? { step: lastStep } : {}),
      attempts,
    };
  }

  private async connect(step: PlanStep, r: Extract<StepResult, { kind: 'answered' }>, attempts: number[]): Promise<SessionOutcome> {
    try {
      return await this.connectAnswered(step, r, attempts);
    } finally {
      // Whatever happened, nothing waits for the answer's writes any longer (issued when the call was connected).
      this.answerWritesDone();
    }
  }

  private async connectAnswered(step: PlanStep, r: Extract<StepResult, { kind: 'answered' }>, attempts: number[]): Promise<SessionOutcome> {
    let caller: Leg;
    try {
      caller = await this.invite.answer(r.leg.remoteSdp);
    } catch (err) {
      // The caller went away while the callee answered: hang the callee up.
      this.o.onError?.(err, 'answer');
      this.answerWritesDone();
      await r.leg.hangup().catch(() => undefined);
      this.resolveEnded('caller');
      return {
        endedAt: this.io.now(),
        finalStatus: 487,
        finalReason: 'Request Terminated',
        cancelledByCaller: true,
        bLegCallId: r.leg.callId,
        step,
        attempts,
      };
    }
    const answeredAt = this.io.now();
    // Bridge first: in-dialog requests (a re-INVITE right after the ACK) must find the relay in place.
    const transfer = this.o.transfer;
    const attended = this.o.attended;
    const transferorOf = (from: 'caller' | 'callee'): { transferorExtension?: string } => {
      const x = from === 'caller' ? this.plan.caller.extension : r.target?.extension;
      return x !== undefined ? { transferorExtension: x } : {};
    };
    const control = this.o.control;
    // Who is on each leg: the caller as the called phone was shown it (none when withheld), the
    // extension that answered (or what was dialled). An attended transfer later tells them to each other.
    const pc = this.plan.caller;
    const callerParty: PartyIdentity | undefined = this.plan.privacy ? undefined : { user: pc.user, ...(pc.displayName !== undefined ? { displayName: pc.displayName } : {}) };
    const calleeParty: PartyIdentity = { user: r.target?.extension ?? (step.kind === 'trunk' ? step.number : this.plan.callee.dialled) };
    const partyOf = (side: 'caller' | 'callee'): { transfereeParty?: PartyIdentity } => {
      const p = side === 'caller' ? callerParty : calleeParty;
      return p !== undefined ? { transfereeParty: p } : {};
    };
    const bridgeOpts: BridgeOptions = {
      ...(this.o.dialogs ? { dialogs: this.o.dialogs } : {}),
      // The transferee is the side that did not send the REFER.
      ...(attended ? { attended: (t: AttendedRequest) => attended({ ...t, ...transferorOf(t.from), ...partyOf(t.from === 'caller' ? 'callee' : 'caller') }) } : {}),
      parties: { ...(callerParty ? { caller: callerParty } : {}), callee: calleeParty },
      ...(control ? { control } : {}),
      ...(this.o.keepAliveMs !== undefined && this.o.keepAliveMs > 0 ? { keepAliveMs: this.o.keepAliveMs } : {}),
    };
    const bridged = this.io.bridge(
      caller,
      r.leg,
      transfer
        ? (t) => {
            const transferorExtension = t.from === 'caller' ? this.plan.caller.extension : r.target?.extension;
            // Who stays on the line: the new leg shows them, not the transferor.
            const transfereeIdentity: PartyIdentity =
              t.from === 'callee'
                ? { user: pc.user, ...(pc.displayName !== undefined ? { displayName: pc.displayName } : {}) }
                : { user: r.target?.extension ?? this.plan.callee.dialled };
            return transfer({ ...t, transfereeIdentity, ...(transferorExtension !== undefined ? { transferorExtension } : {}) });
          }
        : undefined,
      bridgeOpts,
    );
    const maxMs = this.o.maxDurationMs;
    const clearMax = control && maxMs !== undefined && maxMs > 0 ? this.io.setTimer(maxMs, () => control.end('max-duration')) : undefined;
    // The call record and the hunt state are written together (one Redis round trip, not two in series).
    const parties = [this.plan.caller.extension, r.target?.extension].filter((x): x is string => x !== undefined);
    const t = this.o.tracker;
    const onAnswered = this.o.onAnswered;
    const recorded = onAnswered
      ? (async () => {
          try {
            await onAnswered({
              answeredAt,
              legs: [caller, r.leg],
              step,
              bLegCallId: r.leg.callId,
              answerSdp: r.leg.remoteSdp,
              ...(r.target !== undefined ? { answeredBy: r.target.extension } : {}),
              ...(t && parties.length > 0 ? { busy: parties } : {}),
            });
          } catch (err) {
            this.o.onError?.(err, 'call-record');
          }
        })()
      : Promise.resolve();
    if (t) {
      const ring = step.kind === 'ring' ? step : undefined;
      const member = r.target?.extension;
      const started = Promise.all([
        ring?.group !== undefined && ring.strategy === 'round-robin' && member !== undefined
          ? t.groupAnswered(ring.group, member)
          : Promise.resolve(),
        t.callStarted(parties),
      ]).catch((err: unknown) => this.o.onError?.(err, 'tracker'));
      this.answerWritesDone();
      await started;
    }
    this.answerWritesDone();
    await recorded;
    let hangupBy: HangupBy = 'system';
    try {
      hangupBy = await bridged;
    } catch (err) {
      this.o.onError?.(err, 'bridge');
      await Promise.all([caller.hangup(), r.leg.hangup()]).catch(() => undefined);
    } finally {
      clearMax?.();
      if (t) await t.callEnded(parties).catch((err: unknown) => this.o.onError?.(err, 'tracker'));
      this.resolveEnded(hangupBy);
    }
    return {
      answeredAt,
      endedAt: this.io.now(),
      finalStatus: 200,
      finalReason: 'OK',
      hangupBy,
      cancelledByCaller: false,
      bLegCallId: r.leg.callId,
      answerSdp: r.leg.remoteSdp,
      ...(r.leg.userAgent !== undefined ? { userAgentB: r.leg.userAgent } : {}),
      step,
      ...(r.target !== undefined ? { answeredBy: r.target.extension } : {}),
      attempts,
    };
  }

  private runStep(step: PlanStep, state: Parameters<typeof stepTimeoutMs>[1]): Promise<StepResult> {
    switch (step.kind) {
      case 'ring':
        return this.runForks(this.ringForks(step), { ringMs: stepTimeoutMs(this.plan, state), pickable: step });
      case 'trunk':
        return this.runForks([{ req: this.trunkRequest(step) }], {
          ringMs: (this.o.trunkRingCapSec ?? DEFAULT_TRUNK_RING_CAP_SEC) * 1000,
          setupMs: step.setupTimeoutSec * 1000,
        });
      case 'pickup':
        return Promise.resolve({ kind: 'failed', failure: { kind: 'no-targets' } });
    }
  }

  /** `*8` / `**<ext>`: answer with the ringing call's offer and take that call's place. */
  private async runPickup(extensions: readonly string[], attempts: number[], step: PlanStep): Promise<SessionOutcome | undefined> {
    const victim = await this.o.pickups?.find(extensions);
    if (!victim) return undefined;
    let mine: Leg;
    try {
      mine = await this.invite.answer(victim.callerSdp);
    } catch {
      this.resolveEnded('caller');
      return { endedAt: this.io.now(), finalStatus: 487, finalReason: 'Request Terminated', cancelledByCaller: true, step, attempts };
    }
    const answeredAt = this.io.now();
    let hangupBy: HangupBy = 'system';
    if (await victim.pickUp(mine, this.plan.caller.extension).catch(() => false)) {
      // From the ringing call's side the picker is the callee: turn its view around.
      const by = await victim.whenEnded();
      hangupBy = by === 'callee' ? 'caller' : by === 'caller' ? 'callee' : 'system';
    } else {
      await mine.hangup().catch(() => undefined);
    }
    this.resolveEnded(hangupBy);
    return {
      answeredAt,
      endedAt: this.io.now(),
      finalStatus: 200,
      finalReason: 'OK',
      hangupBy,
      cancelledByCaller: false,
      bLegCallId: victim.callId,
      answerSdp: victim.callerSdp,
      step,
      attempts,
    };
  }

  private ringForks(step: RingStep): Fork[] {
    const domain = this.o.domain;
    const c = this.plan.caller;
    const from = identityUri(c, domain);
    return step.targets.map((target) => {
      const src = target.contact.source;
      const path = target.contact.path;
      const via = path && path.length > 0 ? pathHop(path) : undefined;
      const req: DialRequest = {
        uri: target.contact.uri,
        ...(via ? { proxy: via } : src ? { proxy: `sip:${hostPort(src.address, src.port)};transport=${src.transport}` } : {}),
        headers: { From: from, To: `<sip:${target.extension}@${domain}>`, ...(via && path ? { [PATH_HEADER]: path.join(', ') } : {}) },
        sdp: this.invite.sdp,
      };
      const fallback = via ? undefined : contactFallback(target, req);
      return { target, req, ...(fallback ? { fallback } : {}) };
    });
  }

  private trunkRequest(step: TrunkStep): DialRequest {
    const g = step.gateway;
    const hp = hostPort(g.host, g.port);
    const id = step.callerId;
    const asserted = id.e164 !== null ? `<sip:${id.user}@${hp}>` : undefined;
    const display = id.displayName !== undefined ? `${quoteName(id.displayName)} ` : '';
    const headers: Record<string, string> = {
      From: step.privacy ? '"Anonymous" <sip:anonymous@anonymous.invalid>' : `${display}<sip:${id.user}@${hp}>`,
      To: `<sip:${step.number}@${hp}>`,
    };
    if (asserted !== undefined) headers['P-Asserted-Identity'] = asserted;
    if (step.privacy) headers.Privacy = 'id';
    const auth = this.o.trunkAuth?.(step.trunkId);
    return { uri: `sip:${step.number}@${hp};transport=${g.transport}`, headers, sdp: this.invite.sdp, ...(auth ? { auth } : {}) };
  }

  private runForks(forks: readonly Fork[], timing: { ringMs: number; setupMs?: number; pickable?: RingStep }): Promise<StepResult> {
    return new Promise<StepResult>((resolve) => {
      const pending: PendingDial[] = [];
      const failures: AttemptFailure[] = [];
      const clears: (() => void)[] = [];
      const unregister: ((after?: Promise<void>) => void)[] = [];
      let settled = false;
      let provisional = false;
      let early = false;
      const finish = (r: StepResult): void => {
        if (settled) return;
        settled = true;
        for (const c of clears) c();
        // An answered call's shared ringing entries go with the answer's writes (connect).
        const after = r.kind === 'answered' && unregister.length > 0 ? this.afterAnswerWrites() : undefined;
        for (const u of unregister) u(after);
        this.abortStep = undefined;
        this.pickupHook = undefined;
        resolve(r);
      };
      const cancelAll = (except?: number, reason?: CancelReason): void => {
        pending.forEach((p, i) => {
          if (i !== except) p.cancel(reason);
        });
      };
      if (forks.length === 0) {
        finish({ kind: 'failed', failure: { kind: 'no-targets' } });
        return;
      }
      this.abortStep = () => {
        cancelAll();
        finish({ kind: 'failed', failure: { kind: 'caller-cancelled' } });
      };
      if (timing.pickable && this.o.pickups) {
        const targets = [...new Set(timing.pickable.targets.map((t) => t.extension))];
        for (const ext of targets) unregister.push(this.o.pickups.ringing(ext, this));
        this.pickupHook = (leg, byExtension) => {
          if (settled) return false;
          cancelAll(undefined, 'answered-elsewhere');
          const target: RingTarget | undefined = byExtension !== undefined ? { extension: byExtension, contact: { uri: '' } } : undefined;
          finish({ kind: 'answered', leg, pickedUp: true, ...(target !== undefined ? { target } : {}) });
          return true;
        };
      }
      if (Number.isFinite(timing.ringMs)) {
        clears.push(
          this.io.setTimer(timing.ringMs, () => {
            cancelAll();
            finish({ kind: 'failed', failure: { kind: 'no-answer-timeout', earlyMedia: early } });
          }),
        );
      }
      if (timing.setupMs !== undefined) {
        clears.push(
          this.io.setTimer(timing.setupMs, () => {
            if (provisional) return;
            cancelAll();
            finish({ kind: 'failed', failure: { kind: 'setup-timeout' } });
          }),
        );
      }
      /** A failure that says nothing was reached: the transport failed (the engine's 503 or an error). */
      const unreached = (o: AttemptFailure): boolean => o.kind === 'transport-error' || (o.kind === 'response' && o.status === 503);
      const rang: boolean[] = forks.map(() => false);
      const failedAfter = (failure: AttemptFailure): void => {
        failures.push(failure);
        if (failures.length < forks.length) return;
        // Nothing rang anywhere and every fork failed at the transport: no device is reachable.
        const merged = !rang.some(Boolean) && failures.every(unreached) ? { kind: 'transport-error' as const } : mergeForkFailures(failures);
        finish({ kind: 'failed', failure: withEarly(merged, early) });
      };
      const start = (f: Fork, i: number, req: DialRequest, isFallback: boolean): void => {
        const p = this.io.dial(req, (prog) => {
          if (settled || prog.status <= 100) return;
          provisional = true;
          rang[i] = true;
          if (prog.sdp !== undefined && prog.sdp !== '' && !this.earlySdpSent) {
            this.earlySdpSent = true;
            early = true;
            this.invite.progress(183, prog.sdp);
          } else if (!this.ringingSent && !this.earlySdpSent) {
            this.ringingSent = true;
            this.invite.progress(180);
          }
        });
        pending[i] = p;
        p.outcome.then(
          (o) => {
            if (settled) {
              if (o.kind === 'answered') void o.leg.hangup().catch(() => undefined);
              return;
            }
            if (o.kind === 'answered') {
              cancelAll(i, 'answered-elsewhere');
              finish({ kind: 'answered', leg: o.leg, ...(f.target !== undefined ? { target: f.target } : {}) });
              return;
            }
            if (!isFallback && f.fallback && !rang[i] && unreached(o.failure)) {
              start(f, i, f.fallback, true);
              return;
            }
            failedAfter(o.failure);
          },
          (err: unknown) => {
            this.o.onError?.(err, 'dial');
            if (!settled) failedAfter({ kind: 'transport-error' });
          },
        );
      };
      forks.forEach((f, i) => start(f, i, f.req, false));
    });
  }
}

function withEarly(f: AttemptFailure, early: boolean): AttemptFailure {
  if (!early) return f;
  if (f.kind === 'response' || f.kind === 'transport-error' || f.kind === 'no-answer-timeout') return { ...f, earlyMedia: true };
  return f;
}
