/**
 * Dialogs split over two sip workers (docs/scaling.md). The worker that holds a dialog (its engine
 * connection created it) *exports* it to a peer; the peer sees a `RemoteDialog` — the same
 * `SrfDialog` face the bridge (srf-io.ts) works with — so a call can bridge a leg of its own with
 * a leg of another worker unchanged:
 *
 * - in-dialog requests from the party (BYE, re-INVITE, UPDATE, INFO, MESSAGE, REFER) reach the
 *   holder, which relays them to the peer's RemoteDialog as events; the peer's answer goes back
 *   as the holder's response (OPTIONS is answered by the holder itself);
 * - what the peer does on the RemoteDialog (BYE, re-INVITE, any request) the holder does on the
 *   real dialog, and answers with the outcome.
 *
 * Either side ends the pair when its party hangs up, when the other side's worker dies (relay.ts
 * watches the heartbeats) or when the system ends the call (an export is a call in the holder's
 * registry: drain and engine loss reach it).
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Logger } from '@kumo/runtime';
import type { LegRecord } from '@kumo/store';
import { capabilityHeaders } from '../methods/methods.js';
import type { CallRegistry } from './registry.js';
import type { WorkerRelay } from './relay.js';
import { replayEarlyRequests, runSessionTimer, sessionTimerOf, type SrfDialog, type SrfRequest, type SrfResponse } from './srf-io.js';

/** What a peer needs to stand in for a dialog it does not hold. */
export interface HalfInfo {
  readonly halfId: string;
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly remoteSdp: string;
  readonly localSdp: string;
  /** For the peer's call record (a recovering process sends the BYE). */
  readonly record?: LegRecord;
}

/** How an exported dialog ended: its party hung up, the peer hung it up, or the system ended it. */
export type HalfEnd = 'local' | 'remote' | 'system';

export interface ExportedDialog {
  readonly info: HalfInfo;
  readonly ended: Promise<HalfEnd>;
  /** Stops relaying without touching the dialog (the peer refused it). */
  close(): void;
}

interface RelayedRequest {
  readonly halfId: string;
  readonly ev: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

interface RelayedAnswer {
  readonly status: number;
  readonly reason?: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/** In-dialog request events relayed to the peer (OPTIONS is answered by the holder). */
const EVENTS = ['modify', 'info', 'update', 'message', 'refer'] as const;
/** Headers of a relayed request the other side reads. */
const HEADERS = ['content-type', 'refer-to', 'referred-by', 'event', 'session-expires'];
/** A re-INVITE waits for the far end (up to a transaction timeout). */
const MODIFY_TIMEOUT_MS = 40_000;
const REQUEST_TIMEOUT_MS = 35_000;
const NOTICE_TIMEOUT_MS = 3_000;

function headersOf(req: SrfRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of HEADERS) {
    const v = req.get(h);
    if (v !== undefined) out[h] = v;
  }
  return out;
}

/** `res.send(status)`, `(status, reason)`, `(status, {body, headers})`, `(status, reason, {body, headers})` as one answer. */
function answerOf(status: number, a?: string | object, b?: object): RelayedAnswer {
  const reason = typeof a === 'string' ? a : undefined;
  const opts = (typeof a === 'object' ? a : b) as { body?: string; headers?: Record<string, string> } | undefined;
  return { status, ...(reason !== undefined ? { reason } : {}), ...(opts?.body !== undefined ? { body: opts.body } : {}), ...(opts?.headers ? { headers: opts.headers } : {}) };
}

/** The stand-in for a dialog another worker holds. */
export class RemoteDialog implements SrfDialog {
  private readonly events = new EventEmitter();
  readonly sip: { readonly callId: string; readonly localTag: string; readonly remoteTag: string };
  readonly remote: { sdp: string; uri?: string };
  readonly local: { sdp: string };
  connected = true;
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly owner: RelayedDialogs,
    readonly peer: string,
    readonly info: HalfInfo,
  ) {
    this.sip = { callId: info.callId, localTag: info.localTag, remoteTag: info.remoteTag };
    this.remote = { sdp: info.remoteSdp, ...(info.record ? { uri: info.record.target } : {}) };
    this.local = { sdp: info.localSdp };
  }

  on(ev: string, cb: (...args: never[]) => void): void {
    this.events.on(ev, cb as (...args: unknown[]) => void);
  }

  removeListener(ev: string, cb: (...args: never[]) => void): void {
    this.events.removeListener(ev, cb as (...args: unknown[]) => void);
  }

  /** As on a drachtio dialog (srf-io.ts replays REFERs held before the bridge). */
  emit(ev: string, ...args: unknown[]): boolean {
    return this.events.emit(ev, ...args);
  }

  /** @internal */
  setUnwatch(u: () => void): void {
    this.unwatch = u;
  }

  destroy(): Promise<unknown> {
    if (!this.connected) return Promise.resolve();
    this.gone();
    return this.owner.relay.request(this.peer, 'half.bye', { halfId: this.info.halfId }, NOTICE_TIMEOUT_MS).catch(() => undefined);
  }

  async modify(sdp: string, opts?: { headers?: Record<string, string> }): Promise<string> {
    const r = await this.owner.relay.request<{ sdp?: string; status?: number }>(
      this.peer,
      'half.modify',
      { halfId: this.info.halfId, sdp, ...(opts?.headers ? { headers: opts.headers } : {}) },
      MODIFY_TIMEOUT_MS,
    );
    if (r.sdp === undefined) throw Object.assign(new Error('re-INVITE refused'), { status: r.status ?? 500 });
    this.local.sdp = sdp;
    this.remote.sdp = r.sdp;
    return r.sdp;
  }

  async request(opts: { method: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body?: string; get(name: string): string | undefined }> {
    const r = await this.owner.relay.request<RelayedAnswer>(this.peer, 'half.request', { halfId: this.info.halfId, ...opts }, REQUEST_TIMEOUT_MS);
    const h = new Map(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const));
    return { status: r.status, ...(r.body !== undefined ? { body: r.body } : {}), get: (n) => h.get(n.toLowerCase()) };
  }

  /** The party's request, relayed by the holder: emitted as drachtio-srf would; resolves with the answer. */
  deliver(r: RelayedRequest): Promise<RelayedAnswer> {
    if (r.ev === 'destroy') {
      if (this.connected) {
        this.gone();
        this.events.emit('destroy');
      }
      return Promise.resolve({ status: 200 });
    }
    if (!this.connected) return Promise.resolve({ status: 481, reason: 'Call/Transaction Does Not Exist' });
    // Nobody relays it now (a transfer is being set up): the party may try again.
    if (this.events.listenerCount(r.ev) === 0) return Promise.resolve({ status: 491, reason: 'Request Pending' });
    return new Promise((resolve) => {
      const headers = new Map(Object.entries(r.headers ?? {}));
      let sent = false;
      const req = {
        body: r.body ?? '',
        get: (n: string) => headers.get(n.toLowerCase()),
        has: (n: string) => headers.has(n.toLowerCase()),
        getParsedHeader: () => ({}),
        on: () => undefined,
      } as unknown as SrfRequest;
      const res: SrfResponse = {
        get finalResponseSent() {
          return sent;
        },
        send(status: number, a?: string | object, b?: object) {
          if (sent || status < 200) return;
          sent = true;
          resolve(answerOf(status, a, b));
        },
      };
      this.events.emit(r.ev, req, res);
    });
  }

  /** Forgets the pair without telling the holder (it was refused here; the holder cleans up itself). */
  drop(): void {
    if (this.connected) this.gone();
  }

  /** The holder's worker died. */
  peerDead(): void {
    if (!this.connected) return;
    this.gone();
    this.events.emit('destroy');
  }

  private gone(): void {
    this.connected = false;
    this.unwatch?.();
    this.owner.forget(this.info.halfId);
  }
}

interface Export {
  readonly d: SrfDialog;
  readonly peer: string;
  end(how: HalfEnd): void;
}

/**
 * Both roles on one worker: the dialogs it exports to peers and the stand-ins for the dialogs
 * peers export to it, keyed by a half id; the relay handlers that connect them.
 */
export class RelayedDialogs {
  private readonly remotes = new Map<string, RemoteDialog>();
  private readonly exports = new Map<string, Export>();

  constructor(
    readonly relay: WorkerRelay,
    private readonly calls: CallRegistry | undefined,
    private readonly log: Logger,
  ) {
    relay.on('half.event', (b) => {
      const r = b as RelayedRequest;
      const remote = this.remotes.get(r.halfId);
      return remote ? remote.deliver(r) : Promise.resolve({ status: 481, reason: 'Call/Transaction Does Not Exist' });
    });
    relay.on('half.bye', (b) => {
      this.exports.get((b as { halfId: string }).halfId)?.end('remote');
      return Promise.resolve({});
    });
    relay.on('half.modify', async (b) => {
      const { halfId, sdp, headers } = b as { halfId: string; sdp: string; headers?: Record<string, string> };
      const e = this.exports.get(halfId);
      if (!e) return { status: 481 };
      try {
        return { sdp: await (headers ? e.d.modify(sdp, { headers }) : e.d.modify(sdp)) };
      } catch (err) {
        const status = (err as { status?: number }).status;
        return { status: typeof status === 'number' ? status : 500 };
      }
    });
    relay.on('half.request', async (b) => {
      const { halfId, method, headers, body } = b as { halfId: string; method: string; headers?: Record<string, string>; body?: string };
      const e = this.exports.get(halfId);
      if (!e) return { status: 481 };
      try {
        const r = await e.d.request({ method, ...(headers ? { headers } : {}), ...(body !== undefined ? { body } : {}) });
        const ct = r.get('Content-Type');
        return { status: r.status, ...(r.body ? { body: r.body } : {}), ...(ct !== undefined ? { headers: { 'Content-Type': ct } } : {}) };
      } catch (err) {
        const status = (err as { status?: number }).status;
        return { status: typeof status === 'number' ? status : 408 };
      }
    });
  }

  /** Relayed pairs alive on this worker: for leak checks. */
  get size(): number {
    return this.remotes.size + this.exports.size;
  }

  /** The stand-in for a dialog `peer` exported to this worker. */
  remote(peer: string, info: HalfInfo): RemoteDialog {
    const r = new RemoteDialog(this, peer, info);
    this.remotes.set(info.halfId, r);
    r.setUnwatch(this.relay.watch(peer, () => r.peerDead()));
    return r;
  }

  /** @internal (RemoteDialog) */
  forget(halfId: string): void {
    this.remotes.delete(halfId);
  }

  /** Hands `d` (held here) to `peer`: relays its party's requests there and acts on the peer's. */
  export(d: SrfDialog, peer: string, tenantId: string, record?: LegRecord): ExportedDialog {
    const halfId = `${this.relay.self.slice(-8)}-${randomBytes(6).toString('hex')}`;
    const info: HalfInfo = {
      halfId,
      callId: d.sip.callId,
      localTag: d.sip.localTag ?? '',
      remoteTag: d.sip.remoteTag ?? '',
      remoteSdp: d.remote.sdp,
      localSdp: d.local.sdp,
      ...(record ? { record } : {}),
    };
    let resolveEnded!: (h: HalfEnd) => void;
    const ended = new Promise<HalfEnd>((r) => (resolveEnded = r));
    let done = false;
    const notify = (r: Omit<RelayedRequest, 'halfId'>): Promise<RelayedAnswer> =>
      this.relay.request<RelayedAnswer>(peer, 'half.event', { halfId, ...r }, r.ev === 'modify' ? MODIFY_TIMEOUT_MS : REQUEST_TIMEOUT_MS);
    const onDestroy = (): void => {
      if (done) return;
      void notify({ ev: 'destroy' }).catch(() => undefined);
      finish('local');
    };
    const forward = (ev: string) => (req: SrfRequest, res: SrfResponse) => {
      notify({ ev, ...(req.body ? { body: req.body } : {}), headers: headersOf(req) }).then(
        (a) => {
          if (res.finalResponseSent) return;
          const opts = { ...(a.body !== undefined ? { body: a.body } : {}), ...(a.headers ? { headers: a.headers } : {}) };
          if (a.reason !== undefined) res.send(a.status, a.reason, opts);
          else res.send(a.status, opts);
        },
        (err: unknown) => {
          this.log.debug({ err, ev }, 'relayed in-dialog request not answered');
          if (!res.finalResponseSent) res.send(500);
        },
      );
    };
    const options = (_req: SrfRequest, res: SrfResponse): void => res.send(200, { headers: capabilityHeaders() });
    const handlers = EVENTS.map((ev) => [ev, forward(ev)] as const);
    d.on('destroy', onDestroy);
    d.on('options', options);
    for (const [ev, h] of handlers) d.on(ev, h);
    // REFERs its party sent before it was handed over go to the peer now.
    replayEarlyRequests(d);
    const detach = (): void => {
      d.removeListener('destroy', onDestroy);
      d.removeListener('options', options);
      for (const [ev, h] of handlers) d.removeListener(ev, h);
      this.exports.delete(halfId);
      stopTimer?.();
      unwatch();
      untrack?.();
    };
    const finish = (how: HalfEnd): void => {
      if (done) return;
      done = true;
      detach();
      if (how !== 'local' && d.connected) void d.destroy().catch(() => undefined);
      resolveEnded(how);
    };
    // A session timer the party took up with Kumo keeps running here, where the dialog is (RFC 4028).
    const st = sessionTimerOf(d);
    const stopTimer = st
      ? runSessionTimer(d, st, () => done, (_d, why) => {
          this.log.info({ callId: d.sip.callId, why }, 'relayed leg gone (session timer)');
          void notify({ ev: 'destroy' }).catch(() => undefined);
          finish('system');
        }, this.log)
      : undefined;
    const unwatch = this.relay.watch(peer, () => {
      this.log.info({ callId: d.sip.callId, peer }, 'relay peer dead: hanging up the dialog it used');
      finish('system');
    });
    // The holder's registry sees it as a call: drain waits for it, engine loss and the drain's end reach it.
    const untrack = this.calls?.add({
      tenantId,
      callKey: `relay:${halfId}`,
      legs: () => (record ? [record] : []),
      end: () => {
        if (done) return;
        void notify({ ev: 'destroy' }).catch(() => undefined);
        finish('system');
      },
    });
    this.exports.set(halfId, { d, peer, end: finish });
    if (!d.connected) finish('local');
    return {
      info,
      ended,
      close: () => {
        if (done) return;
        done = true;
        detach();
        resolveEnded('system');
      },
    };
  }
}
