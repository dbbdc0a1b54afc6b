import { metricMethod, type EngineMetrics } from '@kumo/runtime';
import { metaTokens, toApp } from './control/bridge.js';
import type { AppConnection } from './control/server.js';
import type { Dialog } from './dialog/dialog.js';
import { uasDialog } from './dialog/ua.js';
import { formatVia, parseVia, serialize, validateRequest, type SipRequest, type SipResponse, type ValidationPolicy } from './sip/index.js';
import { cancelVerdict } from './transaction/cancel.js';
import type { Clock } from './transaction/clock.js';
import { buildResponse } from './transaction/requests.js';
import { ServerTransaction } from './transaction/server.js';
import { ackKey, serverKey, type TransactionTable } from './transaction/table.js';
import type { SipTimers } from './transaction/timers.js';
import type { Dest, TxnTransport } from './transaction/types.js';
import { bareHost, isStream, type LocalPoint, type Peer } from './transport/types.js';
import { isNeverShed } from './overload.js';
import { newId, newTag } from './util.js';
import type { ClientTxn, EngineCore, ServerTu, ServerTxn } from './engine.js';
import type { Lingers } from './transaction/linger.js';

/** Methods of RFC 3261 and its extensions: an unrouted one gets 405 with Allow, any other method 501. */
const KNOWN_METHODS = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE']);

/** To-tag prefix of the stateless 503 that sheds a new INVITE, so that its ACK is recognised before parsing. */
export const SHED_TAG = 'kshed';
export const SHED_TAG_PARAM = Buffer.from(`tag=${SHED_TAG}`);

/** Upper bound on a server transaction the app keeps in Proceeding (state is dropped after it). */
const PROCEEDING_LIMIT_MS = 600000;

/** What the UAS half needs of the engine besides its public face. */
export interface UasContext {
  readonly metrics: EngineMetrics | undefined;
  readonly timers: SipTimers;
  readonly clock: Clock;
  /** Shared queues for the transactions' waits after their final response. */
  readonly linger?: Lingers | undefined;
  readonly txns: TransactionTable<ServerTxn, ClientTxn>;
  /** The control bridge's map of which app a transaction belongs to. */
  readonly owner: Map<string, AppConnection>;
  /** The transport as the transaction layer sees it. */
  readonly txp: TxnTransport;
  /** What `validateRequest` checks on every request from the network (RFC 3261 §8.2, §16.3). */
  readonly policy: ValidationPolicy;
  readonly maxServerTxns: number;
  readonly appTimeoutMs: number;
  readonly advertisedHost: string | undefined;
  /** Request-URI users whose INVITEs are never shed (emergency numbers). */
  readonly neverShedUsers: ReadonlySet<string>;
  /**
   * How long a new INVITE's 100 Trying waits for the app's own first response (RFC 3261 §17.2.1: not needed when the
   * TU answers within 200 ms); 0 sends it at once, before the app sees the request (drachtio-server's way).
   */
  readonly tryingDelayMs?: number | undefined;
  send(d: Dest, bytes: Buffer): void;
}

/**
 * The UAS half of the TU: every request from the network goes through its steps in order (Via stamping, ACK and
 * CANCEL to their own handling, retransmissions absorbed by their transaction, the admission decision for new
 * INVITEs, the wire verdicts, in-dialog matching, an app chosen, a server transaction (its 100 Trying at once or, with
 * `tryingDelayMs`, only when the app has not answered by then), the request handed to the app), and the server transactions' final responses and UAS dialogs.
 */
export class UasSide {
  constructor(
    private readonly s: EngineCore,
    private readonly c: UasContext,
  ) {}

  /**
   * Calls that are never shed: to a Request-URI user in `neverShedUsers` (emergency numbers: 110/118/119, also dialled
   * behind the outside-line prefix), or with an RFC 4412 Resource-Priority in the `esnet` namespace.
   */
  private neverShed(req: SipRequest): boolean {
    const u = req.requestUri;
    const user = u === undefined ? undefined : 'number' in u ? u.number : 'user' in u ? u.user : undefined;
    const h = req.headers;
    return isNeverShed(user, h.has('resource-priority') ? h.getAll('resource-priority').join(', ') : undefined, this.c.neverShedUsers);
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

  /** Adds `received` / fills `rport` on the top Via (RFC 3261 §18.2.1, RFC 3581). */
  private stampVia(req: SipRequest, peer: Peer): boolean {
    // the usual case (sent-by is the source address, no empty rport): nothing to stamp, no second Via parse
    const top = req.topVia;
    if (top && top.rport !== null && bareHost(top.host) === peer.addr) return false;
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

  /**
   * A request from the network (already parsed): verdicts, admission, matching, a transaction, the app. `admitted`:
   * the raw path (fastshed.ts) already let this new INVITE through and took its token.
   */
  onRequest(req: SipRequest, peer: Peer, admitted = false): void {
    const method = req.method;
    this.c.metrics?.requestsIn.inc({ method: metricMethod(method), transport: peer.proto });
    if (this.stampVia(req, peer)) req.raw = undefined; // re-serialized for the app
    if (method === 'ACK') return this.onNetworkAck(req, peer);
    if (method === 'CANCEL') return this.onNetworkCancel(req, peer);

    // retransmission of a request we know
    const key = serverKey(req, method);
    const existing = this.c.txns.server(key);
    if (existing) {
      this.c.metrics?.retransmissions.inc({ direction: 'in' });
      existing.onRequestRetransmission();
      return;
    }
    const dest = this.responseDest(req, peer);
    // Overload: refuse new calls cheaply, statelessly, before any app sees them; what was admitted goes on.
    if (method === 'INVITE' && !admitted && req.to?.tag === undefined && !this.neverShed(req) && this.s.overload.shouldShed(key)) {
      this.c.metrics?.shedInvites.inc();
      const res = buildResponse(req, 503, 'Service Unavailable', `${SHED_TAG}${newTag()}`, [['Retry-After', String(this.s.overload.o.retryAfterS)]]);
      this.c.send(dest, serialize(res));
      this.s.countOut(res, dest.proto);
      return;
    }
    const v = validateRequest(req, this.c.policy);
    if (!v.ok) {
      this.c.metrics?.parseErrors.inc({ transport: peer.proto });
      return this.statelessReply(req, dest, v.status, v.headers, v.status === 400 ? v.reason : undefined);
    }

    const callId = req.callId ?? '';
    const toTag = req.to?.tag;
    const fromTag = req.from?.tag ?? '';
    let dialog: Dialog | undefined;
    if (toTag !== undefined) {
      dialog = this.s.dialogs.find(callId, fromTag, toTag);
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
          this.s.removeDialog(dialog);
          return;
        }
        return this.statelessReply(req, dest, 503);
      }
    } else {
      app = this.s.control.pick(method.toLowerCase());
      if (!app) return this.noAppFor(req, dest);
    }
    if (this.c.txns.serverCount >= this.c.maxServerTxns) return this.statelessReply(req, dest, 503, [['Retry-After', '5']]);

    // INVITE: 100 Trying, unless the app answers first (within tryingDelayMs); built only if it is sent
    const trying =
      method === 'INVITE'
        ? (): Buffer => {
            const res = buildResponse(req, 100, 'Trying');
            this.s.countOut(res, peer.proto);
            return serialize(res);
          }
        : undefined;
    const txn = this.newServerTxn(key, method, dest, {
      req,
      peer,
      ackKey: '',
      cseq: req.cseq?.seq ?? 0,
      dialogId: dialog?.id ?? '',
      formedDialogId: '',
      toTag: toTag ?? '',
      cancelled: false,
      awaitingSince: method === 'INVITE' && !dialog ? performance.now() : 0,
    }, trying);
    this.c.owner.set(txn.id, app);
    if (txn.tu.awaitingSince !== 0) this.s.overload.delivered();
    if (method === 'INVITE' && dialog) dialog.inviteTxnId = txn.id;

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
    const allow = this.s.control.routedMethods();
    if (allow.length === 0) return this.statelessReply(req, dest, 503, [['Retry-After', '5']], 'Service Unavailable');
    if (!KNOWN_METHODS.has(req.method)) return this.statelessReply(req, dest, 501);
    if (!allow.includes('ACK')) allow.push('ACK');
    if (allow.includes('INVITE') && !allow.includes('CANCEL')) allow.push('CANCEL');
    return this.statelessReply(req, dest, 405, [['Allow', allow.join(', ')]]);
  }

  private advertisedHostOnly(l: LocalPoint): string {
    const h = this.c.advertisedHost ?? l.host;
    return h;
  }

  /**
   * A server transaction for a request from the network. The TU timer (drachtio CLIENT_TIMEOUT) drops the state
   * silently when the app never answers. A CANCEL's transaction is kept by key only (it is never the app's).
   */
  private newServerTxn(key: string, method: string, dest: Dest, tu: ServerTu, trying?: () => Buffer): ServerTxn {
    const tracked = method !== 'CANCEL';
    const txn: ServerTxn = new ServerTransaction(
      {
        id: newId(),
        key,
        method,
        dest,
        timers: this.c.timers,
        clock: this.c.clock,
        linger: this.c.linger,
        transport: this.c.txp,
        tuTimeoutMs: this.c.appTimeoutMs,
        proceedingLimitMs: PROCEEDING_LIMIT_MS,
        trying,
        tryingDelayMs: this.c.tryingDelayMs,
        onTerminated: () => {
          this.settle(txn, false);
          this.c.txns.removeServer(txn, txn.tu.ackKey);
          if (!tracked) return;
          this.c.owner.delete(txn.id);
          this.c.metrics?.activeServerTransactions.set(this.c.txns.serverCount);
        },
      },
      tu,
    );
    this.c.txns.addServer(txn, tracked, '');
    if (tracked) this.c.metrics?.activeServerTransactions.set(this.c.txns.serverCount);
    return txn;
  }

  private statelessReply(req: SipRequest, dest: Dest, status: number, extra: [string, string][] = [], reason?: string): void {
    if (req.method === 'ACK') return;
    const res = buildResponse(req, status, reason, undefined, extra);
    this.c.send(dest, serialize(res));
    this.s.countOut(res, dest.proto);
  }

  private onNetworkAck(ack: SipRequest, peer: Peer): void {
    // The usual ACK, of a 2xx its dialog waits for (same CSeq), is looked for first: it is a new transaction with a
    // branch of its own, which no server transaction would match (and the INVITE with that CSeq got a 2xx, so it is no
    // non-2xx ACK). A UAC dialog also waits for ACKs: to the 2xx of a re-INVITE it received.
    const d = this.s.dialogs.find(ack.callId ?? '', ack.from?.tag ?? '', ack.to?.tag ?? '');
    const w = d?.ackWait;
    if (!d || !w || (ack.cseq?.seq ?? -1) !== w.cseq) {
      // ACK for a non-2xx final: same branch as the INVITE (or, leniently, same Call-ID/CSeq/From-tag); the
      // transaction goes Completed → Confirmed (timer I) or absorbs a retransmitted ACK. Anything else: stray.
      let st = this.c.txns.server(serverKey(ack, 'INVITE'));
      if (!st && this.c.txns.ackIndexed > 0) {
        const alt = this.c.txns.inviteByAck(ackKey(ack));
        if (alt && alt.finalStatus >= 300) st = alt;
      }
      st?.onAck();
      return;
    }
    this.s.dialogs.stopAckWait(d);
    this.c.txns.serverById(w.txnId)?.acknowledged();
    if (ack.headers.get('contact') !== undefined) {
      const c = ack.contact;
      const t = c && !c.star ? c.contacts[0]?.uriText : undefined;
      if (t !== undefined) d.remoteTarget = t;
    }
    const text = ack.raw ?? serialize(ack);
    // the ACK carries the INVITE's transaction id (captured: proto token empty)
    toApp(d.app, `sip|${metaTokens('network', text.length, '', peer.addr, peer.port)}|${w.txnId}|${d.id}|`, text);
    if (d.byeAfterAck) this.s.engineBye(d, true);
  }

  private onNetworkCancel(c: SipRequest, peer: Peer): void {
    const dest = this.responseDest(c, peer);
    const ckey = serverKey(c, 'CANCEL');
    const prior = this.c.txns.server(ckey);
    if (prior) {
      prior.onRequestRetransmission();
      return;
    }
    const inv = this.c.txns.server(serverKey(c, 'INVITE'));
    const respond = (status: number): void => {
      // a small CANCEL server transaction answers its retransmissions (timer J)
      const res = buildResponse(c, status);
      const t = this.newServerTxn(ckey, 'CANCEL', dest, {
        req: undefined, peer, ackKey: '', cseq: 0, dialogId: '', formedDialogId: '', toTag: '', cancelled: false, awaitingSince: 0,
      });
      t.sendFinal(status, serialize(res));
      this.s.countOut(res, peer.proto);
    };
    const v = cancelVerdict(inv && { pending: inv.pending, hasRequest: inv.tu.req !== undefined, state: inv.state, formedDialog: inv.tu.formedDialogId !== '' });
    respond(v.status);
    if (!inv) return;
    if (v.action === 'terminate-invite' && inv.tu.req) {
      inv.tu.cancelled = true;
      this.sendFinal(inv, buildResponse(inv.tu.req, 487, undefined, inv.tu.toTag || newTag()));
      const text = serialize(c);
      const meta = metaTokens('network', text.length, peer.proto, peer.addr, peer.port);
      const did = inv.tu.dialogId || inv.tu.formedDialogId;
      toApp(this.c.owner.get(inv.id), `sip|${meta}|${inv.id}|${did}|`, text);
      const d = inv.tu.formedDialogId ? this.s.dialogs.get(inv.tu.formedDialogId) : undefined;
      if (d && d.state === 'early') this.s.removeDialog(d);
    } else if (v.action === 'bye-after-ack') {
      const d = this.s.dialogs.get(inv.tu.formedDialogId);
      if (d && d.state === 'confirmed') {
        if (d.ackWait) d.byeAfterAck = true;
        else this.s.engineBye(d, true);
      }
    }
  }

  /**
   * The app answered a new INVITE (`answered`: its answer time feeds the admission controller), or it ended
   * unanswered: no longer part of the apps' backlog.
   */
  settle(t: ServerTxn, answered = true): void {
    const since = t.tu.awaitingSince;
    if (since === 0) return;
    t.tu.awaitingSince = 0;
    this.s.overload.settled(answered && !t.tu.cancelled ? performance.now() - since : undefined);
  }

  /**
   * Sends a final response on a server transaction (which runs its completion timers) and drops the parsed
   * request: from now on only the matching key and the response bytes are needed.
   */
  sendFinal(t: ServerTxn, res: SipResponse): Buffer {
    const bytes = serialize(res);
    this.sendFinalBytes(t, res.status, bytes);
    return bytes;
  }

  /** `sendFinal` for a response already written as bytes (the app's answers, built straight into text). */
  sendFinalBytes(t: ServerTxn, status: number, bytes: Buffer): void {
    this.settle(t);
    const req = t.tu.req;
    if (status >= 300 && t.isInvite && req && t.tu.ackKey === '' && t.pending) {
      // its ACK may come with another branch (RFC 2543 peers): matched leniently by Call-ID|CSeq|From-tag
      t.tu.ackKey = ackKey(req);
      this.c.txns.indexAck(t, t.tu.ackKey);
    }
    t.sendFinal(status, bytes);
    t.tu.req = undefined;
    this.s.countResponseOut(t.method, status, t.dest.proto);
  }

  /** `contact`: the Contact of the response that forms the dialog (the engine's own when it has none). */
  ensureUasDialog(t: ServerTxn, req: SipRequest, contact: string | undefined, id: string, state: 'early' | 'confirmed'): void {
    const d = this.s.dialogs.get(id);
    if (d && d.role === 'uas') {
      if (state === 'confirmed') d.state = 'confirmed';
      return;
    }
    const localContact = contact ?? this.s.localContact(t.tu.peer.local);
    this.s.dialogs.add(uasDialog(req, id, state, { localTag: t.tu.toTag, localContact, inviteTxnId: t.id, dest: t.dest, app: this.c.owner.get(t.id) }));
  }

  /** 2xx to INVITE: retransmit (UDP) until the ACK; BYE after 64·T1 without one (RFC 6026, drachtio timer G/H). */
  startAckWait(t: ServerTxn, dialogId: string, bytes: Buffer): void {
    const d = this.s.dialogs.get(dialogId);
    if (!d) return;
    this.s.dialogs.startAckWait(d, t.id, t.tu.cseq, bytes, t.dest, () => {
      this.s.log.info({ dialogId: d.id }, 'no ACK for 2xx; sending BYE');
      this.s.engineBye(d, true);
    });
  }

}
