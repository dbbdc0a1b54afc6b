import { metricMethod, statusClass, type EngineMetrics, type Logger } from '@kumo/runtime';
import { scanNewInvite } from './fastshed.js';
import { ControlBridge, metaTokens, toApp } from './control/bridge.js';
import { ControlServer, type AppConnection } from './control/server.js';
import { DEFAULT_OVERLOAD, OverloadGuard, type OverloadOptions } from './overload.js';
import type { Dialog } from './dialog/dialog.js';
import { DialogTable } from './dialog/table.js';
import { buildInDialog, dialogAckBytes, dialogDest } from './dialog/ua.js';
import {
  SipHeaders,
  StreamFramer,
  createErrorResponse,
  isKeepAlive,
  parseMessage,
  serialize,
  type ParseResult,
  type ParserLimits,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type ValidationPolicy,
} from './sip/index.js';
import type { ClientTransaction } from './transaction/client.js';
import { realClock, type Clock } from './transaction/clock.js';
import { LingerQueue, type Lingers } from './transaction/linger.js';
import type { ServerTransaction } from './transaction/server.js';
import { buildResponse } from './transaction/requests.js';
import { TransactionTable } from './transaction/table.js';
import { DEFAULT_TIMERS, type SipTimers } from './transaction/timers.js';
import type { Dest, TxnTransport } from './transaction/types.js';
import { Transports, type TlsSettings } from './transport/transports.js';
import { hostport, isStream, type ListenSpec, type LocalPoint, type Peer } from './transport/types.js';
import { UacSide } from './uac.js';
import { SHED_TAG, SHED_TAG_PARAM, UasSide } from './uas.js';
import { newBranch, newTag } from './util.js';
import { QuietGc, collectGarbage } from './memory.js';

export interface EngineCoreOptions {
  readonly listen: readonly ListenSpec[];
  readonly control: { readonly host: string; readonly port: number };
  readonly secret: string;
  readonly log: Logger;
  readonly metrics?: EngineMetrics | undefined;
  readonly timers?: Partial<SipTimers>;
  readonly limits?: Partial<ParserLimits>;
  readonly tcpIdleMs?: number;
  readonly tcpMaxPerSource?: number;
  readonly tcpMaxConnections?: number;
  /** New requests beyond this many live server transactions are answered 503. */
  readonly maxServerTransactions?: number;
  /** How long a request may wait for its app's first response before its state is dropped (drachtio: 64 s). */
  readonly appResponseTimeoutMs?: number;
  /** Address to advertise in Contact/Via instead of the bound host (e.g. when bound to 0.0.0.0). */
  readonly advertisedHost?: string | undefined;
  /** Option tags a request may Require (others → 420 with Unsupported). Default `DEFAULT_SUPPORTED`. */
  readonly supported?: readonly string[] | undefined;
  /** Timers of the transaction and dialog layers (tests inject a fake one). */
  readonly clock?: Clock | undefined;
  /** Load shedding of new INVITEs (defaults `DEFAULT_OVERLOAD`). */
  readonly overload?: Partial<OverloadOptions> | undefined;
  /** Certificate and key for `tls/` listen points and outbound TLS. */
  readonly tls?: TlsSettings | undefined;
  /** Request-URI users whose INVITEs load shedding never refuses (default `DEFAULT_NEVER_SHED`). */
  readonly neverShedUsers?: readonly string[] | undefined;
  /**
   * How long a new INVITE's 100 Trying waits for the app's first response (RFC 3261 §17.2.1 needs none when the TU
   * answers within 200 ms): default `DEFAULT_TRYING_DELAY_MS`; 0 sends it at once, as drachtio-server does.
   */
  readonly tryingDelayMs?: number | undefined;
}

const EMPTY_BODY = Buffer.alloc(0);

/** A fast app's 180/200 replaces the 100 Trying (one datagram less per call); a slow one still gets it long before timer A. */
export const DEFAULT_TRYING_DELAY_MS = 100;

/** Japan's emergency numbers (police, coast guard, fire/ambulance), also behind the outside-line prefix 0. */
export const DEFAULT_NEVER_SHED: readonly string[] = Object.freeze(['110', '118', '119', '0110', '0118', '0119']);

/** What the engine (the TU) keeps with a server transaction. */
export interface ServerTu {
  /** The parsed request, dropped once the final response is sent (retransmissions match by key). */
  req: SipRequest | undefined;
  readonly peer: Peer;
  /**
   * Call-ID|CSeq|From-tag: lenient matching of a non-2xx ACK with another branch; set (and indexed) when an INVITE's
   * 3xx–6xx is sent, '' before and for every other transaction.
   */
  ackKey: string;
  readonly cseq: number;
  /** Dialog id of an in-dialog request ('' for a dialog-creating or out-of-dialog request). */
  readonly dialogId: string;
  /** Dialog this request created with a 1xx/2xx (INVITE, SUBSCRIBE), '' until then. */
  formedDialogId: string;
  toTag: string;
  cancelled: boolean;
  /** When a new INVITE was handed to an app that has not answered it yet (counted by the overload guard); 0 otherwise. */
  awaitingSince: number;
}

/** What the engine keeps with a client transaction. */
export interface ClientTu {
  /**
   * The request as built, released once a final response was handled (the dialog keeps what it needs). An in-dialog
   * non-INVITE request written straight into bytes has none: a local failure reads it back from the bytes.
   */
  req: SipRequest | undefined;
  /** Dialog id of an in-dialog request ('' for out-of-dialog). */
  readonly dialogId: string;
  /** The app went away (or the engine sent it): CANCEL/BYE whatever comes back, report nothing. */
  orphan: boolean;
  /** A CANCEL asked for before any provisional arrived: sent when one does. */
  cancelPending: Buffer | undefined;
  cancelSent: boolean;
}

export type ServerTxn = ServerTransaction<ServerTu>;
export type ClientTxn = ClientTransaction<ClientTu>;

/** Option tags the engine and Kumo's sip app serve (100rel/PRACK is not supported). */
export const DEFAULT_SUPPORTED: readonly string[] = Object.freeze(['replaces']);

/**
 * The Kumo SIP engine core: transports, transactions and dialogs, and the drachtio-server side of
 * the control protocol. One instance serves any number of drachtio-srf apps.
 */
export class EngineCore {
  readonly control: ControlServer;
  readonly transports: Transports;
  readonly log: Logger;
  private readonly m: EngineMetrics | undefined;
  private readonly t: SipTimers;
  private readonly limits: Partial<ParserLimits>;
  /** The parser's options for every datagram (one object: the parser works out the full limits once per object). */
  private readonly parseOpts: { readonly limits: Partial<ParserLimits> };
  private readonly maxServerTxns: number;
  private readonly appTimeoutMs: number;
  /** What `validateRequest` checks on every request from the network (RFC 3261 §8.2, §16.3). */
  private readonly policy: ValidationPolicy;

  private readonly clock: Clock;
  /** The waits of transactions after their final response (timers J, K, L, M), one queue per length. */
  private readonly linger: Lingers;
  /** The transport as the transaction and dialog layers see it. */
  private readonly txp: TxnTransport;

  /** The transaction layer's tables (matching keys and ids). */
  private readonly txns = new TransactionTable<ServerTxn, ClientTxn>();
  /** One full GC when the live transactions fall to a tenth of their peak (memory.ts). */
  private readonly quietGc = new QuietGc({ load: () => this.txns.serverCount + this.txns.clientCount, gc: collectGarbage, intervalMs: 5000, minPeak: 1000 });
  /** The app side of the control protocol; it owns the map of which app a transaction belongs to. */
  private readonly bridge: ControlBridge;
  /** The UAS half: requests from the network and the server transactions. */
  private readonly uas: UasSide;
  /** The UAC half: client transactions and the responses to them. */
  private readonly uac: UacSide;
  readonly dialogs: DialogTable;
  readonly overload: OverloadGuard;
  /** Request-URI users whose INVITEs are never shed. */
  private readonly neverShedUsers: ReadonlySet<string>;
  private closed = false;

  constructor(private readonly o: EngineCoreOptions) {
    this.log = o.log;
    this.m = o.metrics;
    this.t = { ...DEFAULT_TIMERS, ...o.timers };
    this.limits = o.limits ?? {};
    this.parseOpts = { limits: this.limits };
    this.maxServerTxns = o.maxServerTransactions ?? 50000;
    this.appTimeoutMs = o.appResponseTimeoutMs ?? 64000;
    this.clock = o.clock ?? realClock;
    this.txp = {
      send: (d, bytes) => this.sendBytes(d, bytes),
      retransmitted: () => this.m?.retransmissions.inc({ direction: 'out' }),
    };
    this.overload = new OverloadGuard(
      { ...DEFAULT_OVERLOAD, ...o.overload },
      this.clock,
      undefined,
      (st) => {
        this.m?.overloaded.set(st.shedding ? 1 : 0);
        this.m?.pendingInvites.set(st.pendingInvites);
      },
      undefined,
      (sentAt) => this.transports.probe(sentAt),
    );
    this.neverShedUsers = new Set(o.neverShedUsers ?? DEFAULT_NEVER_SHED);
    this.dialogs = new DialogTable({ clock: this.clock, timers: this.t, transport: this.txp, onSize: (n) => this.m?.activeDialogs.set(n) });
    this.linger = { long: new LingerQueue(this.clock, 64 * this.t.T1), short: new LingerQueue(this.clock, this.t.T4) };
    this.policy = {
      supported: o.supported ?? DEFAULT_SUPPORTED,
      // a B2BUA forwards what it accepts: Max-Forwards 0 → 483; it answers INVITEs with SDP → 406 otherwise
      forwarding: true,
      answerContentTypes: ['application/sdp'],
    };
    this.transports = new Transports({
      listen: o.listen,
      log: o.log,
      tcpIdleMs: o.tcpIdleMs ?? 300000,
      tcpMaxPerSource: o.tcpMaxPerSource ?? 100,
      tcpMaxConnections: o.tcpMaxConnections ?? 10000,
      maxMessageSize: this.limits.maxMessageSize ?? 65535,
      newSplitter: () => new StreamFramer(this.limits),
      onMessage: (data, peer, parsed) => this.onNetwork(data, peer, parsed),
      onConnCount: (n) => this.m?.tcpConnections.set(n),
      onProbe: (sentAt) => this.overload.probeReturned(sentAt),
      tls: o.tls,
    });
    this.bridge = new ControlBridge(this);
    this.uas = new UasSide(this, {
      metrics: this.m,
      timers: this.t,
      clock: this.clock,
      linger: this.linger,
      txns: this.txns,
      owner: this.bridge.owner,
      txp: this.txp,
      policy: this.policy,
      maxServerTxns: this.maxServerTxns,
      appTimeoutMs: this.appTimeoutMs,
      advertisedHost: o.advertisedHost,
      neverShedUsers: this.neverShedUsers,
      tryingDelayMs: Math.min(200, Math.max(0, o.tryingDelayMs ?? DEFAULT_TRYING_DELAY_MS)),
      send: (d, bytes) => this.sendBytes(d, bytes),
    });
    this.uac = new UacSide(this, {
      metrics: this.m,
      timers: this.t,
      clock: this.clock,
      linger: this.linger,
      txns: this.txns,
      owner: this.bridge.owner,
      send: (d, bytes) => this.sendBytes(d, bytes),
      retransmitted: () => this.txp.retransmitted(),
    });
    this.control = new ControlServer({
      host: o.control.host,
      port: o.control.port,
      secret: o.secret,
      log: o.log.child({ part: 'control' }),
      handlers: {
        onSip: (conn, tokens, sip) => this.bridge.onAppSip(conn, tokens, sip),
        onDisconnect: (conn) => this.bridge.onAppGone(conn),
        hostports: () => this.hostports(),
        onAppCount: (n) => this.m?.connectedApps.set(n),
      },
    });
  }

  async start(): Promise<void> {
    await this.transports.start();
    await this.control.listen();
    this.overload.start();
    this.quietGc.start();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.overload.stop();
    this.quietGc.stop();
    this.txns.clear();
    this.linger.long.clear();
    this.linger.short.clear();
    this.bridge.owner.clear();
    this.dialogs.clear();
    await this.control.close();
    await this.transports.close();
  }

  /** A live server transaction by id (the drachtio transactionId). */
  serverTxn(id: string): ServerTxn | undefined {
    return this.txns.serverById(id);
  }

  /** A live client transaction by id. */
  clientTxn(id: string): ClientTxn | undefined {
    return this.txns.clientById(id);
  }

  get stats(): { serverTransactions: number; clientTransactions: number; dialogs: number; shedding: boolean; shed: number; admitted: number; admissionLimit: number; answerMs: number; elu: number; queueMs: number; udpRecvBuffer: number } {
    const o = this.overload.state;
    return {
      serverTransactions: this.txns.serverCount,
      clientTransactions: this.txns.clientCount,
      dialogs: this.dialogs.size,
      shedding: o.shedding,
      shed: o.shed,
      admitted: o.admitted,
      admissionLimit: o.limit,
      answerMs: o.latencyMs,
      elu: o.elu,
      queueMs: o.queueMs,
      udpRecvBuffer: this.transports.udpRecvBuffer,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // addresses

  advertised(l: LocalPoint): string {
    const h = this.o.advertisedHost ?? l.host;
    return hostport(h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '::1' : h, l.port);
  }

  private hostports(): { public: string; local: string } {
    const list = this.transports.locals.map((l) => `${l.proto}/${this.advertised(l)}`).join(',');
    return { public: list, local: list };
  }

  localContact(l: LocalPoint, user?: string): string {
    return `<sip:${user !== undefined ? `${user}@` : ''}${this.advertised(l)}${l.proto !== 'udp' ? `;transport=${l.proto}` : ''}>`;
  }

  viaFor(l: LocalPoint, branch: string): string {
    return `SIP/2.0/${l.proto.toUpperCase()} ${this.advertised(l)};rport;branch=${branch}`;
  }

  localFor(d: Dest): LocalPoint | undefined {
    if (d.conn) return d.conn.local;
    return this.transports.localFor(d.proto, d.addr);
  }

  // ---------------------------------------------------------------------------------------------
  // sending

  private sendBytes(d: Dest, bytes: Buffer): void {
    const r = this.transports.send(d.proto, d.addr, d.port, bytes, d.conn, d.host);
    if (r === false) this.log.debug({ dest: d }, 'could not send');
    else if (r !== true) void r;
  }

  countOut(msg: SipMessage, proto: string): void {
    if (!this.m) return;
    if (msg.isResponse) this.countResponseOut(msg.cseq?.method ?? '', msg.status, proto);
    else this.countRequestOut(msg.method, proto);
  }

  /** `countOut` for a request sent as bytes only (its method). */
  countRequestOut(method: string, proto: string): void {
    this.m?.requestsOut.inc({ method: metricMethod(method), transport: proto });
  }

  /** `countOut` for a response sent as bytes only (its CSeq method and status). */
  countResponseOut(method: string, status: number, proto: string): void {
    this.m?.responsesOut.inc({ method: metricMethod(method), status: statusClass(status), transport: proto });
  }

  // ---------------------------------------------------------------------------------------------
  // network → engine

  private onNetwork(data: Buffer, peer: Peer, parsed?: ParseResult): void {
    if (this.closed) return;
    if (!parsed && isKeepAlive(data)) return; // UDP keep-alive (RFC 5626)
    // The ACK of a 503 that shed an INVITE matches nothing: dropped unparsed, so shedding stays cheap.
    if (data[0] === 0x41 && data[1] === 0x43 && data[2] === 0x4b && data[3] === 0x20 && data.indexOf(SHED_TAG_PARAM) > 0) return;
    // While new INVITEs are being refused, a plain new one is decided on its raw header lines: a refused one is answered
    // without a parse, so the engine keeps up with the responses and ACKs of the calls it admitted (fastshed.ts).
    let admitted = false;
    if (!parsed && data[0] === 0x49 && peer.proto === 'udp' && this.overload.limiting) {
      const raw = scanNewInvite(data, peer.addr, peer.port, this.neverShedUsers);
      if (raw && !this.txns.server(raw.key)) {
        if (this.overload.shouldShed(raw.key)) {
          this.m?.requestsIn.inc({ method: 'INVITE', transport: 'udp' });
          this.m?.shedInvites.inc();
          this.sendBytes({ proto: 'udp', addr: peer.addr, port: raw.port }, raw.response(`${SHED_TAG}${newTag()}`, this.overload.o.retryAfterS));
          this.m?.responsesOut.inc({ method: 'INVITE', status: statusClass(503), transport: 'udp' });
          return;
        }
        admitted = true;
      }
    }
    let r: ParseResult;
    try {
      r = parsed ?? parseMessage(data, this.parseOpts);
    } catch (err) {
      this.log.warn({ err }, 'parser threw');
      this.m?.parseErrors.inc({ transport: peer.proto });
      return;
    }
    if (!r.ok) {
      this.m?.parseErrors.inc({ transport: peer.proto });
      if (r.isResponse) return;
      if (r.partial.method === 'ACK') return;
      const res = createErrorResponse(r.partial, r.status, r.reason);
      if (!res) return;
      const v = res.topVia;
      const dest: Dest =
        isStream(peer.proto)
          ? { proto: peer.proto, addr: peer.addr, port: peer.port, conn: peer.conn }
          : { proto: 'udp', addr: peer.addr, port: v && v.rport === undefined ? (v.port ?? 5060) : peer.port };
      this.sendBytes(dest, serialize(res));
      this.countOut(res, peer.proto);
      return;
    }
    const msg = r.msg;
    try {
      if (msg.isResponse) this.uac.onResponse(msg, peer);
      else this.uas.onRequest(msg, peer, admitted);
    } catch (err) {
      this.log.error({ err }, 'error handling a SIP message');
    }
  }

  // ---------------------------------------------------------------------------------------------
  // the UAS half (server transactions): uas.ts

  /** Builds a response to a network request (RFC 3261 §8.2.6). */
  buildResponse(req: SipRequest, status: number, reason?: string, toTag?: string, extra: [string, string][] = []): SipResponse {
    return buildResponse(req, status, reason, toTag, extra);
  }

  /** The app answered a new INVITE, or it ended unanswered: no longer part of the apps' backlog. */
  settle(t: ServerTxn, answered = true): void {
    this.uas.settle(t, answered);
  }

  /** Sends a final response on a server transaction and drops its parsed request. */
  sendFinal(t: ServerTxn, res: SipResponse): Buffer {
    return this.uas.sendFinal(t, res);
  }

  /** `sendFinal` for a response already written as bytes. */
  sendFinalBytes(t: ServerTxn, status: number, bytes: Buffer): void {
    this.uas.sendFinalBytes(t, status, bytes);
  }

  /** `contact`: the Contact of the response that forms the dialog, if it has one. */
  ensureUasDialog(t: ServerTxn, req: SipRequest, contact: string | undefined, id: string, state: 'early' | 'confirmed'): void {
    this.uas.ensureUasDialog(t, req, contact, id, state);
  }

  /** 2xx to INVITE: retransmit (UDP) until the ACK; BYE after 64·T1 without one. */
  startAckWait(t: ServerTxn, dialogId: string, bytes: Buffer): void {
    this.uas.startAckWait(t, dialogId, bytes);
  }

  removeDialog(d: Dialog): void {
    this.dialogs.remove(d);
  }

  // ---------------------------------------------------------------------------------------------
  // the UAC half (client transactions): uac.ts

  /** Sends (or schedules, before any provisional) a CANCEL for an INVITE client transaction. */
  sendCancel(t: ClientTxn, reason?: string): Buffer {
    return this.uac.sendCancel(t, reason);
  }

  newClientTxn(method: string, branch: string, req: SipRequest | undefined, bytes: Buffer, dest: Dest, app: AppConnection | undefined, dialogId: string): ClientTxn {
    return this.uac.newClientTxn(method, branch, req, bytes, dest, app, dialogId);
  }

  /** Registers and sends a client transaction. */
  startClient(t: ClientTxn): void {
    this.uac.startClient(t);
  }

  /** The engine hangs up a dialog itself; `tellApp` reports it as an `unsolicited` BYE. */
  engineBye(d: Dialog, tellApp: boolean): void {
    if (d.state === 'terminated') return;
    const req = buildInDialog(d, 'BYE', undefined, new SipHeaders(), Buffer.alloc(0));
    const dest = dialogDest(d);
    const l = this.localFor(dest);
    if (!l) return;
    const branch = newBranch();
    req.headers.prepend('Via', this.viaFor(l, branch));
    const bytes = serialize(req);
    this.removeDialog(d);
    this.startClient(this.newClientTxn('BYE', branch, req, bytes, dest, undefined, ''));
    if (tellApp && d.app && !d.app.closed) {
      const meta = metaTokens('application', bytes.length, dest.proto, dest.addr, dest.port);
      toApp(d.app, `sip|${meta}|unsolicited|${d.id}|`, bytes);
    }
  }

  sendDialogAck(d: Dialog, body: Buffer | undefined, contentType?: string): Buffer {
    const dest = dialogDest(d);
    const l = this.localFor(dest);
    // written straight into bytes of their own: kept for the call's life (a retransmitted 2xx is answered with it)
    const bytes = dialogAckBytes(d, l ? this.viaFor(l, newBranch()) : '', body ?? EMPTY_BODY, contentType);
    d.lastAck = { cseq: d.inviteCSeq, bytes, dest };
    this.sendBytes(dest, bytes);
    this.countRequestOut('ACK', dest.proto);
    return bytes;
  }

}
