import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { metricMethod, statusClass, type EngineMetrics, type Logger } from '@kumo/runtime';
import { parseAppMessage } from './control/app-message.js';
import { ControlServer, type AppConnection } from './control/server.js';
import type { Dialog } from './dialog/dialog.js';
import {
  SipHeaders,
  SipRequest,
  SipResponse,
  StreamFramer,
  createErrorResponse,
  formatNameAddr,
  formatVia,
  isKeepAlive,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  prettyHeaderName,
  reasonPhrase,
  serialize,
  type ParseResult,
  type ParserLimits,
  type SipMessage,
  type SipUri,
  type ValidationPolicy,
  validateRequest,
} from './sip/index.js';
import { DEFAULT_TIMERS, cancel, later, type SipTimers } from './transaction/timers.js';
import type { ClientTxn, Dest, ServerTxn } from './transaction/types.js';
import { Transports } from './transport/transports.js';
import { bareHost, hostport, type ListenSpec, type LocalPoint, type Peer } from './transport/types.js';
import { newBranch, newTag, randomCSeq, stackTime } from './util.js';

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
}

/** Option tags the engine and Kumo's sip app serve (100rel/PRACK is not supported). */
export const DEFAULT_SUPPORTED: readonly string[] = Object.freeze(['replaces']);

/** Methods of RFC 3261 and its extensions: an unrouted one gets 405 with Allow, any other method 501. */
const KNOWN_METHODS = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE']);

/** How long an INVITE may stay in Proceeding (ringing) before the engine gives up (RFC 3261 timer C, > 3 min). */
const TIMER_C_MS = 181000;

/** Upper bound on a server transaction the app keeps in Proceeding (state is dropped after it). */
const PROCEEDING_LIMIT_MS = 600000;

/** Headers an app may not set (drachtio.cpp 182-189): the stack writes them. */
const APP_FORBIDDEN = new Set(['via', 'route', 'record-route', 'rseq', 'content-length']);
/** Headers the engine controls in requests it builds. */
const REQ_CONTROLLED = new Set(['from', 'to', 'call-id', 'cseq', 'max-forwards', 'contact', 'content-type']);
const RESP_CORE = new Set(['from', 'to', 'call-id', 'cseq', 'contact', 'content-type']);

function isDialogForming(method: string): boolean {
  return method === 'INVITE' || method === 'SUBSCRIBE';
}

/**
 * The Kumo SIP engine core: transports, transactions and dialogs, and the drachtio-server side of
 * the control protocol. One instance serves any number of drachtio-srf apps.
 */
export class EngineCore {
  readonly control: ControlServer;
  readonly transports: Transports;
  private readonly log: Logger;
  private readonly m: EngineMetrics | undefined;
  private readonly t: SipTimers;
  private readonly limits: Partial<ParserLimits>;
  private readonly maxServerTxns: number;
  private readonly appTimeoutMs: number;
  /** What `validateRequest` checks on every request from the network (RFC 3261 §8.2, §16.3). */
  private readonly policy: ValidationPolicy;

  private readonly serverTxns = new Map<string, ServerTxn>(); // key → txn
  private readonly serverById = new Map<string, ServerTxn>();
  /** INVITE server transactions by Call-ID|CSeq|From-tag: ACK matching for UAs that give a non-2xx ACK a new branch. */
  private readonly inviteByDialogKey = new Map<string, ServerTxn>();
  private readonly clientTxns = new Map<string, ClientTxn>(); // branch|method → txn
  private readonly clientById = new Map<string, ClientTxn>();
  readonly dialogs = new Map<string, Dialog>();
  private closed = false;

  constructor(private readonly o: EngineCoreOptions) {
    this.log = o.log;
    this.m = o.metrics;
    this.t = { ...DEFAULT_TIMERS, ...o.timers };
    this.limits = o.limits ?? {};
    this.maxServerTxns = o.maxServerTransactions ?? 50000;
    this.appTimeoutMs = o.appResponseTimeoutMs ?? 64000;
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
    });
    this.control = new ControlServer({
      host: o.control.host,
      port: o.control.port,
      secret: o.secret,
      log: o.log.child({ part: 'control' }),
      handlers: {
        onSip: (conn, tokens, sip) => this.onAppSip(conn, tokens, sip),
        onDisconnect: (conn) => this.onAppGone(conn),
        hostports: () => this.hostports(),
        onAppCount: (n) => this.m?.connectedApps.set(n),
      },
    });
  }

  async start(): Promise<void> {
    await this.transports.start();
    await this.control.listen();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.serverTxns.values()) this.stopServer(t);
    for (const t of this.clientTxns.values()) this.stopClient(t);
    for (const d of this.dialogs.values()) this.stopAckWait(d);
    this.serverTxns.clear();
    this.serverById.clear();
    this.inviteByDialogKey.clear();
    this.clientTxns.clear();
    this.clientById.clear();
    this.dialogs.clear();
    await this.control.close();
    await this.transports.close();
  }

  get stats(): { serverTransactions: number; clientTransactions: number; dialogs: number } {
    return { serverTransactions: this.serverById.size, clientTransactions: this.clientById.size, dialogs: this.dialogs.size };
  }

  // ---------------------------------------------------------------------------------------------
  // addresses

  private advertised(l: LocalPoint): string {
    const h = this.o.advertisedHost ?? l.host;
    return hostport(h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '::1' : h, l.port);
  }

  private hostports(): { public: string; local: string } {
    const list = this.transports.locals.map((l) => `${l.proto}/${this.advertised(l)}`).join(',');
    return { public: list, local: list };
  }

  private localContact(l: LocalPoint, user?: string): string {
    return `<sip:${user !== undefined ? `${user}@` : ''}${this.advertised(l)}${l.proto === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  private viaFor(l: LocalPoint, branch: string): string {
    return `SIP/2.0/${l.proto.toUpperCase()} ${this.advertised(l)};rport;branch=${branch}`;
  }

  /** RFC 3261 §18.2.2 / RFC 3581: where responses to `req` from `peer` go. */
  private responseDest(req: SipRequest, peer: Peer): Dest {
    if (peer.proto === 'tcp') return { proto: 'tcp', addr: peer.addr, port: peer.port, conn: peer.conn };
    const v = req.topVia;
    if (v && v.rport === undefined) {
      return { proto: 'udp', addr: peer.addr, port: v.port ?? 5060 };
    }
    return { proto: 'udp', addr: peer.addr, port: peer.port };
  }

  private localFor(d: Dest): LocalPoint | undefined {
    if (d.conn) return d.conn.local;
    return this.transports.localFor(d.proto, d.addr);
  }

  // ---------------------------------------------------------------------------------------------
  // sending

  private sendBytes(d: Dest, bytes: Buffer): void {
    const r = this.transports.send(d.proto, d.addr, d.port, bytes, d.conn);
    if (r === false) this.log.debug({ dest: d }, 'could not send');
    else if (r !== true) void r;
  }

  private countOut(msg: SipMessage, proto: string): void {
    if (!this.m) return;
    if (msg.isResponse) {
      this.m.responsesOut.inc({ method: metricMethod(msg.cseq?.method ?? ''), status: statusClass(msg.status), transport: proto });
    } else this.m.requestsOut.inc({ method: metricMethod(msg.method), transport: proto });
  }

  private metaTokens(source: string, bytes: number, proto: string, addr: string, port: number): string {
    return `${source}|${bytes}|${proto}|${addr}|${port}|${stackTime()}`;
  }

  private toApp(app: AppConnection | undefined, leader: string, msg: Buffer | string): void {
    if (!app || app.closed) return;
    app.send(`${leader}\r\n${typeof msg === 'string' ? msg : msg.toString('utf8')}`);
  }

  // ---------------------------------------------------------------------------------------------
  // network → engine

  private onNetwork(data: Buffer, peer: Peer, parsed?: ParseResult): void {
    if (this.closed) return;
    if (!parsed && isKeepAlive(data)) return; // UDP keep-alive (RFC 5626)
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
        peer.proto === 'tcp'
          ? { proto: 'tcp', addr: peer.addr, port: peer.port, conn: peer.conn }
          : { proto: 'udp', addr: peer.addr, port: v && v.rport === undefined ? (v.port ?? 5060) : peer.port };
      this.sendBytes(dest, serialize(res));
      this.countOut(res, peer.proto);
      return;
    }
    const msg = r.msg;
    try {
      if (msg.isResponse) this.onNetworkResponse(msg, peer, data);
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

  private serverKey(req: SipRequest, method: string): string {
    const v = req.topVia;
    const b = v?.branch;
    if (b !== undefined && b.startsWith('z9hG4bK')) return `${b}|${v?.host ?? ''}|${method}`;
    return `${req.callId ?? ''}|${req.cseq?.seq ?? ''}|${req.from?.tag ?? ''}|${method}`;
  }

  private onNetworkRequest(req: SipRequest, peer: Peer): void {
    const method = req.method;
    this.m?.requestsIn.inc({ method: metricMethod(method), transport: peer.proto });
    if (this.stampVia(req, peer)) req.raw = undefined; // re-serialized for the app
    if (method === 'ACK') return this.onNetworkAck(req, peer);
    if (method === 'CANCEL') return this.onNetworkCancel(req, peer);

    // retransmission of a request we know
    const key = this.serverKey(req, method);
    const existing = this.serverTxns.get(key);
    if (existing) {
      this.m?.retransmissions.inc({ direction: 'in' });
      if (existing.lastResponse && existing.state !== 'trying') {
        this.sendBytes(existing.dest, existing.lastResponse);
        this.m?.retransmissions.inc({ direction: 'out' });
      }
      return;
    }
    const dest = this.responseDest(req, peer);
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
      dialog = this.findDialog(callId, fromTag, toTag);
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
    if (this.serverById.size >= this.maxServerTxns) return this.statelessReply(req, dest, 503, [['Retry-After', '5']]);

    const txn: ServerTxn = {
      id: randomUUID(),
      key,
      method,
      req,
      peer,
      dest,
      app,
      dialogId: dialog?.id ?? '',
      formedDialogId: '',
      toTag: toTag ?? '',
      state: 'trying',
      lastResponse: undefined,
      finalStatus: 0,
      cancelled: false,
      timer: undefined,
      retrans: undefined,
      interval: 0,
    };
    this.serverTxns.set(key, txn);
    this.serverById.set(txn.id, txn);
    if (method === 'INVITE') this.inviteByDialogKey.set(this.ackKey(req), txn);
    this.m?.activeServerTransactions.set(this.serverById.size);
    if (method === 'INVITE') {
      // 100 Trying at once, before the app sees the request (controller.cpp 1651-1662)
      const trying = this.buildResponse(req, 100, 'Trying');
      txn.lastResponse = serialize(trying);
      txn.state = 'proceeding';
      this.sendBytes(dest, txn.lastResponse);
      this.countOut(trying, peer.proto);
      if (dialog) dialog.inviteTxnId = txn.id;
    }
    // drop the state when the app never answers (drachtio CLIENT_TIMEOUT); no response is sent
    txn.timer = later(this.appTimeoutMs, () => this.deleteServer(txn));

    const text = req.raw ?? serialize(req);
    const meta = this.metaTokens('network', text.length, peer.proto, peer.addr, peer.port);
    if (dialog) {
      this.toApp(app, `sip|${meta}|${txn.id}|${dialog.id}|`, text);
    } else {
      this.toApp(app, `sip|${meta}|${txn.id}||${this.advertisedHostOnly(peer.local)}|${peer.local.port}|`, text);
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

  private findDialog(callId: string, fromTag: string, toTag: string): Dialog | undefined {
    const a = this.dialogs.get(`${callId};from-tag=${fromTag}`);
    if (a && a.role === 'uas' && a.localTag === toTag) return a;
    const b = this.dialogs.get(`${callId};from-tag=${toTag}`);
    if (b && b.role === 'uac' && b.localTag === toTag) return b;
    return a ?? b;
  }

  /** Builds a response to a network request, copying Via/From/To/Call-ID/CSeq (RFC 3261 §8.2.6). */
  private buildResponse(req: SipRequest, status: number, reason?: string, toTag?: string, extra: [string, string][] = []): SipResponse {
    const h = new SipHeaders();
    for (const v of req.headers.getAll('via')) h.append('Via', v);
    const from = req.headers.get('from');
    if (from !== undefined) h.append('From', from);
    let to = req.headers.get('to');
    if (to !== undefined && status > 100 && req.to?.tag === undefined) to = `${to};tag=${toTag ?? newTag()}`;
    if (to !== undefined) h.append('To', to);
    const cid = req.headers.get('call-id');
    if (cid !== undefined) h.append('Call-ID', cid);
    const cseq = req.headers.get('cseq');
    if (cseq !== undefined) h.append('CSeq', cseq);
    for (const [k, v] of extra) h.append(k, v);
    h.append('Content-Length', '0');
    return new SipResponse(status, reason ?? reasonPhrase(status), h);
  }

  private statelessReply(req: SipRequest, dest: Dest, status: number, extra: [string, string][] = [], reason?: string): void {
    if (req.method === 'ACK') return;
    const res = this.buildResponse(req, status, reason, undefined, extra);
    this.sendBytes(dest, serialize(res));
    this.countOut(res, dest.proto);
  }

  private ackKey(req: SipRequest): string {
    return `${req.callId ?? ''}|${req.cseq?.seq ?? ''}|${req.from?.tag ?? ''}`;
  }

  private onNetworkAck(ack: SipRequest, peer: Peer): void {
    // ACK for a non-2xx final: same branch as the INVITE (or, leniently, same Call-ID/CSeq/From-tag)
    let st = this.serverTxns.get(this.serverKey(ack, 'INVITE'));
    if (!st) {
      const alt = this.inviteByDialogKey.get(this.ackKey(ack));
      if (alt && alt.finalStatus >= 300) st = alt;
    }
    if (st && st.state === 'completed') {
      st.state = 'confirmed';
      st.retrans = cancel(st.retrans);
      st.timer = cancel(st.timer);
      st.timer = later(peer.proto === 'udp' ? this.t.T4 : 0, () => this.deleteServer(st));
      return;
    }
    if (st && st.state === 'confirmed') return;
    // ACK for a 2xx: a new transaction inside the dialog
    const d = this.findDialog(ack.callId ?? '', ack.from?.tag ?? '', ack.to?.tag ?? '');
    if (!d) return; // a UAC dialog also waits for ACKs: to the 2xx of a re-INVITE it received
    const w = d.ackWait;
    if (!w || (ack.cseq?.seq ?? -1) !== w.cseq) return; // retransmitted or stray ACK
    this.stopAckWait(d);
    if (ack.headers.get('contact') !== undefined) {
      const c = ack.contact;
      const t = c && !c.star ? c.contacts[0]?.uriText : undefined;
      if (t !== undefined) d.remoteTarget = t;
    }
    const text = ack.raw ?? serialize(ack);
    // the ACK carries the INVITE's transaction id (captured: proto token empty)
    this.toApp(d.app, `sip|${this.metaTokens('network', text.length, '', peer.addr, peer.port)}|${w.txnId}|${d.id}|`, text);
    if (d.byeAfterAck) this.engineBye(d, true);
  }

  private onNetworkCancel(c: SipRequest, peer: Peer): void {
    const dest = this.responseDest(c, peer);
    const ckey = this.serverKey(c, 'CANCEL');
    const prior = this.serverTxns.get(ckey);
    if (prior) {
      if (prior.lastResponse) this.sendBytes(prior.dest, prior.lastResponse);
      return;
    }
    const inv = this.serverTxns.get(this.serverKey(c, 'INVITE'));
    const respond = (status: number): void => {
      const res = this.buildResponse(c, status);
      const bytes = serialize(res);
      this.sendBytes(dest, bytes);
      this.countOut(res, peer.proto);
      // keep a small CANCEL server transaction to answer retransmissions
      const t: ServerTxn = {
        id: randomUUID(), key: ckey, method: 'CANCEL', req: c, peer, dest, app: undefined, dialogId: '', formedDialogId: '', toTag: '',
        state: 'completed', lastResponse: bytes, finalStatus: status, cancelled: false, timer: undefined, retrans: undefined, interval: 0,
      };
      this.serverTxns.set(ckey, t);
      t.timer = later(peer.proto === 'udp' ? 64 * this.t.T1 : 0, () => this.serverTxns.get(ckey) === t && this.serverTxns.delete(ckey));
    };
    if (!inv) return respond(481);
    if (inv.state === 'trying' || inv.state === 'proceeding') {
      respond(200);
      inv.cancelled = true;
      this.sendFinal(inv, this.buildResponse(inv.req, 487, undefined, inv.toTag || newTag()));
      const text = serialize(c);
      const meta = this.metaTokens('network', text.length, peer.proto, peer.addr, peer.port);
      const did = inv.dialogId || inv.formedDialogId;
      this.toApp(inv.app, `sip|${meta}|${inv.id}|${did}|`, text);
      const d = inv.formedDialogId ? this.dialogs.get(inv.formedDialogId) : undefined;
      if (d && d.state === 'early') this.removeDialog(d);
      return;
    }
    // final already sent
    if (inv.state === 'accepted' && inv.formedDialogId) {
      // CANCEL racing our 200: 481, then hang up once the ACK arrives (sip-dialog-controller.cpp 1640-1712)
      respond(481);
      const d = this.dialogs.get(inv.formedDialogId);
      if (d && d.state === 'confirmed') {
        if (d.ackWait) d.byeAfterAck = true;
        else this.engineBye(d, true);
      }
      return;
    }
    respond(200);
  }

  /** Sends a final response on a server transaction and runs its completion timers. */
  private sendFinal(t: ServerTxn, res: SipResponse): Buffer {
    const bytes = serialize(res);
    t.lastResponse = bytes;
    t.finalStatus = res.status;
    this.sendBytes(t.dest, bytes);
    this.countOut(res, t.dest.proto);
    t.timer = cancel(t.timer);
    t.retrans = cancel(t.retrans);
    const udp = t.dest.proto === 'udp';
    if (t.method === 'INVITE') {
      if (res.status >= 300) {
        t.state = 'completed';
        if (udp) {
          t.interval = this.t.T1;
          const g = (): void => {
            if (t.state !== 'completed') return;
            this.sendBytes(t.dest, bytes);
            this.m?.retransmissions.inc({ direction: 'out' });
            t.interval = Math.min(t.interval * 2, this.t.T2);
            t.retrans = later(t.interval, g);
          };
          t.retrans = later(t.interval, g);
        }
        t.timer = later(64 * this.t.T1, () => this.deleteServer(t)); // timer H
      } else {
        t.state = 'accepted';
        t.timer = later(64 * this.t.T1, () => this.deleteServer(t)); // timer L (RFC 6026)
      }
    } else {
      t.state = 'completed';
      t.timer = later(udp ? 64 * this.t.T1 : 0, () => this.deleteServer(t)); // timer J
    }
    return bytes;
  }

  private stopServer(t: ServerTxn): void {
    t.timer = cancel(t.timer);
    t.retrans = cancel(t.retrans);
  }

  private deleteServer(t: ServerTxn): void {
    this.stopServer(t);
    t.state = 'terminated';
    if (this.serverTxns.get(t.key) === t) this.serverTxns.delete(t.key);
    this.serverById.delete(t.id);
    if (t.method === 'INVITE') {
      const k = this.ackKey(t.req);
      if (this.inviteByDialogKey.get(k) === t) this.inviteByDialogKey.delete(k);
    }
    this.m?.activeServerTransactions.set(this.serverById.size);
  }

  // ---------------------------------------------------------------------------------------------
  // responses from the network (to our client transactions)

  private onNetworkResponse(res: SipResponse, peer: Peer, _raw: Buffer): void {
    const via = res.topVia;
    const method = res.cseq?.method ?? '';
    this.m?.responsesIn.inc({ method: metricMethod(method), status: statusClass(res.status), transport: peer.proto });
    if (!via?.branch) return;
    const t = this.clientTxns.get(`${via.branch}|${method}`);
    if (!t) {
      // a 2xx retransmission after the INVITE transaction ended: re-send our ACK
      if (method === 'INVITE' && res.status >= 200 && res.status < 300) this.resendAckFor(res);
      return;
    }
    // A CANCEL's client transaction completes on its final response like any non-INVITE one (no retransmissions
    // after it); it has no app, so the response is never reported (drachtio-agent.js 319-326).
    if (t.method === 'INVITE') this.onInviteResponse(t, res, peer);
    else this.onNonInviteResponse(t, res, peer);
  }

  private resendAckFor(res: SipResponse): void {
    const callId = res.callId ?? '';
    // our request: From-tag is ours; the dialog id holds our tag (UAC dialog) or the peer's (UAS dialog)
    const ours = res.from?.tag ?? '';
    const a = this.dialogs.get(`${callId};from-tag=${ours}`);
    const d = a && a.localTag === ours ? a : this.dialogs.get(`${callId};from-tag=${res.to?.tag ?? ''}`);
    if (d && d.localTag === ours && d.lastAck && d.lastAck.cseq === res.cseq?.seq) {
      this.sendBytes(d.lastAck.dest, d.lastAck.bytes);
      this.m?.retransmissions.inc({ direction: 'out' });
    }
  }

  private deliverResponse(t: ClientTxn, res: SipResponse, peer: Peer, dialogId: string): void {
    const text = serialize(res);
    const meta = this.metaTokens('network', text.length, peer.proto, peer.addr, peer.port);
    this.toApp(t.app, `sip|${meta}|${t.id}|${dialogId}|`, text);
  }

  private onInviteResponse(t: ClientTxn, res: SipResponse, peer: Peer): void {
    const s = res.status;
    const toTag = res.to?.tag;
    const callId = res.callId ?? '';
    const localTag = res.from?.tag ?? '';
    const inDialog = t.dialogId !== '';
    const dialogId = inDialog ? t.dialogId : toTag !== undefined ? `${callId};from-tag=${localTag}` : '';
    if (s < 200) {
      if (t.state === 'calling') {
        t.state = 'proceeding';
        t.retrans = cancel(t.retrans);
        // Timer B runs only in Calling (RFC 3261 §17.1.1.2): a callee may ring for minutes. A proxy-like timer C
        // (3 min) bounds the wait; the app decides earlier with a CANCEL.
        t.timer = cancel(t.timer);
        t.timer = later(TIMER_C_MS, () => this.clientTimeout(t));
      }
      if (t.cancelPending && !t.cancelSent) this.sendCancel(t);
      if (t.orphan) {
        this.sendCancel(t);
        return;
      }
      if (!inDialog && toTag !== undefined && s > 100 && !this.dialogs.has(dialogId)) {
        this.createUacDialog(t, res, dialogId, 'early');
      }
      if (s === 100) return; // drachtio/sofia do not report 100 Trying to the app
      this.deliverResponse(t, res, peer, dialogId);
      return;
    }
    if (s < 300) {
      if (t.state === 'accepted') {
        this.resendAckFor(res);
        return;
      }
      t.state = 'accepted';
      t.retrans = cancel(t.retrans);
      t.timer = cancel(t.timer);
      t.timer = later(64 * this.t.T1, () => this.deleteClient(t)); // timer M
      let d = this.dialogs.get(dialogId);
      if (!inDialog) {
        if (!d || d.role !== 'uac') d = this.createUacDialog(t, res, dialogId, 'confirmed');
        else this.confirmUacDialog(d, res);
      } else if (d) {
        const c = res.contact;
        const target = c && !c.star ? c.contacts[0]?.uriText : undefined;
        if (target !== undefined) d.remoteTarget = target;
      }
      if (t.orphan || !t.app || t.app.closed) {
        if (d) {
          this.sendDialogAck(d, undefined);
          this.engineBye(d, false);
        }
        return;
      }
      this.deliverResponse(t, res, peer, dialogId);
      return;
    }
    // 300-699: the stack ACKs (RFC 3261 §17.1.1.3)
    if (t.state === 'completed') {
      if (t.ackBytes) this.sendBytes(t.dest, t.ackBytes);
      return;
    }
    t.state = 'completed';
    t.retrans = cancel(t.retrans);
    t.timer = cancel(t.timer);
    t.ackBytes = serialize(this.buildNon2xxAck(t, res));
    this.sendBytes(t.dest, t.ackBytes);
    t.timer = later(t.dest.proto === 'udp' ? 32000 : 0, () => this.deleteClient(t)); // timer D
    const d = dialogId ? this.dialogs.get(dialogId) : undefined;
    if (!inDialog && d && d.role === 'uac' && d.state === 'early') {
      d.state = 'failed';
      // keep briefly so the app's ACK gets drachtio's NOK, then forget it
      later(2000, () => this.dialogs.get(d.id) === d && d.state === 'failed' && this.removeDialog(d));
    }
    if (!t.orphan) this.deliverResponse(t, res, peer, dialogId);
  }

  private onNonInviteResponse(t: ClientTxn, res: SipResponse, peer: Peer): void {
    if (t.state === 'completed' || t.state === 'terminated') return; // retransmission
    if (res.status < 200) {
      t.state = 'proceeding';
      if (!t.orphan) this.deliverResponse(t, res, peer, t.dialogId);
      return;
    }
    t.state = 'completed';
    t.retrans = cancel(t.retrans);
    t.timer = cancel(t.timer);
    t.timer = later(t.dest.proto === 'udp' ? this.t.T4 : 0, () => this.deleteClient(t)); // timer K
    if (t.method === 'BYE' && t.dialogId) {
      const d = this.dialogs.get(t.dialogId);
      if (d) this.removeDialog(d);
    }
    if (!t.orphan) this.deliverResponse(t, res, peer, t.dialogId);
  }

  private createUacDialog(t: ClientTxn, res: SipResponse, id: string, state: 'early' | 'confirmed'): Dialog {
    const req = t.req;
    const from = req.headers.get('from') ?? '';
    const to = res.headers.get('to') ?? req.headers.get('to') ?? '';
    const c = res.contact;
    const rr = res.headers.values('record-route').reverse();
    const d: Dialog = {
      id,
      role: 'uac',
      callId: req.callId ?? '',
      localTag: req.from?.tag ?? '',
      remoteTag: res.to?.tag ?? '',
      localUri: stripTag(from),
      remoteUri: stripTag(to),
      remoteTarget: (c && !c.star ? c.contacts[0]?.uriText : undefined) ?? req.uri,
      routeSet: rr,
      localSeq: req.cseq?.seq ?? 1,
      remoteSeq: 0,
      localContact: req.headers.get('contact') ?? '',
      app: t.app,
      dest: t.dest,
      state,
      isInvite: true,
      ackWait: undefined,
      inviteTxnId: '',
      inviteCSeq: req.cseq?.seq ?? 1,
      lastAck: undefined,
      byeAfterAck: false,
      created: Date.now(),
    };
    this.addDialog(d);
    return d;
  }

  private confirmUacDialog(d: Dialog, res: SipResponse): void {
    d.state = 'confirmed';
    d.remoteTag = res.to?.tag ?? d.remoteTag;
    const c = res.contact;
    const target = c && !c.star ? c.contacts[0]?.uriText : undefined;
    if (target !== undefined) d.remoteTarget = target;
    d.routeSet = res.headers.values('record-route').reverse();
  }

  private addDialog(d: Dialog): void {
    const prev = this.dialogs.get(d.id);
    if (prev) this.stopAckWait(prev);
    this.dialogs.set(d.id, d);
    this.m?.activeDialogs.set(this.dialogs.size);
  }

  private removeDialog(d: Dialog): void {
    this.stopAckWait(d);
    d.state = 'terminated';
    if (this.dialogs.get(d.id) === d) this.dialogs.delete(d.id);
    this.m?.activeDialogs.set(this.dialogs.size);
  }

  private stopAckWait(d: Dialog): void {
    if (!d.ackWait) return;
    cancel(d.ackWait.timer);
    cancel(d.ackWait.retrans);
    d.ackWait = undefined;
  }

  private buildNon2xxAck(t: ClientTxn, res: SipResponse): SipRequest {
    const h = new SipHeaders();
    h.append('Via', t.req.headers.get('via') ?? '');
    for (const r of t.req.headers.getAll('route')) h.append('Route', r);
    h.append('Max-Forwards', '70');
    h.append('From', t.req.headers.get('from') ?? '');
    h.append('To', res.headers.get('to') ?? t.req.headers.get('to') ?? '');
    h.append('Call-ID', t.req.headers.get('call-id') ?? '');
    h.append('CSeq', `${t.req.cseq?.seq ?? 1} ACK`);
    h.append('Content-Length', '0');
    return new SipRequest('ACK', t.req.uri, h);
  }

  private buildCancel(t: ClientTxn): Buffer {
    const h = new SipHeaders();
    h.append('Via', t.req.headers.get('via') ?? '');
    for (const r of t.req.headers.getAll('route')) h.append('Route', r);
    h.append('Max-Forwards', '70');
    h.append('From', t.req.headers.get('from') ?? '');
    h.append('To', t.req.headers.get('to') ?? '');
    h.append('Call-ID', t.req.headers.get('call-id') ?? '');
    h.append('CSeq', `${t.req.cseq?.seq ?? 1} CANCEL`);
    h.append('Content-Length', '0');
    return serialize(new SipRequest('CANCEL', t.req.uri, h));
  }

  /** Sends (or schedules, before any provisional) a CANCEL for an INVITE client transaction. */
  private sendCancel(t: ClientTxn): Buffer {
    const bytes = t.cancelPending ?? this.buildCancel(t);
    t.cancelPending = bytes;
    if (t.state === 'proceeding' && !t.cancelSent) {
      t.cancelSent = true;
      // CANCEL is its own non-INVITE transaction: startClient sends it (once; retransmitted over
      // UDP until its final response). Sending it here as well put two CANCELs on TCP.
      this.startClient(this.newClientTxn('CANCEL', t.branch, t.req, bytes, t.dest, undefined, ''));
    }
    return bytes;
  }

  // ---------------------------------------------------------------------------------------------
  // client transactions

  private newClientTxn(method: string, branch: string, req: SipRequest, bytes: Buffer, dest: Dest, app: AppConnection | undefined, dialogId: string): ClientTxn {
    return {
      id: randomUUID(),
      key: `${branch}|${method}`,
      branch,
      method,
      req,
      bytes,
      dest,
      app,
      dialogId,
      state: 'calling',
      timer: undefined,
      retrans: undefined,
      interval: this.t.T1,
      cancelPending: undefined,
      cancelSent: false,
      ackBytes: undefined,
      orphan: false,
    };
  }

  /** Registers and sends a client transaction, with timers A/B or E/F (retransmissions only over UDP). */
  private startClient(t: ClientTxn): void {
    if (t.method === 'ACK') {
      this.sendBytes(t.dest, t.bytes);
      return;
    }
    this.clientTxns.set(t.key, t);
    this.clientById.set(t.id, t);
    this.m?.activeClientTransactions.set(this.clientById.size);
    this.sendBytes(t.dest, t.bytes);
    this.countOut(t.req, t.dest.proto);
    const invite = t.method === 'INVITE';
    if (t.dest.proto === 'udp') {
      const tick = (): void => {
        if (t.state === 'terminated' || t.state === 'completed' || t.state === 'accepted') return;
        if (invite && t.state !== 'calling') return;
        this.sendBytes(t.dest, t.bytes);
        this.m?.retransmissions.inc({ direction: 'out' });
        t.interval = invite ? t.interval * 2 : t.state === 'proceeding' ? this.t.T2 : Math.min(t.interval * 2, this.t.T2);
        t.retrans = later(t.interval, tick);
      };
      t.retrans = later(t.interval, tick);
    }
    t.timer = later(64 * this.t.T1, () => this.clientTimeout(t)); // timer B / F
  }

  private clientTimeout(t: ClientTxn): void {
    if (t.state === 'completed' || t.state === 'accepted' || t.state === 'terminated') return;
    if (t.method === 'INVITE' && t.state === 'proceeding' && !t.orphan) {
      // timer C: report 408 now, CANCEL the ringing callee, and keep the transaction to ACK what comes back
      this.failClient(t, 408, 'Request Timeout');
      t.orphan = true;
      this.sendCancel(t);
      t.timer = later(64 * this.t.T1, () => this.deleteClient(t));
      return;
    }
    const wasOrphan = t.orphan;
    this.deleteClient(t);
    if (t.method === 'CANCEL' || wasOrphan) return;
    this.failClient(t, 408, 'Request Timeout');
  }

  /** Reports a locally generated final response (408 timeout, 503 transport failure) to the app. */
  private failClient(t: ClientTxn, status: number, reason: string): void {
    if (t.method === 'BYE' && t.dialogId) {
      const d = this.dialogs.get(t.dialogId);
      if (d) this.removeDialog(d);
    }
    if (t.method === 'INVITE' && !t.dialogId) {
      const d = this.dialogs.get(`${t.req.callId ?? ''};from-tag=${t.req.from?.tag ?? ''}`);
      if (d && d.state === 'early') this.removeDialog(d);
    }
    if (!t.app || t.orphan) return;
    const h = new SipHeaders();
    h.append('Via', t.req.headers.get('via') ?? '');
    h.append('From', t.req.headers.get('from') ?? '');
    h.append('To', t.req.headers.get('to') ?? '');
    h.append('Call-ID', t.req.headers.get('call-id') ?? '');
    h.append('CSeq', t.req.headers.get('cseq') ?? '');
    h.append('Content-Length', '0');
    const res = new SipResponse(status, reason, h);
    const text = serialize(res);
    const meta = this.metaTokens('network', text.length, t.dest.proto, t.dest.addr, t.dest.port);
    this.toApp(t.app, `sip|${meta}|${t.id}|${t.dialogId}|`, text);
  }

  private stopClient(t: ClientTxn): void {
    t.timer = cancel(t.timer);
    t.retrans = cancel(t.retrans);
  }

  private deleteClient(t: ClientTxn): void {
    this.stopClient(t);
    t.state = 'terminated';
    if (this.clientTxns.get(t.key) === t) this.clientTxns.delete(t.key);
    this.clientById.delete(t.id);
    this.m?.activeClientTransactions.set(this.clientById.size);
  }

  // ---------------------------------------------------------------------------------------------
  // app → engine

  private onAppSip(conn: AppConnection, tokens: readonly string[], text: string): void {
    const msgId = tokens[0] ?? '';
    const txnId = tokens[2] ?? '';
    const dialogId = tokens[3] ?? '';
    const routeUrl = tokens[4] ?? '';
    const msg = parseAppMessage(text);
    if (!msg) {
      conn.respond(msgId, 'NOK|could not parse the SIP message');
      return;
    }
    try {
      if (msg.isResponse) this.appResponse(conn, msgId, txnId, msg);
      else if (dialogId !== '') this.appInDialog(conn, msgId, dialogId, msg);
      else if (txnId !== '' && msg.method === 'CANCEL') this.appCancel(conn, msgId, txnId, msg);
      else if (msg.method === 'ACK') conn.respond(msgId, 'NOK|ACK for non-success responses is automatically generated by the stack');
      else
        this.appNewRequest(conn, msgId, msg, routeUrl).catch((err: unknown) => {
          this.log.warn({ err }, 'could not send request');
          conn.respond(msgId, `NOK|${(err as Error).message}`);
        });
    } catch (err) {
      this.log.error({ err }, 'error handling app sip frame');
      conn.respond(msgId, `NOK|internal error: ${(err as Error).message}`);
    }
  }

  /** Rewrites `@localhost` to our address (drachtio `makeTags`). */
  private fixLocalhost(value: string, l: LocalPoint): string {
    if (!value.includes('@localhost')) return value;
    return value.replace(/@localhost(:\d+)?(?=[>;?\s]|$)/g, `@${this.advertised(l)}`);
  }

  /** Name-addr form of a From/To/Contact value, `@localhost` rewritten. */
  private normAddr(value: string, l: LocalPoint): string {
    const v = this.fixLocalhost(value, l);
    const na = parseNameAddr(v);
    if (!na) return v;
    if (na.bracketed) return v;
    return formatNameAddr({ ...na, bracketed: true });
  }

  private appResponse(conn: AppConnection, msgId: string, txnId: string, app: SipResponse): void {
    const t = this.serverById.get(txnId);
    if (!t || t.state === 'terminated') {
      conn.respond(msgId, 'NOK|unknown transaction');
      return;
    }
    if (t.cancelled) {
      conn.respond(msgId, 'NOK|request was cancelled');
      return;
    }
    if (t.finalStatus >= 200) {
      conn.respond(msgId, 'NOK|a final response was already sent');
      return;
    }
    const status = app.status;
    if (status < 100 || status > 699) {
      conn.respond(msgId, 'NOK|invalid status');
      return;
    }
    if (status > 100 && status < 200 && /(^|,)\s*100rel\s*(,|$)/i.test(app.headers.get('require') ?? '')) {
      conn.respond(msgId, 'NOK|reliable provisional responses (100rel/PRACK) are not supported by the Kumo engine');
      return;
    }
    const req = t.req;
    const l = t.peer.local;
    // To-tag: the app may choose it; otherwise one per transaction
    const appTo = app.headers.get('to');
    const appToTag = appTo !== undefined ? parseNameAddr(appTo)?.tag : undefined;
    if (appToTag !== undefined && req.to?.tag === undefined) t.toTag = appToTag;
    if (t.toTag === '' && status > 100) t.toTag = newTag();

    const h = new SipHeaders();
    for (const v of req.headers.getAll('via')) h.append('Via', v);
    const forming = isDialogForming(t.method) && status > 100 && status < 300 && t.dialogId === '';
    if (forming || (t.dialogId === '' && t.method === 'INVITE' && status > 100 && status < 300)) {
      for (const rr of req.headers.getAll('record-route')) h.append('Record-Route', rr);
    }
    h.append('From', req.headers.get('from') ?? app.headers.get('from') ?? '');
    let to = req.headers.get('to') ?? appTo ?? '';
    if (status > 100 && req.to?.tag === undefined) to = `${stripTag(to)};tag=${t.toTag}`;
    h.append('To', to);
    h.append('Call-ID', req.headers.get('call-id') ?? '');
    h.append('CSeq', req.headers.get('cseq') ?? '');
    const appContact = app.headers.get('contact');
    if (appContact !== undefined) h.append('Contact', this.normAddr(appContact, l));
    else if (status > 100 && status < 300 && (isDialogForming(t.method) || t.method === 'REFER')) h.append('Contact', this.localContact(l));
    for (const f of app.headers) {
      if (APP_FORBIDDEN.has(f.key) || RESP_CORE.has(f.key)) continue;
      h.append(prettyHeaderName(f.name), f.key === 'p-asserted-identity' ? this.fixLocalhost(f.value, l) : f.value);
    }
    const ct = app.headers.get('content-type');
    if (app.body.length > 0) {
      if (ct !== undefined) h.append('Content-Type', ct);
      else if (app.body.subarray(0, 3).toString('latin1') === 'v=0') h.append('Content-Type', 'application/sdp');
    }
    const res = new SipResponse(status, app.reason || reasonPhrase(status), h, app.body);

    // dialog bookkeeping
    let dialogId = t.dialogId;
    if (t.method === 'INVITE' && status > 100 && t.dialogId === '') {
      dialogId = `${req.callId ?? ''};from-tag=${req.from?.tag ?? ''}`;
      t.formedDialogId = dialogId;
      if (status < 300) this.ensureUasDialog(t, res, dialogId, status < 200 ? 'early' : 'confirmed');
      else {
        const d = this.dialogs.get(dialogId);
        if (d && d.role === 'uas' && d.state === 'early') this.removeDialog(d);
      }
    } else if (t.method === 'SUBSCRIBE' && status >= 200 && status < 300 && t.dialogId === '') {
      dialogId = `${req.callId ?? ''};from-tag=${req.from?.tag ?? ''}`;
      t.formedDialogId = dialogId;
      this.ensureUasDialog(t, res, dialogId, 'confirmed');
    }

    let bytes: Buffer;
    if (status < 200) {
      bytes = serialize(res);
      t.lastResponse = bytes;
      t.state = 'proceeding';
      // the app has answered: the 64 s app-response timeout no longer applies (a call may ring for minutes)
      t.timer = cancel(t.timer);
      t.timer = later(PROCEEDING_LIMIT_MS, () => this.deleteServer(t));
      this.sendBytes(t.dest, bytes);
      this.countOut(res, t.dest.proto);
    } else {
      bytes = this.sendFinal(t, res);
      if (t.method === 'INVITE' && status < 300) this.startAckWait(t, dialogId, bytes);
      if (t.method === 'BYE' && t.dialogId) {
        const d = this.dialogs.get(t.dialogId);
        if (d) this.removeDialog(d);
      }
      if (t.method === 'INVITE' && status >= 300 && t.dialogId) {
        // a failed re-INVITE leaves the dialog as it was
      }
    }
    const meta = this.metaTokens('application', bytes.length, t.dest.proto, t.dest.addr, t.dest.port);
    conn.respond(msgId, `OK|${meta}|${t.id}|${dialogId}||Msg sent:|\r\n${bytes.toString('utf8')}`);
  }

  private ensureUasDialog(t: ServerTxn, res: SipResponse, id: string, state: 'early' | 'confirmed'): void {
    const req = t.req;
    let d = this.dialogs.get(id);
    if (d && d.role === 'uas') {
      if (state === 'confirmed') d.state = 'confirmed';
      return;
    }
    const c = req.contact;
    d = {
      id,
      role: 'uas',
      callId: req.callId ?? '',
      localTag: t.toTag,
      remoteTag: req.from?.tag ?? '',
      localUri: stripTag(req.headers.get('to') ?? ''),
      remoteUri: stripTag(req.headers.get('from') ?? ''),
      remoteTarget: (c && !c.star ? c.contacts[0]?.uriText : undefined) ?? '',
      routeSet: req.headers.values('record-route'),
      localSeq: randomCSeq(),
      remoteSeq: req.cseq?.seq ?? 0,
      localContact: res.headers.get('contact') ?? this.localContact(t.peer.local),
      app: t.app,
      dest: t.dest,
      state,
      isInvite: t.method === 'INVITE',
      ackWait: undefined,
      inviteTxnId: t.id,
      inviteCSeq: 0,
      lastAck: undefined,
      byeAfterAck: false,
      created: Date.now(),
    };
    this.addDialog(d);
  }

  /** 2xx to INVITE: retransmit (UDP) until the ACK; BYE after 64·T1 without one (RFC 6026, drachtio timer G/H). */
  private startAckWait(t: ServerTxn, dialogId: string, bytes: Buffer): void {
    const d = this.dialogs.get(dialogId);
    if (!d) return;
    this.stopAckWait(d);
    d.inviteTxnId = t.id;
    const w: NonNullable<Dialog['ackWait']> = { txnId: t.id, cseq: t.req.cseq?.seq ?? 0, bytes, timer: undefined, retrans: undefined, interval: this.t.T1, dest: t.dest };
    d.ackWait = w;
    if (t.dest.proto === 'udp') {
      const g = (): void => {
        if (d.ackWait !== w) return;
        this.sendBytes(w.dest, w.bytes);
        this.m?.retransmissions.inc({ direction: 'out' });
        w.interval = Math.min(w.interval * 2, this.t.T2);
        w.retrans = later(w.interval, g);
      };
      w.retrans = later(w.interval, g);
    }
    w.timer = later(64 * this.t.T1, () => {
      if (d.ackWait !== w) return;
      this.stopAckWait(d);
      this.log.info({ dialogId: d.id }, 'no ACK for 2xx; sending BYE');
      this.engineBye(d, true);
    });
  }

  /** The engine hangs up a dialog itself; `tellApp` reports it as an `unsolicited` BYE. */
  private engineBye(d: Dialog, tellApp: boolean): void {
    if (d.state === 'terminated') return;
    const req = this.buildInDialog(d, 'BYE', undefined, new SipHeaders(), Buffer.alloc(0));
    const dest = this.dialogDest(d);
    const l = this.localFor(dest);
    if (!l) return;
    const branch = newBranch();
    req.headers.prepend('Via', this.viaFor(l, branch));
    const bytes = serialize(req);
    this.removeDialog(d);
    this.startClient(this.newClientTxn('BYE', branch, req, bytes, dest, undefined, ''));
    if (tellApp && d.app && !d.app.closed) {
      const meta = this.metaTokens('application', bytes.length, dest.proto, dest.addr, dest.port);
      this.toApp(d.app, `sip|${meta}|unsolicited|${d.id}|`, bytes);
    }
  }

  private sendDialogAck(d: Dialog, body: Buffer | undefined, contentType?: string): Buffer {
    const h = new SipHeaders();
    if (body && body.length > 0) h.append('Content-Type', contentType ?? 'application/sdp');
    const req = this.buildInDialog(d, 'ACK', undefined, h, body ?? Buffer.alloc(0), d.inviteCSeq);
    const dest = this.dialogDest(d);
    const l = this.localFor(dest);
    req.headers.prepend('Via', l ? this.viaFor(l, newBranch()) : '');
    const bytes = serialize(req);
    d.lastAck = { cseq: d.inviteCSeq, bytes, dest };
    this.sendBytes(dest, bytes);
    this.countOut(req, dest.proto);
    return bytes;
  }

  /** Where in-dialog requests go: first route (loose routing) or the remote target; reuse the TCP connection. */
  private dialogDest(d: Dialog): Dest {
    const first = d.routeSet[0];
    const target = first !== undefined ? parseNameAddr(first)?.uri : parseUri(d.remoteTarget);
    const u = target && target.kind === 'sip' ? target : undefined;
    if (!u) return d.dest;
    const proto = (u.params.transport ?? '').toLowerCase() === 'tcp' ? 'tcp' : d.dest.proto;
    const addr = bareHost(u.host);
    const port = u.port ?? 5060;
    if (d.dest.conn && !d.dest.conn.closed && proto === 'tcp') return d.dest; // connection reuse
    if (isIP(addr) === 0) return d.dest; // no DNS for in-dialog targets: use where the dialog came from
    return { proto, addr, port };
  }

  /** Builds an in-dialog request (RFC 3261 §12.2.1.1), without Via. */
  private buildInDialog(d: Dialog, method: string, uri: string | undefined, extra: SipHeaders, body: Buffer, cseq?: number): SipRequest {
    const h = new SipHeaders();
    let ruri = uri !== undefined && uri !== 'sip:placeholder' && method !== 'ACK' ? uri : d.remoteTarget;
    const routes = [...d.routeSet];
    const first = routes[0];
    if (first !== undefined) {
      const na = parseNameAddr(first);
      const fu = na?.uri;
      if (fu && fu.kind === 'sip' && !('lr' in fu.params)) {
        // strict routing (RFC 3261 §12.2.1.1)
        routes.shift();
        routes.push(`<${ruri}>`);
        ruri = na.uriText;
      }
    }
    for (const r of routes) h.append('Route', r);
    h.append('Max-Forwards', '70');
    h.append('From', `${d.localUri};tag=${d.localTag}`);
    h.append('To', d.remoteTag ? `${d.remoteUri};tag=${d.remoteTag}` : d.remoteUri);
    h.append('Call-ID', d.callId);
    let seq = cseq;
    if (seq === undefined) {
      d.localSeq += 1;
      seq = d.localSeq;
    }
    h.append('CSeq', `${seq} ${method}`);
    for (const f of extra) h.append(f.name, f.value);
    return new SipRequest(method, ruri, h, body);
  }

  private appInDialog(conn: AppConnection, msgId: string, dialogId: string, app: SipRequest): void {
    const d = this.dialogs.get(dialogId);
    const method = app.method;
    if (method === 'ACK') {
      if (!d || d.state !== 'confirmed' || d.inviteCSeq === 0) {
        conn.respond(msgId, 'NOK|ACK for non-success responses is automatically generated by the stack');
        return;
      }
      const bytes = this.sendDialogAck(d, app.body, app.headers.get('content-type'));
      const dest = d.lastAck?.dest ?? d.dest;
      const meta = this.metaTokens('application', bytes.length, dest.proto, dest.addr, dest.port);
      conn.respond(msgId, `OK|${meta}|${randomUUID()}|Msg sent:|\r\n${bytes.toString('utf8')}`);
      if (d.byeAfterAck) this.engineBye(d, true);
      return;
    }
    if (!d || d.state === 'terminated' || d.state === 'failed') {
      conn.respond(msgId, 'NOK|unable to find dialog');
      return;
    }
    if (method === 'PRACK') {
      conn.respond(msgId, 'NOK|PRACK (100rel) is not supported by the Kumo engine');
      return;
    }
    const dest = this.dialogDest(d);
    const l = this.localFor(dest);
    if (!l) {
      conn.respond(msgId, 'NOK|no transport for the dialog');
      return;
    }
    const extra = new SipHeaders();
    for (const f of app.headers) {
      if (APP_FORBIDDEN.has(f.key) || f.key === 'from' || f.key === 'to' || f.key === 'call-id' || f.key === 'cseq' || f.key === 'max-forwards') continue;
      if (f.key === 'contact') {
        extra.append('Contact', this.normAddr(f.value, l));
        continue;
      }
      extra.append(prettyHeaderName(f.name), f.key === 'p-asserted-identity' ? this.fixLocalhost(f.value, l) : f.value);
    }
    if ((method === 'INVITE' || method === 'UPDATE' || method === 'SUBSCRIBE' || method === 'REFER') && !extra.has('contact')) {
      extra.append('Contact', d.localContact || this.localContact(l));
    }
    if (app.body.length > 0 && !extra.has('content-type') && app.body.subarray(0, 3).toString('latin1') === 'v=0') {
      extra.append('Content-Type', 'application/sdp');
    }
    const req = this.buildInDialog(d, method, app.uri, extra, app.body);
    const branch = newBranch();
    req.headers.prepend('Via', this.viaFor(l, branch));
    if (method === 'INVITE') d.inviteCSeq = req.cseq?.seq ?? d.localSeq;
    const bytes = serialize(req);
    const t = this.newClientTxn(method, branch, req, bytes, dest, conn, d.id);
    this.startClient(t);
    const meta = this.metaTokens('application', bytes.length, dest.proto, dest.addr, dest.port);
    conn.respond(msgId, `OK|${meta}|${t.id}|Msg sent:|\r\n${bytes.toString('utf8')}`);
  }

  private appCancel(conn: AppConnection, msgId: string, txnId: string, _app: SipRequest): void {
    const t = this.clientById.get(txnId);
    if (!t || t.method !== 'INVITE') {
      conn.respond(msgId, 'NOK|unknown transaction');
      return;
    }
    if (t.state !== 'calling' && t.state !== 'proceeding') {
      conn.respond(msgId, 'NOK|transaction already completed');
      return;
    }
    const bytes = this.sendCancel(t);
    const meta = this.metaTokens('application', bytes.length, t.dest.proto, t.dest.addr, t.dest.port);
    conn.respond(msgId, `OK|${meta}|${randomUUID()}|Msg sent:|\r\n${bytes.toString('utf8')}`);
  }

  /** Destination of a new request: outbound proxy, else the Request-URI (`;transport=tcp` → TCP). */
  private async resolveDest(uriText: string): Promise<Dest> {
    const u = parseUri(uriText);
    if (!u || u.kind !== 'sip') throw new Error(`cannot route to ${uriText}`);
    const su: SipUri = u;
    const t = (su.params.transport ?? '').toLowerCase();
    let proto: 'udp' | 'tcp' = t === 'tcp' ? 'tcp' : 'udp';
    if (proto === 'udp' && this.transports.udp.length === 0) proto = 'tcp';
    if (su.scheme === 'sips' || t === 'tls' || t === 'ws' || t === 'wss') throw new Error(`transport ${t || 'tls'} is not supported by the Kumo engine`);
    let addr = bareHost(su.host);
    if (isIP(addr) === 0) {
      const r = await lookup(addr);
      addr = r.address;
    }
    return { proto, addr, port: su.port ?? 5060 };
  }

  private async appNewRequest(conn: AppConnection, msgId: string, app: SipRequest, routeUrl: string): Promise<void> {
    const method = app.method;
    if (method === 'PRACK') {
      conn.respond(msgId, 'NOK|PRACK (100rel) is not supported by the Kumo engine');
      return;
    }
    const dest = await this.resolveDest(routeUrl !== '' ? (routeUrl.includes(':') && /^sips?:/.test(routeUrl) ? routeUrl : `sip:${routeUrl}`) : app.uri);
    if (dest.proto === 'tcp') {
      const existing = this.transports.findConn(dest.addr, dest.port);
      if (existing) dest.conn = existing;
    }
    const l = this.localFor(dest);
    if (!l) throw new Error(`no ${dest.proto} transport`);
    const h = new SipHeaders();
    const branch = newBranch();
    h.append('Via', this.viaFor(l, branch));
    const ruriText = this.fixLocalhost(app.uri, l);
    const appFrom = app.headers.get('from');
    const appContact = app.headers.get('contact');
    let from = appFrom !== undefined ? this.normAddr(appFrom, l) : appContact !== undefined ? this.normAddr(appContact, l) : this.localContact(l, 'kumo');
    const fna = parseNameAddr(from);
    if (fna && fna.tag === undefined) from = `${from};tag=${newTag()}`;
    h.append('From', from);
    const appTo = app.headers.get('to');
    h.append('To', appTo !== undefined ? this.normAddr(appTo, l) : `<${ruriText}>`);
    h.append('Call-ID', app.headers.get('call-id') ?? `${randomUUID()}`);
    const appCSeq = app.cseq;
    h.append('CSeq', appCSeq ? `${appCSeq.seq} ${method}` : `${randomCSeq()} ${method}`);
    h.append('Max-Forwards', app.headers.get('max-forwards') ?? '70');
    if (appContact !== undefined) h.append('Contact', this.normAddr(appContact, l));
    else if (method === 'INVITE' || method === 'SUBSCRIBE' || method === 'REFER') h.append('Contact', this.localContact(l));
    for (const f of app.headers) {
      if (APP_FORBIDDEN.has(f.key) || REQ_CONTROLLED.has(f.key)) continue;
      h.append(prettyHeaderName(f.name), f.key === 'p-asserted-identity' ? this.fixLocalhost(f.value, l) : f.value);
    }
    const ct = app.headers.get('content-type');
    if (app.body.length > 0) {
      if (ct !== undefined) h.append('Content-Type', ct);
      else if (app.body.subarray(0, 3).toString('latin1') === 'v=0') h.append('Content-Type', 'application/sdp');
    }
    const req = new SipRequest(method, ruriText, h, app.body);
    const bytes = serialize(req);
    const t = this.newClientTxn(method, branch, req, bytes, dest, conn, '');
    this.startClient(t);
    const meta = this.metaTokens('application', bytes.length, dest.proto, dest.addr, dest.port);
    conn.respond(msgId, `OK|${meta}|${t.id}|Msg sent:|\r\n${bytes.toString('utf8')}`);
  }

  // ---------------------------------------------------------------------------------------------
  // app disconnect

  private onAppGone(conn: AppConnection): void {
    // Each transaction and dialog is cleaned up on its own: one that fails (a bad destination, a throw in a
    // builder) is logged and dropped, and never stops the loop from handling the rest.
    for (const t of [...this.serverById.values()]) {
      if (t.app !== conn) continue;
      t.app = undefined;
      this.guard('server transaction', t.id, () => {
        if (t.state === 'trying' || t.state === 'proceeding') {
          const res = this.buildResponse(t.req, t.method === 'INVITE' ? 480 : 503, undefined, t.toTag || newTag());
          this.sendFinal(t, res);
        }
      }, () => this.deleteServer(t));
    }
    for (const t of [...this.clientById.values()]) {
      if (t.app !== conn) continue;
      t.orphan = true;
      t.app = undefined;
      this.guard('client transaction', t.id, () => {
        if (t.method === 'INVITE' && (t.state === 'proceeding' || t.state === 'calling')) this.sendCancel(t);
      }, () => this.deleteClient(t));
    }
    for (const d of [...this.dialogs.values()]) {
      if (d.app !== conn) continue;
      d.app = undefined;
      this.guard('dialog', d.id, () => {
        if (d.state === 'confirmed' && d.isInvite) this.engineBye(d, false);
        // an early UAS dialog ended with the 480 above; an early UAC one ends with the answer to its CANCEL
        else if (d.state !== 'early' || d.role === 'uas') this.removeDialog(d);
      }, () => this.removeDialog(d));
    }
  }

  /** Runs one clean-up step; on a throw, logs it and runs `fallback` (which forgets the state) instead. */
  private guard(what: string, id: string, step: () => void, fallback: () => void): void {
    try {
      step();
    } catch (err) {
      this.log.warn({ err, what, id }, 'clean-up step failed; state dropped');
      try {
        fallback();
      } catch (err2) {
        this.log.error({ err: err2, what, id }, 'could not drop state');
      }
    }
  }
}

function stripTag(value: string): string {
  const na = parseNameAddr(value);
  if (!na || na.tag === undefined) return value;
  const params = { ...na.params };
  delete params.tag;
  return formatNameAddr({ ...na, params, tag: undefined, bracketed: true });
}

