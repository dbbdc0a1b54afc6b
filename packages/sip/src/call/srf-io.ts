/**
 * `CallIo` and `InboundInvite` over drachtio-srf: `createUAC` per fork (sent to the address
 * the phone registered from, through `proxy`), `createUAS` for the caller once a callee
 * answers, and an in-dialog relay between the two dialogs (BYE, re-INVITE, UPDATE, INFO).
 *
 * drachtio-srf's typings are loose (see drachtio/types.ts); the few members used here are
 * typed locally.
 */
import type { HangupBy } from '@kumo/domain';
import type { Logger } from '@kumo/runtime';
import type { CallIo, DialOutcome, InboundInvite, Leg, PendingDial } from './types.js';

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
  readonly sip: { readonly callId: string };
  readonly remote: { sdp: string };
  readonly local: { sdp: string };
  readonly connected: boolean;
  destroy(opts?: object): Promise<unknown>;
  modify(sdp: string): Promise<string>;
  request(opts: { method: string; headers?: Record<string, string>; body?: string }): Promise<SrfDialogRes>;
  on(ev: 'destroy', cb: (req?: unknown) => void): void;
  on(ev: 'modify' | 'info' | 'update' | 'refer' | 'notify' | 'message', cb: (req: SrfRequest, res: SrfResponse) => void): void;
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
    remoteSdp: d.remote.sdp,
    ...(userAgent !== undefined ? { userAgent } : {}),
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
    bridge(caller, callee): Promise<HangupBy> {
      const a = dialogs.get(caller);
      const b = dialogs.get(callee);
      if (!a || !b) return Promise.resolve('system');
      return new Promise<HangupBy>((resolve) => {
        let done = false;
        const end = (by: HangupBy, other: SrfDialog): void => {
          if (done) return;
          done = true;
          if (other.connected) void other.destroy().catch(() => undefined);
          resolve(by);
        };
        a.on('destroy', () => end('caller', b));
        b.on('destroy', () => end('callee', a));
        relay(a, b, log);
        relay(b, a, log);
        // Either side may already be gone (a BYE racing the 200/ACK).
        if (!a.connected) end('caller', b);
        else if (!b.connected) end('callee', a);
      });
    },
  };
}

/** In-dialog requests from `from` are re-issued on `to`; the answer goes back. */
function relay(from: SrfDialog, to: SrfDialog, log: Logger): void {
  from.on('modify', (req, res) => {
    to.modify(req.body).then(
      (sdp) => res.send(200, { body: sdp, headers: { 'Content-Type': 'application/sdp' } }),
      (err: unknown) => {
        const e = err as SipErrorLike;
        res.send(typeof e.status === 'number' && e.status >= 400 ? e.status : 488);
      },
    );
  });
  const pass = (method: 'INFO' | 'UPDATE' | 'MESSAGE') => (req: SrfRequest, res: SrfResponse) => {
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
  from.on('info', pass('INFO'));
  from.on('update', pass('UPDATE'));
  from.on('message', pass('MESSAGE'));
  // Transfer (REFER) is not offered yet: refuse it rather than let drachtio-srf accept it.
  from.on('refer', (_req, res) => res.send(501, 'Not Implemented'));
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
