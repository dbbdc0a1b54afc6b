import { randomUUID } from 'node:crypto';
import { metricMethod, statusClass, type EngineMetrics, type Logger } from '@kumo/runtime';
import { ControlBridge, metaTokens, toApp } from './control/bridge.js';
import { ControlServer, type AppConnection } from './control/server.js';
import { DEFAULT_OVERLOAD, OverloadGuard, type OverloadOptions } from './overload.js';
import type { Dialog } from './dialog/dialog.js';
import { DialogTable } from './dialog/table.js';
import { buildInDialog, dialogDest, uasDialog } from './dialog/ua.js';
import type {
  SipRequest,
  SipResponse} from './sip/index.js';
import {
  SipHeaders,
  StreamFramer,
  createErrorResponse,
  formatVia,
  isKeepAlive,
  parseMessage,
  parseVia,
  serialize,
  type ParseResult,
  type ParserLimits,
  type SipMessage,
  type ValidationPolicy,
  validateRequest,
} from './sip/index.js';
import type { ClientTransaction } from './transaction/client.js';
import { realClock, type Clock } from './transaction/clock.js';
import { ServerTransaction } from './transaction/server.js';
import { cancelVerdict } from './transaction/cancel.js';
import { buildResponse } from './transaction/requests.js';
import { TransactionTable, ackKey, serverKey } from './transaction/table.js';
import { UacSide } from './uac.js';
import { DEFAULT_TIMERS, type SipTimers } from './transaction/timers.js';
import type { Dest, TxnTransport } from './transaction/types.js';
import { Transports, type TlsSettings } from './transport/transports.js';
import { bareHost, hostport, isStream, type ListenSpec, type LocalPoint, type Peer } from './transport/types.js';
import { newBranch, newTag } from './util.js';

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
}

/** What the engine (the TU) keeps with a server transaction. */
export interface ServerTu {
  /** The parsed request, dropped once the final response is sent (retransmissions match by key). */
  req: SipRequest | undefined;
  readonly peer: Peer;
  /** Call-ID|CSeq|From-tag: lenient matching of a non-2xx ACK with another branch. */
  readonly ackKey: string;
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
  /** The request as built, released once a final response was handled (the dialog keeps what it needs). */
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

/** Methods of RFC 3261 and its extensions: an unrouted one gets 405 with Allow, any other method 501. */
const KNOWN_METHODS = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE']);

/** To-tag prefix of the stateless 503 that sheds a new INVITE, so that its ACK is recognised before parsing. */
const SHED_TAG = 'kshed';
const SHED_TAG_PARAM = Buffer.from(`tag=${SHED_TAG}`);

/** Upper bound on a server transaction the app keeps in Proceeding (state is dropped after it). */
const PROCEEDING_LIMIT_MS = 600000;

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
  private readonly maxServerTxns: number;
  private readonly appTimeoutMs: number;
  /** What `validateRequest` checks on every request from the network (RFC 3261 §8.2, §16.3). */
  private readonly policy: ValidationPolicy;

  private readonly clock: Clock;
  /** The transport as the transaction and dialog layers see it. */
  private readonly txp: TxnTransport;

  /** The transaction layer's tables (matching keys and ids). */
  private readonly txns = new TransactionTable<ServerTxn, ClientTxn>();
  /** The app side of the control protocol; it owns the map of which app a transaction belongs to. */
  private readonly bridge: ControlBridge;
  /** The UAC half: client transactions and the responses to them. */
  private readonly uac: UacSide;
  readonly dialogs: DialogTable;
  readonly overload: OverloadGuard;
  private closed = false;

  constructor(private readonly o: EngineCoreOptions) {
    this.log = o.log;
    this.m = o.metrics;
    this.t = { ...DEFAULT_TIMERS, ...o.timers };
    this.limits = o.limits ?? {};
    this.maxServerTxns = o.maxServerTransactions ?? 50000;
    this.appTimeoutMs = o.appResponseTimeoutMs ?? 64000;
    this.clock = o.clock ?? realClock;
    this.txp = {
      send: (d, bytes) => this.sendBytes(d, bytes),
      retransmitted: () => this.m?.retransmissions.inc({ direction: 'out' }),
    };
    this.overload = new OverloadGuard({ ...DEFAULT_OVERLOAD, ...o.overload }, this.clock, undefined, (st) => {
      this.m?.overloaded.set(st.shedding ? 1 : 0);
      this.m?.pendingInvites.set(st.pendingInvites);
    });
    this.dialogs = new DialogTable({ clock: this.clock, timers: this.t, transport: this.txp, onSize: (n) => this.m?.activeDialogs.set(n) });
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
      tls: o.tls,
    });
    this.bridge = new ControlBridge(this);
    this.uac = new UacSide(this, {
      metrics: this.m,
      timers: this.t,
      clock: this.clock,
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
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.overload.stop();
    this.txns.clear();
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

  get stats(): { serverTransactions: number; clientTransactions: number; dialogs: number; shedding: boolean; shed: number; admitted: number; admissionLimit: number; answerMs: number; elu: number } {
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

  /** RFC 3261 §18.2.2 / RFC 3581: where responses to `req` from `peer` go. */
  private responseDest(req: SipRequest, peer: Peer): Dest {
    if (isStream(peer.proto)) return { proto: peer.proto, addr: peer.addr, port: peer.port, conn: peer.conn };
    const v = req.topVia;
    if (v && v.rport === undefined) {
      return { proto: 'udp', addr: peer.addr, port: v.port ?? 5060 };
    }
    return { proto: 'udp', addr: peer.addr, port: peer.port };
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
    if (msg.isResponse) {
      this.m.responsesOut.inc({ method: metricMethod(msg.cseq?.method ?? ''), status: statusClass(msg.status), transport: proto });
    } else this.m.requestsOut.inc({ method: metricMethod(msg.method), transport: proto });
  }

  // ---------------------------------------------------------------------------------------------
  // network → engine

  private onNetwork(data: Buffer, peer: Peer, parsed?: ParseResult): void {
    if (this.closed) return;
    if (!parsed && isKeepAlive(data)) return; // UDP keep-alive (RFC 5626)
    // The ACK of a 503 that shed an INVITE matches nothing: dropped unparsed, so shedding stays cheap.
    if (data[0] === 0x41 && data[1] === 0x43 && data[2] === 0x4b && data[3] === 0x20 && data.indexOf(SHED_TAG_PARAM) > 0) return;
    let r: ParseResult;
    try {
      r = parsed ?? parseMessage(data, { limits: this.limits });
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
      else this.onNetworkRequest(msg, peer);
    } catch (err) {
      this.log.error({ err }, 'error handling a SIP message');
    }
  }

  /** Adds `received` / fills `rport` on the top Via (RFC 3261 §18.2.1, RFC 3581). */
  private stampVia(req: SipRequest, peer: Peer): boolean {
    const first = req.headers.get('via');
    if (first === undefined) return false;
    const vias = parseVia(first);
    const v = vias?.[0];
    if (!vias || !v) return false;
    let changed = false;
    if (bareHost(v.host) !== peer.addr) {
      v.params.received = peer.addr;
      v.received = peer.addr;
      changed = true;
    }
    if (v.rport === null) {
      v.params.rport = String(peer.port);
      v.rport = peer.port;
      changed = true;
    }
    if (changed) req.headers.replaceAt('via', 0, vias.map((x) => formatVia(x)).join(', '));
    return changed;
  }

  private onNetworkRequest(req: SipRequest, peer: Peer): void {
    const method = req.method;
    this.m?.requestsIn.inc({ method: metricMethod(method), transport: peer.proto });
    if (this.stampVia(req, peer)) req.raw = undefined; // re-serialized for the app
    if (method === 'ACK') return this.onNetworkAck(req, peer);
    if (method === 'CANCEL') return this.onNetworkCancel(req, peer);

    // retransmission of a request we know
    const key = serverKey(req, method);
    const existing = this.txns.server(key);
    if (existing) {
      this.m?.retransmissions.inc({ direction: 'in' });
      existing.onRequestRetransmission();
      return;
    }
    const dest = this.responseDest(req, peer);
    // Overload: refuse new calls cheaply, statelessly, before any app sees them; what was admitted goes on.
    if (method === 'INVITE' && req.to?.tag === undefined && this.overload.shouldShed(key)) {
      this.m?.shedInvites.inc();
      const res = this.buildResponse(req, 503, 'Service Unavailable', `${SHED_TAG}${newTag()}`, [['Retry-After', String(this.overload.o.retryAfterS)]]);
      this.sendBytes(dest, serialize(res));
      this.countOut(res, dest.proto);
      return;
    }
    const v = validateRequest(req, this.policy);
    if (!v.ok) {
      this.m?.parseErrors.inc({ transport: peer.proto });
      return this.statelessReply(req, dest, v.status, v.headers, v.status === 400 ? v.reason : undefined);
    }

    const callId = req.callId ?? '';
    const toTag = req.to?.tag;
    const fromTag = req.from?.tag ?? '';
    let dialog: Dialog | undefined;
    if (toTag !== undefined) {
      dialog = this.dialogs.find(callId, fromTag, toTag);
      if (!dialog) return this.statelessReply(req, dest, 481);
      const seq = req.cseq?.seq ?? 0;
      if (dialog.remoteSeq > 0 && seq < dialog.remoteSeq) return this.statelessReply(req, dest, 500, [], 'CSeq Out of Order');
      if (seq > dialog.remoteSeq) dialog.remoteSeq = seq;
    }

    let app: AppConnection | undefined;
    if (dialog) {
      app = dialog.app;
      if (!app || app.closed) {
        if (method === 'BYE') {
          this.statelessReply(req, dest, 200);
          this.removeDialog(dialog);
          return;
        }
        return this.statelessReply(req, dest, 503);
      }
    } else {
      app = this.control.pick(method.toLowerCase());
      if (!app) return this.noAppFor(req, dest);
    }
    if (this.txns.serverCount >= this.maxServerTxns) return this.statelessReply(req, dest, 503, [['Retry-After', '5']]);

    const txn = this.newServerTxn(key, method, dest, {
      req,
      peer,
      ackKey: method === 'INVITE' ? ackKey(req) : '',
      cseq: req.cseq?.seq ?? 0,
      dialogId: dialog?.id ?? '',
      formedDialogId: '',
      toTag: toTag ?? '',
      cancelled: false,
      awaitingSince: method === 'INVITE' && !dialog ? performance.now() : 0,
    });
    this.bridge.owner.set(txn.id, app);
    if (txn.tu.awaitingSince !== 0) this.overload.delivered();
    if (method === 'INVITE') {
      // 100 Trying at once, before the app sees the request (controller.cpp 1651-1662)
      const trying = this.buildResponse(req, 100, 'Trying');
      txn.sendTrying(serialize(trying));
      this.countOut(trying, peer.proto);
      if (dialog) dialog.inviteTxnId = txn.id;
    }

    const text = req.raw ?? serialize(req);
    const meta = metaTokens('network', text.length, peer.proto, peer.addr, peer.port);
    if (dialog) {
      toApp(app, `sip|${meta}|${txn.id}|${dialog.id}|`, text);
    } else {
      toApp(app, `sip|${meta}|${txn.id}||${this.advertisedHostOnly(peer.local)}|${peer.local.port}|`, text);
    }
  }

  /**
   * No app routed this method. With no app at all, 503 with Retry-After (drachtio-server answers 503 in both cases);
   * with apps connected, 405 with Allow for a known method and 501 for an unknown one (RFC 3261 §8.2.1, §21.5.2).
   */
  private noAppFor(req: SipRequest, dest: Dest): void {
    const allow = this.control.routedMethods();
    if (allow.length === 0) return this.statelessReply(req, dest, 503, [['Retry-After', '5']], 'Service Unavailable');
    if (!KNOWN_METHODS.has(req.method)) return this.statelessReply(req, dest, 501);
    if (!allow.includes('ACK')) allow.push('ACK');
    if (allow.includes('INVITE') && !allow.includes('CANCEL')) allow.push('CANCEL');
    return this.statelessReply(req, dest, 405, [['Allow', allow.join(', ')]]);
  }

  private advertisedHostOnly(l: LocalPoint): string {
    const h = this.o.advertisedHost ?? l.host;
    return h;
  }

  /**
   * A server transaction for a request from the network. The TU timer (drachtio CLIENT_TIMEOUT) drops the state
   * silently when the app never answers. A CANCEL's transaction is kept by key only (it is never the app's).
   */
  private newServerTxn(key: string, method: string, dest: Dest, tu: ServerTu): ServerTxn {
    const tracked = method !== 'CANCEL';
    const txn: ServerTxn = new ServerTransaction(
      {
        id: randomUUID(),
        key,
        method,
        dest,
        timers: this.t,
        clock: this.clock,
        transport: this.txp,
        tuTimeoutMs: this.appTimeoutMs,
        proceedingLimitMs: PROCEEDING_LIMIT_MS,
        onTerminated: () => {
          this.settle(txn, false);
          this.txns.removeServer(txn, tu.ackKey);
          if (!tracked) return;
          this.bridge.owner.delete(txn.id);
          this.m?.activeServerTransactions.set(this.txns.serverCount);
        },
      },
      tu,
    );
    this.txns.addServer(txn, tracked, tu.ackKey);
    if (tracked) this.m?.activeServerTransactions.set(this.txns.serverCount);
    return txn;
  }

  /** Builds a response to a network request (RFC 3261 §8.2.6). */
  buildResponse(req: SipRequest, status: number, reason?: string, toTag?: string, extra: [string, string][] = []): SipResponse {
    return buildResponse(req, status, reason, toTag, extra);
  }

  private statelessReply(req: SipRequest, dest: Dest, status: number, extra: [string, string][] = [], reason?: string): void {
    if (req.method === 'ACK') return;
    const res = this.buildResponse(req, status, reason, undefined, extra);
    this.sendBytes(dest, serialize(res));
    this.countOut(res, dest.proto);
  }

  private onNetworkAck(ack: SipRequest, peer: Peer): void {
    // ACK for a non-2xx final: same branch as the INVITE (or, leniently, same Call-ID/CSeq/From-tag)
    let st = this.txns.server(serverKey(ack, 'INVITE'));
    if (!st) {
      const alt = this.txns.inviteByAck(ackKey(ack));
      if (alt && alt.finalStatus >= 300) st = alt;
    }
    if (st && st.onAck()) return; // Completed → Confirmed (timer I), or a retransmitted ACK
    // ACK for a 2xx: a new transaction inside the dialog
    const d = this.dialogs.find(ack.callId ?? '', ack.from?.tag ?? '', ack.to?.tag ?? '');
    if (!d) return; // a UAC dialog also waits for ACKs: to the 2xx of a re-INVITE it received
    const w = d.ackWait;
    if (!w || (ack.cseq?.seq ?? -1) !== w.cseq) return; // retransmitted or stray ACK
    this.dialogs.stopAckWait(d);
    if (ack.headers.get('contact') !== undefined) {
      const c = ack.contact;
      const t = c && !c.star ? c.contacts[0]?.uriText : undefined;
      if (t !== undefined) d.remoteTarget = t;
    }
    const text = ack.raw ?? serialize(ack);
    // the ACK carries the INVITE's transaction id (captured: proto token empty)
    toApp(d.app, `sip|${metaTokens('network', text.length, '', peer.addr, peer.port)}|${w.txnId}|${d.id}|`, text);
    if (d.byeAfterAck) this.engineBye(d, true);
  }

  private onNetworkCancel(c: SipRequest, peer: Peer): void {
    const dest = this.responseDest(c, peer);
    const ckey = serverKey(c, 'CANCEL');
    const prior = this.txns.server(ckey);
    if (prior) {
      prior.onRequestRetransmission();
      return;
    }
    const inv = this.txns.server(serverKey(c, 'INVITE'));
    const respond = (status: number): void => {
      // a small CANCEL server transaction answers its retransmissions (timer J)
      const res = this.buildResponse(c, status);
      const t = this.newServerTxn(ckey, 'CANCEL', dest, {
        req: undefined, peer, ackKey: '', cseq: 0, dialogId: '', formedDialogId: '', toTag: '', cancelled: false, awaitingSince: 0,
      });
      t.sendFinal(status, serialize(res));
      this.countOut(res, peer.proto);
    };
    const v = cancelVerdict(inv && { pending: inv.pending, hasRequest: inv.tu.req !== undefined, state: inv.state, formedDialog: inv.tu.formedDialogId !== '' });
    respond(v.status);
    if (!inv) return;
    if (v.action === 'terminate-invite' && inv.tu.req) {
      inv.tu.cancelled = true;
      this.sendFinal(inv, this.buildResponse(inv.tu.req, 487, undefined, inv.tu.toTag || newTag()));
      const text = serialize(c);
      const meta = metaTokens('network', text.length, peer.proto, peer.addr, peer.port);
      const did = inv.tu.dialogId || inv.tu.formedDialogId;
      toApp(this.bridge.owner.get(inv.id), `sip|${meta}|${inv.id}|${did}|`, text);
      const d = inv.tu.formedDialogId ? this.dialogs.get(inv.tu.formedDialogId) : undefined;
      if (d && d.state === 'early') this.removeDialog(d);
    } else if (v.action === 'bye-after-ack') {
      const d = this.dialogs.get(inv.tu.formedDialogId);
      if (d && d.state === 'confirmed') {
        if (d.ackWait) d.byeAfterAck = true;
        else this.engineBye(d, true);
      }
    }
  }

  /**
   * Sends a final response on a server transaction (which runs its completion timers) and drops the parsed
   * request: from now on only the matching key and the response bytes are needed.
   */
  /**
   * The app answered a new INVITE (`answered`: its answer time feeds the admission controller), or it ended
   * unanswered: no longer part of the apps' backlog.
   */
  settle(t: ServerTxn, answered = true): void {
    const since = t.tu.awaitingSince;
    if (since === 0) return;
    t.tu.awaitingSince = 0;
    this.overload.settled(answered && !t.tu.cancelled ? performance.now() - since : undefined);
  }

  sendFinal(t: ServerTxn, res: SipResponse): Buffer {
    this.settle(t);
    const bytes = serialize(res);
    t.sendFinal(res.status, bytes);
    t.tu.req = undefined;
    this.countOut(res, t.dest.proto);
    return bytes;
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

  newClientTxn(method: string, branch: string, req: SipRequest, bytes: Buffer, dest: Dest, app: AppConnection | undefined, dialogId: string): ClientTxn {
    return this.uac.newClientTxn(method, branch, req, bytes, dest, app, dialogId);
  }

  /** Registers and sends a client transaction. */
  startClient(t: ClientTxn): void {
    this.uac.startClient(t);
  }

  ensureUasDialog(t: ServerTxn, req: SipRequest, res: SipResponse, id: string, state: 'early' | 'confirmed'): void {
    const d = this.dialogs.get(id);
    if (d && d.role === 'uas') {
      if (state === 'confirmed') d.state = 'confirmed';
      return;
    }
    const localContact = res.headers.get('contact') ?? this.localContact(t.tu.peer.local);
    this.dialogs.add(uasDialog(req, id, state, { localTag: t.tu.toTag, localContact, inviteTxnId: t.id, dest: t.dest, app: this.bridge.owner.get(t.id) }));
  }

  /** 2xx to INVITE: retransmit (UDP) until the ACK; BYE after 64·T1 without one (RFC 6026, drachtio timer G/H). */
  startAckWait(t: ServerTxn, dialogId: string, bytes: Buffer): void {
    const d = this.dialogs.get(dialogId);
    if (!d) return;
    this.dialogs.startAckWait(d, t.id, t.tu.cseq, bytes, t.dest, () => {
      this.log.info({ dialogId: d.id }, 'no ACK for 2xx; sending BYE');
      this.engineBye(d, true);
    });
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
    const h = new SipHeaders();
    if (body && body.length > 0) h.append('Content-Type', contentType ?? 'application/sdp');
    const req = buildInDialog(d, 'ACK', undefined, h, body ?? Buffer.alloc(0), d.inviteCSeq);
    const dest = dialogDest(d);
    const l = this.localFor(dest);
    req.headers.prepend('Via', l ? this.viaFor(l, newBranch()) : '');
    const bytes = serialize(req);
    d.lastAck = { cseq: d.inviteCSeq, bytes, dest };
    this.sendBytes(dest, bytes);
    this.countOut(req, dest.proto);
    return bytes;
  }

}
