/**
 * `CallIo` and `InboundInvite` over drachtio-srf: `createUAC` per fork (sent to the address
 * the phone registered from, through `proxy`), `createUAS` for the caller once a callee
 * answers, and an in-dialog relay between the two dialogs (BYE, re-INVITE, UPDATE, INFO),
 * blind transfer (REFER) and attended transfer (REFER with Replaces, legs found in the
 * tenant's `DialogRegistry`).
 *
 * drachtio-srf's typings are loose (see drachtio/types.ts); the few members used here are
 * typed locally.
 */
import type { HangupBy } from '@kumo/domain';
import type { Logger } from '@kumo/runtime';
import { capabilityHeaders } from '../methods/methods.js';
import { parseReplaces } from './dialogs.js';
import type { LegRecord } from '@kumo/store';
import { CANCEL_REASON_HEADER, type BridgedLeg, type BridgeOptions, type CallIo, type DialogFind, type DialOutcome, type InboundInvite, type Leg, type PendingDial } from './types.js';

/** drachtio-srf request as seen by an app (the members used here). */
export interface SrfRequest {
  readonly body: string;
  readonly srf: SrfLike;
  get(name: string): string | undefined;
  has(name: string): boolean;
  getParsedHeader(name: string): { uri?: string; params?: Record<string, string> };
  on(ev: 'cancel', cb: () => void): void;
  cancel?(): void;
}

export interface SrfResponse {
  readonly finalResponseSent: boolean;
  send(status: number, reason?: string | object, opts?: object): void;
}

interface SrfDialogRes {
  readonly status: number;
  readonly body?: string;
  /** Empty when no peer sent the response (the SIP stack made it up: the request could not be delivered). */
  readonly source_address?: string;
  get(name: string): string | undefined;
}

/** A 410/503 that no peer sent: the SIP stack could not deliver the request (e.g. drachtio-server after an ICMP unreachable or a closed connection). */
function undeliverable(status: number | undefined, source: string | undefined): boolean {
  return (status === 410 || status === 503) && !source;
}

/** The request / response a dialog was made from (drachtio-srf keeps them on the dialog). */
interface SrfMessageLike {
  get(name: string): string | undefined;
  readonly source_address?: string;
  readonly source_port?: number | string;
  readonly protocol?: string;
  /** Set by edge/trusted-edge.ts when the request came through a trusted edge proxy. */
  readonly edge?: { readonly address: string; readonly port: number | string; readonly protocol: string };
}

export interface SrfDialog {
  readonly sip: { readonly callId: string; readonly localTag?: string; readonly remoteTag?: string };
  readonly type?: 'uas' | 'uac';
  readonly req?: SrfMessageLike;
  readonly res?: SrfMessageLike;
  readonly remote: { sdp: string; uri?: string };
  readonly local: { sdp: string };
  readonly connected: boolean;
  destroy(opts?: object): Promise<unknown>;
  modify(sdp: string, opts?: { headers?: Record<string, string> }): Promise<string>;
  request(opts: { method: string; headers?: Record<string, string>; body?: string }): Promise<SrfDialogRes>;
  on(ev: 'destroy', cb: (req?: unknown) => void): void;
  on(ev: 'modify' | 'info' | 'update' | 'refer' | 'notify' | 'message' | 'options', cb: (req: SrfRequest, res: SrfResponse) => void): void;
  removeListener(ev: string, cb: (...args: never[]) => void): void;
}

interface SentRequest {
  cancel(opts?: { headers?: Record<string, string> }): void;
}

interface SipErrorLike {
  status?: number;
  reason?: string;
  /** The response (drachtio-srf sets it on a SipError); `source_address` is empty when the stack made it up. */
  res?: { source_address?: string };
}

export interface SrfLike {
  createUAC(
    uri: string,
    opts: { headers: Record<string, string>; localSdp: string; proxy?: string; auth?: { username: string; password: string } },
    progress: { cbRequest: (err: unknown, req?: SentRequest) => void; cbProvisional: (res: SrfDialogRes) => void },
  ): Promise<SrfDialog>;
  createUAS(req: SrfRequest, res: SrfResponse, opts: { localSdp: string; headers?: Record<string, string> }): Promise<SrfDialog>;
  createUAS(req: SrfRequest, res: SrfResponse, opts: { localSdp: string; headers?: Record<string, string> }, callback: (err: unknown, dialog?: SrfDialog) => void): unknown;
  request?(uri: string, opts: { method: string; headers?: Record<string, string>; proxy?: string }): Promise<SentOutOfDialog>;
}

interface SentOutOfDialog {
  on(ev: 'response', cb: (res: { status: number }) => void): void;
}

function withTag(header: string, tag: string | undefined): string {
  if (tag === undefined || tag === '' || /;\s*tag=/i.test(header)) return header;
  return `${header};tag=${tag}`;
}

/** What any process needs to end this dialog with a BYE (see byeLeg). Undefined for test doubles. */
function legRecordOf(d: SrfDialog, proxy?: string): LegRecord | undefined {
  const req = d.req;
  const target = d.remote.uri;
  if (!req || !d.type || target === undefined) return undefined;
  if (d.type === 'uas') {
    const to = req.get('To');
    const from = req.get('From');
    if (to === undefined || from === undefined) return undefined;
    // Through a trusted edge the BYE goes back to the edge (it routes on), not to the phone directly.
    const hop = req.edge ?? { address: req.source_address, port: req.source_port, protocol: req.protocol };
    const src = hop.address;
    const via =
      src !== undefined && hop.port !== undefined
        ? `sip:${src.includes(':') ? `[${src}]` : src}:${String(hop.port)};transport=${(hop.protocol ?? 'udp').toLowerCase()}`
        : undefined;
    return { side: 'caller', callId: d.sip.callId, local: withTag(to, d.sip.localTag), remote: from, target, ...(via !== undefined ? { proxy: via } : {}) };
  }
  const from = req.get('From');
  const to = d.res?.get('To');
  if (from === undefined || to === undefined) return undefined;
  return { side: 'callee', callId: d.sip.callId, local: withTag(from, d.sip.localTag), remote: withTag(to, d.sip.remoteTag), target, ...(proxy !== undefined ? { proxy } : {}) };
}

/** CSeq of a BYE sent from outside the dialog: above anything the dialog can have used. */
const RECOVERY_CSEQ = 1_000_000_000;

/**
 * Ends a dialog known only from its record (another process's call, or a dialog the engine
 * lost): a BYE built from the record, sent as a new request. Resolves with the final status,
 * or undefined when it could not be sent or got no answer within `timeoutMs`. Never throws.
 */
export async function byeLeg(srf: SrfLike, leg: LegRecord, log: Logger, timeoutMs = 5000): Promise<number | undefined> {
  if (!srf.request) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const sent = await srf.request(leg.target, {
      method: 'BYE',
      headers: { From: leg.local, To: leg.remote, 'Call-ID': leg.callId, CSeq: `${RECOVERY_CSEQ} BYE`, Reason: 'Q.850;cause=41;text="Kumo recovery"' },
      ...(leg.proxy !== undefined ? { proxy: leg.proxy } : {}),
    });
    return await new Promise<number | undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
      sent.on('response', (res) => {
        if (res.status >= 200) resolve(res.status);
      });
    });
  } catch (err) {
    log.debug({ err, callId: leg.callId }, 'recovery BYE not sent');
    return undefined;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

const dialogs = new WeakMap<Leg, SrfDialog>();

/** The dialog behind a leg made here (undefined for test doubles): the worker relay exports it (relayed-dialogs.ts). */
export function dialogOf(leg: Leg): SrfDialog | undefined {
  return dialogs.get(leg);
}

/** A leg over any dialog, also one another worker holds (relayed-dialogs.ts), with its record given. */
export function legOfDialog(d: SrfDialog, record?: LegRecord): Leg {
  return legOf(d, undefined, undefined, record);
}

/**
 * In-dialog requests that can arrive on a leg before the call is bridged, which drachtio-srf would
 * answer itself (and lose) as nobody listens yet:
 * - a REFER (a phone transferring the moment it answers: on drachtio-server it can come before the
 *   caller's ACK);
 * - a re-INVITE (a phone putting the call on hold right after its ACK): srf answers a re-INVITE
 *   nobody listens to at once, while the frame is read. The engine may deliver the caller's ACK and
 *   that re-INVITE in the same read as the answer's own confirmation, before the promise continuation
 *   that bridges the call has run.
 * Each leg holds them from the moment its dialog exists (the caller's: synchronously in createUAS's
 * callback) until `bridge` attaches its handlers and replays them. (srf itself defers INFO, UPDATE,
 * MESSAGE and OPTIONS to `setImmediate` for the same reason.)
 */
const HELD_EVENTS = ['refer', 'modify'] as const;
type HeldEvent = (typeof HELD_EVENTS)[number];
const earlyRequests = new WeakMap<SrfDialog, { held: [HeldEvent, SrfRequest, SrfResponse][]; stop(): void }>();

export function holdEarlyRequests(d: SrfDialog): void {
  if (earlyRequests.has(d)) return;
  const held: [HeldEvent, SrfRequest, SrfResponse][] = [];
  const holds = HELD_EVENTS.map((ev) => {
    const h: Handler = (req, res) => {
      held.push([ev, req, res]);
    };
    return [ev, h] as const;
  });
  for (const [ev, h] of holds) d.on(ev, h);
  earlyRequests.set(d, {
    held,
    stop: () => {
      for (const [ev, h] of holds) d.removeListener(ev, h);
    },
  });
}

/**
 * Stops holding on `d` and hands the held requests, in order, to the listeners attached now; one
 * nobody listens to is answered as drachtio-srf would have (200, a re-INVITE with the current SDP).
 */
export function replayEarlyRequests(d: SrfDialog): void {
  const e = earlyRequests.get(d);
  if (!e) return;
  earlyRequests.delete(d);
  e.stop();
  const em = d as unknown as NodeJS.EventEmitter;
  for (const [ev, req, res] of e.held) {
    if (em.listenerCount(ev) > 0) em.emit(ev, req, res);
    else if (ev === 'modify') res.send(200, { body: d.local.sdp, headers: { 'Content-Type': 'application/sdp' } });
    else res.send(200);
  }
}

function legOf(d: SrfDialog, userAgent?: string, proxy?: string, record = legRecordOf(d, proxy)): Leg {
  holdEarlyRequests(d);
  let gone: Promise<void> | undefined;
  const leg: Leg = {
    callId: d.sip.callId,
    ...(record !== undefined ? { dialog: record } : {}),
    get remoteSdp() {
      return d.remote.sdp;
    },
    ...(userAgent !== undefined ? { userAgent } : {}),
    // Extra headers (P-Asserted-Identity after a transfer) ride on the re-INVITE; drachtio keeps the Contact.
    reoffer: (sdp, headers) => (headers && Object.keys(headers).length > 0 ? d.modify(sdp, { headers: { ...headers } }) : d.modify(sdp)),
    hangup: () => {
      if (!d.connected) return Promise.resolve();
      // A BYE on a lost engine link may never be answered: give up waiting after a while.
      // The timer goes once the BYE is answered: not one live 10 s timer per ended call.
      gone ??= new Promise<void>((r) => {
        const t = setTimeout(r, 10_000).unref();
        const done = (): void => {
          clearTimeout(t);
          r();
        };
        d.destroy().then(done, done);
      });
      return gone;
    },
  };
  dialogs.set(leg, d);
  return leg;
}

export interface SrfIoOptions {
  /**
   * RFC 4028: offer session timers to called parties (`Supported: timer`, `Session-Expires`), s.
   * 0/undefined: not offered (the OPTIONS keep-alive covers those legs).
   */
  readonly sessionExpiresS?: number;
}

export function srfCallIo(srf: SrfLike, log: Logger, io: SrfIoOptions = {}): CallIo {
  const timerHeaders: Record<string, string> =
    io.sessionExpiresS !== undefined && io.sessionExpiresS > 0 ? { Supported: 'timer', 'Session-Expires': String(io.sessionExpiresS) } : {};
  return {
    now: () => Date.now(),
    setTimer(ms, cb) {
      const t = setTimeout(cb, Math.max(0, Math.min(ms, 2_147_000_000)));
      return () => clearTimeout(t);
    },
    dial(req, onProgress): PendingDial {
      let sent: SentRequest | undefined;
      let cancelled = false;
      let cancelOpts: { headers?: Record<string, string> } = {};
      const outcome: Promise<DialOutcome> = srf
        .createUAC(
          req.uri,
          {
            headers: { ...timerHeaders, ...req.headers },
            localSdp: req.sdp,
            ...(req.proxy !== undefined ? { proxy: req.proxy } : {}),
            ...(req.auth !== undefined ? { auth: { ...req.auth } } : {}),
          },
          {
            cbRequest: (err, r) => {
              if (err || !r) return;
              sent = r;
              if (cancelled) r.cancel(cancelOpts);
            },
            cbProvisional: (res) => {
              onProgress({ status: res.status, ...(res.body !== undefined && res.body !== '' ? { sdp: res.body } : {}) });
            },
          },
        )
        .then(
          (d): DialOutcome => {
            if (cancelled) {
              void d.destroy().catch(() => undefined);
              return { kind: 'failed', failure: { kind: 'caller-cancelled' } };
            }
            return { kind: 'answered', leg: legOf(d, undefined, req.proxy) };
          },
          (err: unknown): DialOutcome => {
            const e = err as SipErrorLike;
            // A 410/503 that no peer sent (no source address): the SIP stack could not deliver the request —
            // drachtio-server answers `410 Gone` itself when a registration's TCP connection is closed.
            if (e.res !== undefined && undeliverable(e.status, e.res.source_address)) {
              log.debug({ status: e.status, uri: req.uri }, 'dial failed at the transport');
              return { kind: 'failed', failure: { kind: 'transport-error' } };
            }
            if (typeof e.status === 'number') {
              return { kind: 'failed', failure: { kind: 'response', status: e.status, ...(e.reason !== undefined ? { reason: e.reason } : {}) } };
            }
            log.debug({ err, uri: req.uri }, 'dial failed');
            return { kind: 'failed', failure: { kind: 'transport-error' } };
          },
        );
      return {
        outcome,
        cancel(reason) {
          if (cancelled) return;
          cancelled = true;
          if (reason !== undefined) cancelOpts = { headers: { Reason: CANCEL_REASON_HEADER[reason] } };
          try {
            sent?.cancel(cancelOpts);
          } catch (err) {
            log.debug({ err }, 'cancel failed');
          }
        },
      };
    },
    bridge(caller, callee, onTransfer, opts): Promise<HangupBy> {
      const a = dialogs.get(caller);
      const b = dialogs.get(callee);
      if (!a || !b) return Promise.resolve('system');
      return new Promise<HangupBy>((resolve) => {
        let done = false;
        /** Set while a transfer runs: the transferee must survive the transferor's BYE. */
        let transferring = false;
        const registration: { off?: () => void } = {};
        const cleanups: (() => void)[] = [];
        const end = (by: HangupBy, other: SrfDialog | undefined): void => {
          if (done) return;
          done = true;
          registration.off?.();
          for (const c of cleanups.splice(0)) c();
          detachA();
          detachB();
          if (!transferring && other?.connected === true) void other.destroy().catch(() => undefined);
          resolve(by);
        };
        const onA = (): void => end('caller', b);
        const onB = (): void => end('callee', a);
        a.on('destroy', onA);
        b.on('destroy', onB);
        const transfer = (side: 'caller' | 'callee', transferee: Leg) => (req: SrfRequest, res: SrfResponse) => {
          const referTo = req.get('refer-to') ?? '';
          if (/replaces/i.test(referTo)) return attended(side, transferee, referTo, req, res);
          if (!onTransfer) return res.send(501, 'Not Implemented');
          const m = /<?sips?:([^@;>]+)@/i.exec(referTo);
          const target = m?.[1] !== undefined ? decodeURIComponent(m[1]) : '';
          if (target === '') return res.send(400, 'Bad Refer-To');
          const transferor = side === 'caller' ? a : b;
          res.send(202, 'Accepted');
          transferring = true;
          void sipfrag(transferor, '100 Trying', false, log);
          // The transferee leaves this bridge now; the transfer's own session takes it over.
          (side === 'caller' ? detachB : detachA)();
          onTransfer({ from: side, target, transferee }).then(
            async (r) => {
              if (r.ok) {
                await sipfrag(transferor, '200 OK', true, log);
                // Release the transferor; this call is over for it.
                if (transferor.connected) void transferor.destroy().catch(() => undefined);
                end(side, undefined);
              } else {
                await sipfrag(transferor, `${r.status} ${r.reason}`, true, log);
                transferring = false;
                // Back to the call as it was; if the transferor left meanwhile, nobody is left for the transferee.
                if (done) void transferee.hangup().catch(() => undefined);
                else (side === 'caller' ? attachB : attachA)();
              }
            },
            (err: unknown) => log.warn({ err }, 'transfer failed'),
          );
        };
        /** REFER with Replaces: join the transferee to the other party of the replaced dialog (docs/routing.md). */
        const attended = (side: 'caller' | 'callee', transferee: Leg, referTo: string, _req: SrfRequest, res: SrfResponse): void => {
          const handler = opts?.attended;
          const dialogs = opts?.dialogs;
          if (!handler || !dialogs) return res.send(501, 'Not Implemented (attended transfer)');
          const r = parseReplaces(referTo);
          if (!r) return res.send(400, 'Bad Replaces');
          const m = /<?sips?:([^@;>?]+)@/i.exec(referTo);
          const target = m?.[1] !== undefined ? decodeURIComponent(m[1]) : '';
          void Promise.resolve(dialogs.find(r)).then(
            (found) => attendedFound(found, side, transferee, target, res, handler),
            (err: unknown) => {
              log.warn({ err }, 'Replaces lookup failed');
              if (!res.finalResponseSent) res.send(500);
            },
          );
        };
        const attendedFound = (
          found: DialogFind,
          side: 'caller' | 'callee',
          transferee: Leg,
          target: string,
          res: SrfResponse,
          handler: NonNullable<BridgeOptions['attended']>,
        ): void => {
          if (found.kind === 'other-tenant') return res.send(403, 'Forbidden');
          const transferor = side === 'caller' ? a : b;
          const mine = (side === 'caller' ? legA : legB).key;
          const self = found.kind === 'found' && found.leg.key.callId === mine.callId && found.leg.key.localTag === mine.localTag;
          if (found.kind === 'none' || self || transferring || done) {
            // RFC 3891 answers an unknown Replaces with 481; a REFER reports it in the final NOTIFY.
            res.send(202, 'Accepted');
            void sipfrag(transferor, '481 Call/Transaction Does Not Exist', true, log);
            return;
          }
          res.send(202, 'Accepted');
          transferring = true;
          void sipfrag(transferor, '100 Trying', false, log);
          (side === 'caller' ? detachB : detachA)();
          let joined = false;
          handler({
            from: side,
            target,
            transferee,
            ...(found.leg.peer !== undefined ? { joinedParty: found.leg.peer } : {}),
            join: async (headers) => {
              const taken = await found.leg.takeOver();
              if (!taken) return { ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' };
              joined = true;
              void taken.replaced.hangup();
              try {
                if (!transferee.reoffer || !taken.other.reoffer) throw new Error('leg cannot be re-offered');
                // Each is told who it now talks to on the re-INVITE that connects it (RFC 4916-style).
                const answer = await transferee.reoffer(taken.other.remoteSdp, headers?.transferee);
                await taken.other.reoffer(answer, headers?.other);
                return { ok: true, other: taken.other };
              } catch (err) {
                log.debug({ err }, 'attended transfer re-INVITE failed');
                await Promise.all([transferee.hangup(), taken.other.hangup()]).catch(() => undefined);
                return { ok: false, status: 500, reason: 'Server Internal Error' };
              }
            },
          }).then(
            async (x) => {
              await sipfrag(transferor, x.ok ? '200 OK' : `${x.status} ${x.reason}`, true, log);
              if (x.ok || joined) {
                if (transferor.connected) void transferor.destroy().catch(() => undefined);
                end(side, undefined);
                return;
              }
              transferring = false;
              if (done) void transferee.hangup().catch(() => undefined);
              else (side === 'caller' ? attachB : attachA)();
            },
            (err: unknown) => log.warn({ err }, 'attended transfer failed'),
          );
        };
        const keyOf = (d: SrfDialog) => ({ callId: d.sip.callId, localTag: d.sip.localTag ?? '', remoteTag: d.sip.remoteTag ?? '' });
        const takeOver = (side: 'caller' | 'callee') => (): { replaced: Leg; other: Leg } | undefined => {
          if (done || transferring) return undefined;
          transferring = true;
          end(side, undefined);
          return side === 'caller' ? { replaced: caller, other: callee } : { replaced: callee, other: caller };
        };
        const parties = opts?.parties;
        const legA: BridgedLeg = { key: keyOf(a), takeOver: takeOver('caller'), ...(parties?.callee ? { peer: parties.callee } : {}) };
        const legB: BridgedLeg = { key: keyOf(b), takeOver: takeOver('callee'), ...(parties?.caller ? { peer: parties.caller } : {}) };
        const relayA = relay(a, b, log, transfer('caller', callee));
        const relayB = relay(b, a, log, transfer('callee', caller));
        replayEarlyRequests(a);
        replayEarlyRequests(b);
        const detachA = (): void => {
          a.removeListener('destroy', onA);
          relayA.detach();
        };
        const detachB = (): void => {
          b.removeListener('destroy', onB);
          relayB.detach();
        };
        const attachA = (): void => {
          a.on('destroy', onA);
          relayA.attach();
        };
        const attachB = (): void => {
          b.on('destroy', onB);
          relayB.attach();
        };
        const off = opts?.dialogs?.add(legA, legB);
        if (off) registration.off = off;
        // The system ends the call (drain, engine loss, keep-alive, maximum duration): BYE to both legs.
        const control = opts?.control;
        if (control) {
          cleanups.push(
            control.onEnd((cause) => {
              if (done) return;
              log.info({ cause, callId: a.sip.callId }, 'call ended by the system');
              transferring = false;
              end('system', undefined);
              void Promise.all([caller.hangup(), callee.hangup()]);
            }),
          );
        }
        const legGone = (d: SrfDialog, why: string): void => {
          if (done || transferring) return;
          log.info({ callId: d.sip.callId, why }, 'keep-alive: leg gone; ending the call');
          if (control) control.end('keepalive-timeout');
          else end('system', undefined);
        };
        // RFC 4028 session timers where the far end took them up; OPTIONS probes for the others.
        const probed: SrfDialog[] = [];
        for (const d of [a, b]) {
          const st = sessionTimerOf(d);
          if (st) cleanups.push(runSessionTimer(d, st, () => done || transferring, legGone, log));
          else probed.push(d);
        }
        const keepAliveMs = opts?.keepAliveMs ?? 0;
        if (keepAliveMs > 0 && probed.length > 0) {
          const timer = setInterval(() => {
            if (done || transferring) return;
            for (const d of probed) {
              void probe(d, keepAliveMs, log).then((status) => {
                if (status !== 'alive') legGone(d, `OPTIONS: ${status}`);
              });
            }
          }, keepAliveMs);
          timer.unref();
          cleanups.push(() => clearInterval(timer));
        }
        // Either side may already be gone (a BYE racing the 200/ACK).
        if (!a.connected) end('caller', b);
        else if (!b.connected) end('callee', a);
      });
    },
  };
}

/** A session timer the called party accepted (its 2xx carried Session-Expires). */
export interface SessionTimer {
  readonly expiresS: number;
  /** Kumo (the UAC of this dialog) refreshes; otherwise the far end does and Kumo watches. */
  readonly kumoRefreshes: boolean;
  /** The far end allows UPDATE (refresh without SDP); otherwise re-INVITE. */
  readonly update: boolean;
}

/** RFC 4028 §7: the session timer of a dialog Kumo started, from the Session-Expires of the 2xx. */
export function sessionTimerOf(d: Pick<SrfDialog, 'type' | 'res'>): SessionTimer | undefined {
  if (d.type !== 'uac') return undefined;
  const v = d.res?.get('Session-Expires');
  const m = v !== undefined ? /^\s*(\d+)\s*(?:;(.*))?$/.exec(v) : null;
  if (!m) return undefined;
  const expiresS = Number(m[1]);
  if (!(expiresS > 0)) return undefined;
  const refresher = /refresher\s*=\s*(uac|uas)/i.exec(m[2] ?? '')?.[1]?.toLowerCase() ?? 'uac';
  return { expiresS, kumoRefreshes: refresher === 'uac', update: /\bUPDATE\b/i.test(d.res?.get('Allow') ?? '') };
}

/**
 * Runs one dialog's session timer: Kumo refreshes at half the interval (UPDATE when allowed,
 * else re-INVITE with the current SDP) and a refresh answered 408/481 or failing ends the call;
 * or the far end refreshes and a session not refreshed before it expires (RFC 4028 §10: the
 * interval less a third, at most 32 s) ends the call. Returns the stop function.
 */
export function runSessionTimer(d: SrfDialog, st: SessionTimer, paused: () => boolean, gone: (d: SrfDialog, why: string) => void, log: Logger): () => void {
  const ms = st.expiresS * 1000;
  if (st.kumoRefreshes) {
    const headers = { Supported: 'timer', 'Session-Expires': `${st.expiresS};refresher=uac` };
    const refresh = async (): Promise<string | undefined> => {
      try {
        if (st.update) {
          const r = await d.request({ method: 'UPDATE', headers });
          return r.status === 408 || r.status === 481 ? `refresh answered ${r.status}` : undefined;
        }
        await d.modify(d.local.sdp, { headers: { ...headers } });
        return undefined;
      } catch (err) {
        const status = (err as SipErrorLike).status;
        log.debug({ err }, 'session refresh failed');
        return status === undefined || status === 408 || status === 481 ? `refresh failed (${status ?? 'no answer'})` : undefined;
      }
    };
    const t = setInterval(() => {
      if (paused() || !d.connected) return;
      void refresh().then((why) => {
        if (why !== undefined && d.connected) gone(d, why);
      });
    }, Math.max(250, ms / 2));
    t.unref();
    return () => clearInterval(t);
  }
  let last = Date.now();
  const touch = (): void => {
    last = Date.now();
  };
  d.on('modify', touch);
  d.on('update', touch);
  const limit = ms - Math.min(32_000, ms / 3);
  const t = setInterval(() => {
    if (!paused() && d.connected && Date.now() - last > limit) gone(d, 'session expired (no refresh)');
  }, Math.max(100, Math.min(1000, limit / 4)));
  t.unref();
  return () => {
    clearInterval(t);
    d.removeListener('modify', touch);
    d.removeListener('update', touch);
  };
}

const probing = new WeakSet<SrfDialog>();

/**
 * In-dialog OPTIONS (RFC 3261 §11; the keep-alive when session timers are not in use): any
 * answer but 408/481 means the far end still has the dialog. No answer within `timeoutMs`
 * (or a failed send) means it is gone. One probe per dialog at a time.
 */
async function probe(d: SrfDialog, timeoutMs: number, log: Logger): Promise<'alive' | 408 | 481 | 'no-answer'> {
  if (!d.connected || probing.has(d)) return 'alive';
  probing.add(d);
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await Promise.race([
      d.request({ method: 'OPTIONS', headers: { Accept: 'application/sdp' } }),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
    ]);
    if (!d.connected) return 'alive';
    if (r === undefined) return 'no-answer';
    if (undeliverable(r.status, r.source_address)) return 408;
    return r.status === 408 || r.status === 481 ? r.status : 'alive';
  } catch (err) {
    log.debug({ err }, 'keep-alive OPTIONS failed');
    const status = (err as SipErrorLike).status;
    return !d.connected ? 'alive' : status === 481 ? 481 : status === undefined || status === 408 ? 408 : 'alive';
  } finally {
    if (timer) clearTimeout(timer);
    probing.delete(d);
  }
}

/** NOTIFY with a message/sipfrag body (RFC 3515) reporting a REFER's progress. */
async function sipfrag(d: SrfDialog, status: string, final: boolean, log: Logger): Promise<void> {
  if (!d.connected) return;
  try {
    await d.request({
      method: 'NOTIFY',
      headers: {
        Event: 'refer',
        'Subscription-State': final ? 'terminated;reason=noresource' : 'active;expires=60',
        'Content-Type': 'message/sipfrag;version=2.0',
      },
      body: `SIP/2.0 ${status}\r\n`,
    });
  } catch (err) {
    log.debug({ err }, 'NOTIFY (sipfrag) failed');
  }
}

type Handler = (req: SrfRequest, res: SrfResponse) => void;

/** In-dialog requests from `from` are re-issued on `to`; the answer goes back. Detachable. */
function relay(from: SrfDialog, to: SrfDialog, log: Logger, onRefer: Handler): { attach(): void; detach(): void } {
  const modify: Handler = (req, res) => {
    to.modify(req.body).then(
      (sdp) => res.send(200, { body: sdp, headers: { 'Content-Type': 'application/sdp' } }),
      (err: unknown) => {
        const e = err as SipErrorLike;
        res.send(typeof e.status === 'number' && e.status >= 400 ? e.status : 488);
      },
    );
  };
  const pass = (method: 'INFO' | 'UPDATE' | 'MESSAGE'): Handler => (req, res) => {
    const ct = req.get('Content-Type');
    to.request({ method, headers: ct !== undefined ? { 'Content-Type': ct } : {}, ...(req.body ? { body: req.body } : {}) }).then(
      (r) => {
        const rct = r.get('Content-Type');
        res.send(r.status, { ...(r.body ? { body: r.body } : {}), headers: rct !== undefined ? { 'Content-Type': rct } : {} });
      },
      (err: unknown) => {
        log.debug({ err, method }, 'in-dialog relay failed');
        res.send(500);
      },
    );
  };
  // OPTIONS inside a call (a keep-alive or a capability query) is answered by Kumo, not relayed.
  const options: Handler = (_req, res) => res.send(200, { headers: capabilityHeaders() });
  const handlers: [ 'modify' | 'info' | 'update' | 'message' | 'refer' | 'options', Handler][] = [
    ['modify', modify],
    ['options', options],
    ['info', pass('INFO')],
    ['update', pass('UPDATE')],
    ['message', pass('MESSAGE')],
    ['refer', onRefer],
  ];
  const attach = (): void => {
    for (const [ev, h] of handlers) from.on(ev, h);
  };
  attach();
  return {
    attach,
    detach: () => {
      for (const [ev, h] of handlers) from.removeListener(ev, h);
    },
  };
}

export function srfInvite(req: SrfRequest, res: SrfResponse): InboundInvite {
  const fromTag = req.getParsedHeader('from').params?.tag ?? '';
  const ua = req.get('user-agent');
  return {
    callId: req.get('call-id') ?? '',
    fromTag,
    sdp: req.body,
    ...(ua !== undefined ? { userAgent: ua } : {}),
    progress(status, sdp) {
      if (res.finalResponseSent) return;
      res.send(status, sdp !== undefined ? { body: sdp, headers: { 'Content-Type': 'application/sdp' } } : {});
    },
    async answer(sdp, headers) {
      // The callback form: srf calls it as the 200 is confirmed, in the same turn, so the early-request
      // hold is in place before any later frame of that read (the promise form resolves a turn later).
      const d = await new Promise<SrfDialog>((resolve, reject) => {
        req.srf.createUAS(req, res, { localSdp: sdp, headers: { ...(headers ?? {}), 'Content-Type': 'application/sdp' } }, (err, dialog) => {
          if (err || !dialog) {
            reject(err instanceof Error ? err : new Error('createUAS failed without an error'));
            return;
          }
          holdEarlyRequests(dialog);
          resolve(dialog);
        });
      });
      return legOf(d, ua);
    },
    reject(status, reason, headers) {
      if (res.finalResponseSent) return;
      try {
        res.send(status, reason, { headers: { ...(headers ?? {}) } });
      } catch {
        // the engine link is gone: nothing can be sent (the engine answers what it still has)
      }
    },
    onCancel(cb) {
      req.on('cancel', cb);
    },
  };
}
