import { metricMethod, statusClass, type EngineMetrics } from '@kumo/runtime';
import { metaTokens, toApp } from './control/bridge.js';
import type { AppConnection } from './control/server.js';
import type { Dialog } from './dialog/dialog.js';
import { confirmUacDialog, uacDialog } from './dialog/ua.js';
import { parseMessage, serialize, type SipRequest, type SipResponse } from './sip/index.js';
import { ClientTransaction, type ClientTimeout } from './transaction/client.js';
import type { Clock } from './transaction/clock.js';
import { buildCancel, buildLocalFailure, buildNon2xxAck } from './transaction/requests.js';
import type { TransactionTable } from './transaction/table.js';
import type { SipTimers } from './transaction/timers.js';
import type { Dest } from './transaction/types.js';
import type { Peer } from './transport/types.js';
import { newId } from './util.js';
import type { ClientTxn, EngineCore, ServerTxn } from './engine.js';
import type { Lingers } from './transaction/linger.js';

/** How long an INVITE may stay in Proceeding (ringing) before the engine gives up (RFC 3261 timer C, > 3 min). */
const TIMER_C_MS = 181000;

/** What the UAC half needs of the engine besides its public face. */
export interface UacContext {
  readonly metrics: EngineMetrics | undefined;
  readonly timers: SipTimers;
  readonly clock: Clock;
  /** Shared queues for the transactions' waits after their final response. */
  readonly linger?: Lingers | undefined;
  readonly txns: TransactionTable<ServerTxn, ClientTxn>;
  /** The control bridge's map of which app a transaction belongs to. */
  readonly owner: Map<string, AppConnection>;
  send(d: Dest, bytes: Buffer): void;
  retransmitted(): void;
}

/**
 * The UAC half of the TU: client transactions (created, sent, timed out, failed on a transport error) and the
 * responses that come back to them: retransmissions absorbed, the non-2xx ACK by the transaction, UAC dialogs made
 * early or confirmed, a pending CANCEL sent on the first provisional, a 2xx to an orphaned INVITE ACKed and hung up,
 * and what is left reported to the owning app.
 */
export class UacSide {
  constructor(
    private readonly s: EngineCore,
    private readonly c: UacContext,
  ) {}

  /** A response from the network: to one of our client transactions, or a 2xx retransmission after it ended. */
  onResponse(res: SipResponse, peer: Peer): void {
    const via = res.topVia;
    const method = res.cseq?.method ?? '';
    this.c.metrics?.responsesIn.inc({ method: metricMethod(method), status: statusClass(res.status), transport: peer.proto });
    if (!via?.branch) return;
    const t = this.c.txns.client(`${via.branch}|${method}`);
    if (!t) {
      // a 2xx retransmission after the INVITE transaction ended: re-send our ACK
      if (method === 'INVITE' && res.status >= 200 && res.status < 300) this.resendAckFor(res);
      return;
    }
    // A CANCEL's client transaction completes on its final response like any non-INVITE one (no retransmissions
    // after it); it has no app, so the response is never reported (drachtio-agent.js 319-326).
    if (t.isInvite) this.onInviteResponse(t, res, peer);
    else this.onNonInviteResponse(t, res, peer);
  }

  private resendAckFor(res: SipResponse): void {
    const callId = res.callId ?? '';
    // our request: From-tag is ours; the dialog id holds our tag (UAC dialog) or the peer's (UAS dialog)
    const d = this.s.dialogs.forResponse(callId, res.from?.tag ?? '', res.to?.tag ?? '');
    if (d && d.lastAck && d.lastAck.cseq === res.cseq?.seq) {
      this.c.send(d.lastAck.dest, d.lastAck.bytes);
      this.c.metrics?.retransmissions.inc({ direction: 'out' });
    }
  }

  private deliverResponse(t: ClientTxn, res: SipResponse, peer: Peer, dialogId: string): void {
    // as it came (the parser checked it; nothing on this path edits a response), as requests go to the app
    const text = res.raw ?? serialize(res);
    const meta = metaTokens('network', text.length, peer.proto, peer.addr, peer.port);
    toApp(this.c.owner.get(t.id), `sip|${meta}|${t.id}|${dialogId}|`, text);
  }

  private onInviteResponse(t: ClientTxn, res: SipResponse, peer: Peer): void {
    const s = res.status;
    const toTag = res.to?.tag;
    const callId = res.callId ?? '';
    const localTag = res.from?.tag ?? '';
    const inDialog = t.tu.dialogId !== '';
    const dialogId = inDialog ? t.tu.dialogId : toTag !== undefined ? `${callId};from-tag=${localTag}` : '';
    // the transaction absorbs retransmissions and ACKs a non-2xx final itself (RFC 3261 §17.1.1.3)
    const outcome = t.receive(s, () => serialize(buildNon2xxAck(this.reqOf(t), res)));
    if (s < 200) {
      if (outcome === 'retransmission') return;
      if (t.tu.cancelPending && !t.tu.cancelSent) this.sendCancel(t);
      if (t.tu.orphan) {
        this.sendCancel(t);
        return;
      }
      if (!inDialog && toTag !== undefined && s > 100 && !this.s.dialogs.has(dialogId)) {
        this.createUacDialog(t, res, dialogId, 'early');
      }
      if (s === 100) return; // drachtio/sofia do not report 100 Trying to the app
      this.deliverResponse(t, res, peer, dialogId);
      return;
    }
    if (s < 300) {
      if (outcome === 'retransmission') {
        this.resendAckFor(res);
        return;
      }
      let d = this.s.dialogs.get(dialogId);
      if (!inDialog) {
        if (!d || d.role !== 'uac') d = this.createUacDialog(t, res, dialogId, 'confirmed');
        else confirmUacDialog(d, res);
      } else if (d) {
        const c = res.contact;
        const target = c && !c.star ? c.contacts[0]?.uriText : undefined;
        if (target !== undefined) d.remoteTarget = target;
      }
      t.tu.req = undefined; // Accepted: 2xx retransmissions are answered from the dialog
      const app = this.c.owner.get(t.id);
      if (t.tu.orphan || !app || app.closed) {
        if (d) {
          this.s.sendDialogAck(d, undefined);
          this.s.engineBye(d, false);
        }
        return;
      }
      this.deliverResponse(t, res, peer, dialogId);
      return;
    }
    // 300-699: the transaction sent the ACK (timer D) and re-sends it on retransmissions
    if (outcome === 'retransmission') return;
    t.tu.req = undefined;
    const d = dialogId ? this.s.dialogs.get(dialogId) : undefined;
    if (!inDialog && d && d.role === 'uac' && d.state === 'early') {
      d.state = 'failed';
      // keep briefly so the app's ACK gets drachtio's NOK, then forget it
      this.c.clock.set(2000, () => this.s.dialogs.get(d.id) === d && d.state === 'failed' && this.s.removeDialog(d));
    }
    if (!t.tu.orphan) this.deliverResponse(t, res, peer, dialogId);
  }

  private onNonInviteResponse(t: ClientTxn, res: SipResponse, peer: Peer): void {
    const outcome = t.receive(res.status);
    if (outcome === 'retransmission') return;
    if (outcome === 'final') t.tu.req = undefined;
    if (outcome === 'final' && t.method === 'BYE' && t.tu.dialogId) {
      const d = this.s.dialogs.get(t.tu.dialogId);
      if (d) this.s.removeDialog(d);
    }
    if (!t.tu.orphan) this.deliverResponse(t, res, peer, t.tu.dialogId);
  }

  private createUacDialog(t: ClientTxn, res: SipResponse, id: string, state: 'early' | 'confirmed'): Dialog {
    const d = uacDialog(this.reqOf(t), res, id, state, t.dest, this.c.owner.get(t.id));
    this.s.dialogs.add(d);
    return d;
  }

  /**
   * The request of a pending client transaction that was sent as bytes only (an in-dialog non-INVITE request), read
   * back from them; undefined once a final response was handled (the bytes are released then).
   */
  private sentRequest(t: ClientTxn): SipRequest | undefined {
    if (!t.pending || t.bytes.length === 0) return undefined;
    const r = parseMessage(t.bytes);
    return r.ok && !r.msg.isResponse ? r.msg : undefined;
  }

  /** The request of a client transaction that has not had its final response yet. */
  private reqOf(t: ClientTxn): SipRequest {
    const req = t.tu.req;
    if (!req) throw new Error(`client transaction ${t.id}: request already released`);
    return req;
  }

  /** Sends (or schedules, before any provisional) a CANCEL for an INVITE client transaction. */
  sendCancel(t: ClientTxn, reason?: string): Buffer {
    const bytes = t.tu.cancelPending ?? serialize(buildCancel(this.reqOf(t), reason));
    t.tu.cancelPending = bytes;
    if (t.state === 'proceeding' && !t.tu.cancelSent) {
      t.tu.cancelSent = true;
      // CANCEL is its own non-INVITE transaction (RFC 3261 §9.1): sent once, retransmitted over UDP until its final
      // response, and complete on it.
      this.startClient(this.newClientTxn('CANCEL', t.branch, this.reqOf(t), bytes, t.dest, undefined, ''));
    }
    return bytes;
  }

  newClientTxn(method: string, branch: string, req: SipRequest | undefined, bytes: Buffer, dest: Dest, app: AppConnection | undefined, dialogId: string): ClientTxn {
    const t: ClientTxn = new ClientTransaction(
      {
        id: newId(),
        branch,
        method,
        dest,
        bytes,
        timers: this.c.timers,
        clock: this.c.clock,
        linger: this.c.linger,
        // Its own transport view: a request that cannot be sent at all (no TCP connection could be made) fails at once.
        transport: { send: (d, b) => this.sendClientBytes(t, d, b), retransmitted: () => this.c.retransmitted() },
        timerCMs: TIMER_C_MS,
        onTimeout: (timer) => this.clientTimeout(t, timer),
        onTerminated: () => {
          this.c.txns.removeClient(t);
          this.c.owner.delete(t.id);
          this.c.metrics?.activeClientTransactions.set(this.c.txns.clientCount);
        },
      },
      { req, dialogId, orphan: false, cancelPending: undefined, cancelSent: false },
    );
    if (app) this.c.owner.set(t.id, app);
    return t;
  }

  /**
   * Sends a client transaction's bytes. A transport failure (no TCP connection could be made) is reported to the app at
   * once as 503 (RFC 3261 §8.1.3.1), not after timer B: the app can try another contact or tell the caller.
   */
  private sendClientBytes(t: ClientTxn, d: Dest, bytes: Buffer): void {
    const r = this.s.transports.send(d.proto, d.addr, d.port, bytes, d.conn, d.host);
    const failed = (): void => {
      if (t.state === 'terminated' || t.state === 'completed' || t.state === 'accepted' || this.c.txns.clientById(t.id) !== t) return;
      this.s.log.debug({ dest: d, method: t.method }, 'transport error: request not sent');
      if (t.method !== 'CANCEL') this.failClient(t, 503, 'Service Unavailable');
      t.terminate();
    };
    if (r === false) queueMicrotask(failed);
    else if (r !== true) void r.then((ok) => (ok ? undefined : failed()));
  }

  /** Registers and sends a client transaction, with timers A/B or E/F (retransmissions only over UDP). */
  startClient(t: ClientTxn): void {
    this.c.txns.addClient(t);
    this.c.metrics?.activeClientTransactions.set(this.c.txns.clientCount);
    this.c.metrics?.requestsOut.inc({ method: metricMethod(t.method), transport: t.dest.proto });
    t.start();
  }

  private clientTimeout(t: ClientTxn, timer: ClientTimeout): void {
    if (timer === 'C' && !t.tu.orphan) {
      // timer C: report 408 now, CANCEL the ringing callee, and keep the transaction to ACK what comes back
      this.failClient(t, 408, 'Request Timeout');
      t.tu.orphan = true;
      this.sendCancel(t);
      t.holdFor(64 * this.c.timers.T1);
      return;
    }
    if (t.method !== 'CANCEL' && !t.tu.orphan) this.failClient(t, 408, 'Request Timeout');
    else this.failClient(t, 0, '');
    t.terminate();
  }

  /**
   * Ends what a failed client transaction leaves (a BYE's dialog, an INVITE's early dialog) and reports a locally
   * generated final response (408 timeout; `status` 0: none) to its app.
   */
  private failClient(t: ClientTxn, status: number, reason: string): void {
    if (t.method === 'BYE' && t.tu.dialogId) {
      const d = this.s.dialogs.get(t.tu.dialogId);
      if (d) this.s.removeDialog(d);
    }
    const req = t.tu.req ?? this.sentRequest(t);
    if (!req) return; // a final response was handled: nothing left to fail
    if (t.method === 'INVITE' && !t.tu.dialogId) {
      const d = this.s.dialogs.get(`${req.callId ?? ''};from-tag=${req.from?.tag ?? ''}`);
      if (d && d.state === 'early') this.s.removeDialog(d);
    }
    const app = this.c.owner.get(t.id);
    if (status === 0 || !app || t.tu.orphan) return;
const res = buildLocalFailure(req, status, reason);
    const text = serialize(res);
    const meta = metaTokens('network', text.length, t.dest.proto, t.dest.addr, t.dest.port);
    toApp(app, `sip|${meta}|${t.id}|${t.tu.dialogId}|`, text);
  }

}
