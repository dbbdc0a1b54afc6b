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
import type { BridgedLeg, CallIo, DialOutcome, InboundInvite, Leg, PendingDial } from './types.js';

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
  get(name: string): string | undefined;
}

export interface SrfDialog {
  readonly sip: { readonly callId: string; readonly localTag?: string; readonly remoteTag?: string };
  readonly remote: { sdp: string };
  readonly local: { sdp: string };
  readonly connected: boolean;
  destroy(opts?: object): Promise<unknown>;
  modify(sdp: string): Promise<string>;
  request(opts: { method: string; headers?: Record<string, string>; body?: string }): Promise<SrfDialogRes>;
  on(ev: 'destroy', cb: (req?: unknown) => void): void;
  on(ev: 'modify' | 'info' | 'update' | 'refer' | 'notify' | 'message' | 'options', cb: (req: SrfRequest, res: SrfResponse) => void): void;
  removeListener(ev: string, cb: (...args: never[]) => void): void;
}

interface SentRequest {
  cancel(): void;
}

interface SipErrorLike {
  status?: number;
  reason?: string;
}

export interface SrfLike {
  createUAC(
    uri: string,
    opts: { headers: Record<string, string>; localSdp: string; proxy?: string },
    progress: { cbRequest: (err: unknown, req?: SentRequest) => void; cbProvisional: (res: SrfDialogRes) => void },
  ): Promise<SrfDialog>;
  createUAS(req: SrfRequest, res: SrfResponse, opts: { localSdp: string; headers?: Record<string, string> }): Promise<SrfDialog>;
}

const dialogs = new WeakMap<Leg, SrfDialog>();

function legOf(d: SrfDialog, userAgent?: string): Leg {
  let gone: Promise<void> | undefined;
  const leg: Leg = {
    callId: d.sip.callId,
    get remoteSdp() {
      return d.remote.sdp;
    },
    ...(userAgent !== undefined ? { userAgent } : {}),
    reoffer: (sdp) => d.modify(sdp),
    hangup: () => {
      if (!d.connected) return Promise.resolve();
      gone ??= d.destroy().then(
        () => undefined,
        () => undefined,
      );
      return gone;
    },
  };
  dialogs.set(leg, d);
  return leg;
}

export function srfCallIo(srf: SrfLike, log: Logger): CallIo {
  return {
    now: () => Date.now(),
    setTimer(ms, cb) {
      const t = setTimeout(cb, Math.max(0, Math.min(ms, 2_147_000_000)));
      return () => clearTimeout(t);
    },
    dial(req, onProgress): PendingDial {
      let sent: SentRequest | undefined;
      let cancelled = false;
      const outcome: Promise<DialOutcome> = srf
        .createUAC(
          req.uri,
          { headers: { ...req.headers }, localSdp: req.sdp, ...(req.proxy !== undefined ? { proxy: req.proxy } : {}) },
          {
            cbRequest: (err, r) => {
              if (err || !r) return;
              sent = r;
              if (cancelled) r.cancel();
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
            return { kind: 'answered', leg: legOf(d) };
          },
          (err: unknown): DialOutcome => {
            const e = err as SipErrorLike;
            if (typeof e.status === 'number') {
              return { kind: 'failed', failure: { kind: 'response', status: e.status, ...(e.reason !== undefined ? { reason: e.reason } : {}) } };
            }
            log.debug({ err, uri: req.uri }, 'dial failed');
            return { kind: 'failed', failure: { kind: 'transport-error' } };
          },
        );
      return {
        outcome,
        cancel() {
          if (cancelled) return;
          cancelled = true;
          try {
            sent?.cancel();
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
        const end = (by: HangupBy, other: SrfDialog | undefined): void => {
          if (done) return;
          done = true;
          registration.off?.();
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
          const found = dialogs.find(r);
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
            join: async () => {
              const taken = found.leg.takeOver();
              if (!taken) return { ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' };
              joined = true;
              void taken.replaced.hangup();
              try {
                if (!transferee.reoffer || !taken.other.reoffer) throw new Error('leg cannot be re-offered');
                const answer = await transferee.reoffer(taken.other.remoteSdp);
                await taken.other.reoffer(answer);
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
        const legA: BridgedLeg = { key: keyOf(a), takeOver: takeOver('caller') };
        const legB: BridgedLeg = { key: keyOf(b), takeOver: takeOver('callee') };
        const relayA = relay(a, b, log, transfer('caller', callee));
        const relayB = relay(b, a, log, transfer('callee', caller));
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
        // Either side may already be gone (a BYE racing the 200/ACK).
        if (!a.connected) end('caller', b);
        else if (!b.connected) end('callee', a);
      });
    },
  };
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
    async answer(sdp) {
      const d = await req.srf.createUAS(req, res, { localSdp: sdp, headers: { 'Content-Type': 'application/sdp' } });
      return legOf(d, ua);
    },
    reject(status, reason, headers) {
      if (res.finalResponseSent) return;
      res.send(status, reason, { headers: { ...(headers ?? {}) } });
    },
    onCancel(cb) {
      req.on('cancel', cb);
    },
  };
}
