import type { Clock } from '../transaction/clock.js';
import { Retransmitter } from '../transaction/retransmit.js';
import type { SipTimers } from '../transaction/timers.js';
import type { Dest, TxnTransport } from '../transaction/types.js';
import type { Dialog } from './dialog.js';

/**
 * The dialog table (RFC 3261 §12): dialogs by id (`Call-ID;from-tag=<initiator's tag>`), matching of in-dialog
 * requests and of 2xx retransmissions, and the UAS wait for the ACK of a 2xx (RFC 6026: the 2xx is retransmitted
 * over UDP until the ACK; without one after 64·T1 the dialog is given up).
 */
export class DialogTable {
  private readonly byId = new Map<string, Dialog>();

  constructor(
    private readonly o: {
      readonly clock: Clock;
      readonly timers: SipTimers;
      readonly transport: TxnTransport;
      readonly onSize?: (n: number) => void;
    },
  ) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Dialog | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  values(): IterableIterator<Dialog> {
    return this.byId.values();
  }

  /** Adds (or replaces) a dialog. */
  add(d: Dialog): void {
    const prev = this.byId.get(d.id);
    if (prev) this.stopAckWait(prev);
    this.byId.set(d.id, d);
    this.o.onSize?.(this.byId.size);
  }

  /** Ends a dialog (idempotent). */
  remove(d: Dialog): void {
    this.stopAckWait(d);
    d.state = 'terminated';
    if (this.byId.get(d.id) === d) this.byId.delete(d.id);
    this.o.onSize?.(this.byId.size);
  }

  /** The dialog of an in-dialog request from the network: either id form, checking our tag (§12.2.2). */
  find(callId: string, fromTag: string, toTag: string): Dialog | undefined {
    const a = this.byId.get(`${callId};from-tag=${fromTag}`);
    if (a && a.role === 'uas' && a.localTag === toTag) return a;
    const b = this.byId.get(`${callId};from-tag=${toTag}`);
    if (b && b.role === 'uac' && b.localTag === toTag) return b;
    return a ?? b;
  }

  /** The dialog a response to our own request belongs to (From-tag ours). */
  forResponse(callId: string, ourTag: string, theirTag: string): Dialog | undefined {
    const a = this.byId.get(`${callId};from-tag=${ourTag}`);
    const d = a && a.localTag === ourTag ? a : this.byId.get(`${callId};from-tag=${theirTag}`);
    return d && d.localTag === ourTag ? d : undefined;
  }

  /**
   * UAS: waits for the ACK of the 2xx `bytes` (CSeq `cseq`, INVITE transaction `txnId`): retransmits it over UDP
   * from T1 doubling to T2, and calls `onNoAck` after 64·T1 without one.
   */
  startAckWait(d: Dialog, txnId: string, cseq: number, bytes: Buffer, dest: Dest, onNoAck: () => void): void {
    this.stopAckWait(d);
    d.inviteTxnId = txnId;
    const { T1, T2 } = this.o.timers;
    const retrans = new Retransmitter(this.o.clock, () => {
      this.o.transport.send(dest, bytes);
      this.o.transport.retransmitted();
    });
    const w: NonNullable<Dialog['ackWait']> = { txnId, cseq, retrans, timer: undefined };
    d.ackWait = w;
    if (dest.proto === 'udp') retrans.start(T1, T2);
    w.timer = this.o.clock.set(64 * T1, () => {
      if (d.ackWait !== w) return;
      this.stopAckWait(d);
      onNoAck();
    });
  }

  stopAckWait(d: Dialog): void {
    const w = d.ackWait;
    if (!w) return;
    w.retrans.stop();
    this.o.clock.clear(w.timer);
    d.ackWait = undefined;
  }

  /** Stops every timer and forgets every dialog (engine shutdown). */
  clear(): void {
    for (const d of this.byId.values()) this.stopAckWait(d);
    this.byId.clear();
  }
}
