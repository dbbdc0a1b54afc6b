import type { Clock, TimerHandle } from './clock.js';
import { endAfter, type Lingering, type Lingers } from './linger.js';
import { Retransmitter } from './retransmit.js';
import type { SipTimers } from './timers.js';
import type { Dest, TxnTransport } from './types.js';

const EMPTY = Buffer.alloc(0);

/** Client transaction states (RFC 3261 §17.1, RFC 6026 `accepted` for an INVITE's 2xx). */
export type ClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

/** Which timer ran out: B (INVITE, no response), F (non-INVITE), C (INVITE ringing too long). */
export type ClientTimeout = 'B' | 'C' | 'F';

/** What a response means for the TU: report it, or it was a retransmission the transaction absorbed. */
export type ClientOutcome = 'provisional' | 'final' | 'retransmission';

export interface ClientTxnOptions {
  readonly id: string;
  readonly branch: string;
  readonly method: string;
  readonly dest: Dest;
  /** The request as sent. */
  readonly bytes: Buffer;
  readonly timers: SipTimers;
  readonly clock: Clock;
  readonly transport: TxnTransport;
  /** Timer C: how long an INVITE may stay in Proceeding (> 3 min). */
  readonly timerCMs: number;
  readonly onTimeout: (timer: ClientTimeout) => void;
  readonly onTerminated: () => void;
  /** Shared queues for the waits after a final response (timers M and K); without them, a timer each. */
  readonly linger?: Lingers | undefined;
}

/**
 * One client transaction, INVITE or non-INVITE, as an explicit state machine: it sends and retransmits the request
 * (timers A/E over UDP only), times it out (B/F, and C once an INVITE rings), ACKs a non-2xx final itself (§17.1.1.3)
 * and absorbs retransmitted responses (timers D, K, M). `tu` holds the TU's own data for it (never the app).
 */
export class ClientTransaction<TU = unknown> implements Lingering {
  state: ClientState = 'calling';
  private timer: TimerHandle | undefined;
  /**
   * Timer A/E's schedule: made when the request is sent over UDP and dropped at the final response, so a transaction
   * waiting out timer M or K (32 s / 5 s) holds no schedule and its closures.
   */
  private retrans: Retransmitter | undefined;
  /** The ACK for a non-2xx final, re-sent on its retransmissions. */
  private ackBytes: Buffer | undefined;
  /** The request as sent, for retransmissions; released at the final response. */
  private reqBytes: Buffer | undefined;

  private readonly o: ClientTxnOptions;
  /** `branch|method`: how responses find it (§17.1.3); one string, hashed once by the tables. */
  readonly key: string;

  constructor(
    o: ClientTxnOptions,
    readonly tu: TU,
  ) {
    this.key = `${o.branch}|${o.method}`;
    this.reqBytes = o.bytes;
    this.o = { ...o, bytes: EMPTY };
  }

  /** (Re)starts timer A or E. */
  private retransmit(first: number, cap: number): void {
    this.retrans ??= new Retransmitter(this.o.clock, () => {
      if (this.reqBytes === undefined) return;
      this.o.transport.send(this.o.dest, this.reqBytes);
      this.o.transport.retransmitted();
    });
    this.retrans.start(first, cap);
  }

  /** Stops timer A or E for good (a response came, or the transaction ends). */
  private stopRetransmitting(): void {
    this.retrans?.stop();
    this.retrans = undefined;
  }

  get id(): string {
    return this.o.id;
  }
  get branch(): string {
    return this.o.branch;
  }
  get method(): string {
    return this.o.method;
  }
  get dest(): Dest {
    return this.o.dest;
  }
  /** The request as sent (empty once a final response arrived). */
  get bytes(): Buffer {
    return this.reqBytes ?? EMPTY;
  }
  get isInvite(): boolean {
    return this.o.method === 'INVITE';
  }
  /** True before any final response. */
  get pending(): boolean {
    return this.state === 'calling' || this.state === 'proceeding';
  }

  private get udp(): boolean {
    return this.o.dest.proto === 'udp';
  }

  /** Sends the request and arms timers A and B (INVITE) or E and F. */
  start(): void {
    if (this.reqBytes) this.o.transport.send(this.o.dest, this.reqBytes);
    const { T1, T2 } = this.o.timers;
    if (this.udp) this.retransmit(T1, this.isInvite ? Infinity : T2);
    this.timer = this.o.clock.set(64 * T1, () => this.o.onTimeout(this.isInvite ? 'B' : 'F'));
  }

  /**
   * A response to this transaction. `ack` builds the ACK for an INVITE's non-2xx final (it needs the response's To).
   */
  receive(status: number, ack?: () => Buffer): ClientOutcome {
    return this.isInvite ? this.receiveInvite(status, ack) : this.receiveNonInvite(status);
  }

  private receiveInvite(status: number, ack: (() => Buffer) | undefined): ClientOutcome {
    const { T1 } = this.o.timers;
    if (status < 200) {
      if (this.state === 'calling') {
        // Timer B runs only in Calling (§17.1.1.2); timer C then bounds the ringing.
        this.state = 'proceeding';
        this.stopRetransmitting();
        this.timer = this.o.clock.clear(this.timer);
        this.timer = this.o.clock.set(this.o.timerCMs, () => this.o.onTimeout('C'));
      }
      return this.pending ? 'provisional' : 'retransmission';
    }
    if (status < 300) {
      if (!this.pending) return 'retransmission'; // the 2xx again: the dialog re-sends its ACK
      this.state = 'accepted';
      this.reqBytes = undefined;
      this.stopRetransmitting();
      this.timer = this.o.clock.clear(this.timer);
      this.timer = endAfter(this, 64 * T1, this.o.linger?.long, this.o.clock); // timer M
      return 'final';
    }
    if (this.state === 'completed') {
      if (this.ackBytes) this.o.transport.send(this.o.dest, this.ackBytes);
      return 'retransmission';
    }
    if (!this.pending) return 'retransmission';
    this.state = 'completed';
    this.reqBytes = undefined;
    this.stopRetransmitting();
    this.timer = this.o.clock.clear(this.timer);
    this.ackBytes = ack?.();
    if (this.ackBytes) this.o.transport.send(this.o.dest, this.ackBytes);
    this.timer = this.o.clock.set(this.udp ? 32000 : 0, () => this.terminate()); // timer D
    return 'final';
  }

  private receiveNonInvite(status: number): ClientOutcome {
    if (!this.pending) return 'retransmission';
    const { T2, T4 } = this.o.timers;
    if (status < 200) {
      if (this.state === 'calling' && this.udp) this.retransmit(T2, T2); // Proceeding: every T2
      this.state = 'proceeding';
      return 'provisional';
    }
    this.state = 'completed';
    this.reqBytes = undefined;
    this.stopRetransmitting();
    this.timer = this.o.clock.clear(this.timer);
    this.timer = this.udp ? endAfter(this, T4, this.o.linger?.short, this.o.clock) : this.o.clock.set(0, () => this.terminate()); // timer K
    return 'final';
  }

  /** Keeps the transaction (to absorb what still comes back) for `ms`, then terminates it; no more timeouts. */
  holdFor(ms: number): void {
    this.stopRetransmitting();
    this.timer = this.o.clock.clear(this.timer);
    this.timer = this.o.clock.set(ms, () => this.terminate());
  }

  /** Its wait after the final response (timer M or K) is over. */
  lingerOver(): void {
    this.terminate();
  }

  /** Ends the transaction now (idempotent); `onTerminated` runs once. */
  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.stop();
    this.o.onTerminated();
  }

  /** Stops every timer without reporting (engine shutdown). */
  stop(): void {
    this.stopRetransmitting();
    this.timer = this.o.clock.clear(this.timer);
  }
}
