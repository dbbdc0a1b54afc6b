import { detached, ownedCopy } from '../util.js';
import type { Clock, TimerHandle } from './clock.js';
import { endAfter, type Lingering, type Lingers } from './linger.js';
import { Retransmitter } from './retransmit.js';
import type { SipTimers } from './timers.js';
import type { Dest, TxnTransport } from './types.js';

/**
 * Server transaction states (RFC 3261 §17.2, RFC 6026): `trying` (no response yet), `proceeding` (a provisional was
 * sent), `completed` (final sent: INVITE non-2xx waiting for its ACK, or non-INVITE absorbing retransmissions),
 * `confirmed` (the ACK came: timer I), `accepted` (INVITE 2xx sent: timer L), `terminated`.
 */
export type ServerState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

export interface ServerTxnOptions {
  readonly id: string;
  /** Matching key (branch|sent-by|method, or the RFC 2543 fallback). */
  readonly key: string;
  readonly method: string;
  /** Where responses go (RFC 3261 §18.2.2 with RFC 3581). */
  readonly dest: Dest;
  readonly timers: SipTimers;
  readonly clock: Clock;
  readonly transport: TxnTransport;
  /** How long the request may wait for the TU's first response; then the state is dropped, no response sent. */
  readonly tuTimeoutMs: number;
  /** Upper bound on Proceeding once the TU sent a provisional (a call may ring for minutes). */
  readonly proceedingLimitMs: number;
  /**
   * INVITE: the stack's own 100 Trying (§17.2.1), built when it is sent. RFC 3261 lets a server transaction skip it
   * when the TU answers within 200 ms, so it goes out only after `tryingDelayMs` without a response from the TU (0:
   * at once), or at once when the request is retransmitted before that.
   */
  readonly trying?: (() => Buffer) | undefined;
  readonly tryingDelayMs?: number | undefined;
  readonly onTerminated: () => void;
  /** Shared queues for the waits after a final response (timers L and J); without them, a timer each. */
  readonly linger?: Lingers | undefined;
}

/**
 * One server transaction, INVITE or non-INVITE, as an explicit state machine. It only sends bytes and runs
 * timers; what the responses say is the TU's business. `tu` holds the TU's own data for it (never the app).
 */
export class ServerTransaction<TU = unknown> implements Lingering {
  state: ServerState = 'trying';
  /** The last response sent, re-sent on a request retransmission. */
  lastResponse: Buffer | undefined;
  finalStatus = 0;
  private timer: TimerHandle | undefined;
  /** Timer G's schedule, made only for an INVITE's non-2xx final over UDP (most transactions never retransmit). */
  private retrans: Retransmitter | undefined;
  /** The 100 Trying not sent yet (INVITE in Trying with a delay); dropped once any response goes out. */
  private trying: (() => Buffer) | undefined;
  /** The options, without `trying`: its builder holds the request, which must not live as long as the transaction. */
  private readonly o: ServerTxnOptions;

  constructor(
    o: ServerTxnOptions,
    readonly tu: TU,
  ) {
    // its own copy of the key: the one computed from the parsed request views the request's text (util.ts detached)
    this.o = { ...o, key: detached(o.key), trying: undefined };
    const delay = o.tryingDelayMs ?? 0;
    if (o.trying !== undefined && delay > 0) {
      // one timer either way: the delayed 100 first, then the rest of the TU timer
      this.trying = o.trying;
      this.timer = this.o.clock.set(delay, () => this.tryingDue(this.o.tuTimeoutMs - delay));
    } else {
      this.timer = o.clock.set(o.tuTimeoutMs, () => this.terminate());
      if (o.trying !== undefined) this.sendTrying(o.trying());
    }
  }

  /** The TU has not answered: the 100 Trying now, and the TU timer runs on for `restMs`. */
  private tryingDue(restMs: number): void {
    const build = this.trying;
    this.timer = this.o.clock.clear(this.timer);
    this.timer = this.o.clock.set(Math.max(0, restMs), () => this.terminate());
    if (build !== undefined) this.sendTrying(build());
  }

  get id(): string {
    return this.o.id;
  }
  get key(): string {
    return this.o.key;
  }
  get method(): string {
    return this.o.method;
  }
  get dest(): Dest {
    return this.o.dest;
  }
  get isInvite(): boolean {
    return this.o.method === 'INVITE';
  }
  /** True while no final response was sent. */
  get pending(): boolean {
    return this.state === 'trying' || this.state === 'proceeding';
  }

  private get udp(): boolean {
    return this.o.dest.proto === 'udp';
  }

  /** The stack's own 100 Trying for an INVITE (§17.2.1): Proceeding, the TU timer keeps running. */
  sendTrying(bytes: Buffer): void {
    if (this.state !== 'trying') return;
    this.trying = undefined;
    this.state = 'proceeding';
    this.lastResponse = bytes;
    this.o.transport.send(this.o.dest, bytes);
  }

  /** A TU provisional: Proceeding; the TU has answered, so only the Proceeding limit bounds the wait. */
  sendProvisional(bytes: Buffer): void {
    if (!this.pending) return;
    this.trying = undefined;
    this.state = 'proceeding';
    this.lastResponse = bytes;
    this.timer = this.o.clock.clear(this.timer);
    this.timer = this.o.clock.set(this.o.proceedingLimitMs, () => this.terminate());
    this.o.transport.send(this.o.dest, bytes);
  }

  /**
   * A final response. INVITE 2xx → Accepted (timer L; 2xx retransmissions are the dialog's, RFC 6026); INVITE
   * 300-699 → Completed (timer G over UDP until the ACK, timer H); non-INVITE → Completed (timer J, 0 over TCP).
   */
  sendFinal(status: number, bytes: Buffer): void {
    if (!this.pending) return;
    this.trying = undefined;
    // kept for the timer window (32 s over UDP): a copy of its own when it is a view of a shared 8 KiB pool slab,
    // which it would keep alive with everything else in it (util.ts ownedCopy)
    this.lastResponse = bytes.byteOffset !== 0 || bytes.buffer.byteLength !== bytes.length ? ownedCopy(bytes) : bytes;
    this.finalStatus = status;
    this.timer = this.o.clock.clear(this.timer);
    this.o.transport.send(this.o.dest, bytes);
    const { T1, T2 } = this.o.timers;
    if (this.isInvite && status < 300) {
      this.state = 'accepted';
      this.timer = endAfter(this, 64 * T1, this.o.linger?.long, this.o.clock); // timer L
    } else if (this.isInvite) {
      this.state = 'completed';
      if (this.udp) {
        this.retrans ??= new Retransmitter(this.o.clock, () => {
          if (this.lastResponse === undefined) return;
          this.o.transport.send(this.o.dest, this.lastResponse);
          this.o.transport.retransmitted();
        });
        this.retrans.start(T1, T2); // timer G
      }
      this.timer = this.o.clock.set(64 * T1, () => this.terminate()); // timer H
    } else {
      this.state = 'completed';
      this.timer = this.udp ? endAfter(this, 64 * T1, this.o.linger?.long, this.o.clock) : this.o.clock.set(0, () => this.terminate()); // timer J
    }
  }

  /** Its wait after the final response (timer L or J) is over. */
  lingerOver(): void {
    this.terminate();
  }

  /**
   * A retransmission of the request: the last response again; an INVITE whose delayed 100 Trying is still due gets it
   * now (the client's timer A fired: the TU is slow). Nothing when no response was sent. True when one was sent.
   */
  onRequestRetransmission(): boolean {
    if (this.state === 'trying' && this.trying !== undefined) {
      this.tryingDue(this.o.tuTimeoutMs);
      return true;
    }
    if (this.state === 'trying' || this.state === 'terminated' || this.lastResponse === undefined) return false;
    this.o.transport.send(this.o.dest, this.lastResponse);
    this.o.transport.retransmitted();
    return true;
  }

  /**
   * An ACK matching this INVITE transaction. Completed → Confirmed (timer I: T4 over UDP, 0 over TCP); true when
   * the transaction absorbed it (also a retransmitted ACK in Confirmed). An ACK in Accepted belongs to the dialog.
   */
  onAck(): boolean {
    if (this.state === 'confirmed') return true;
    if (this.state !== 'completed' || !this.isInvite) return false;
    this.state = 'confirmed';
    this.retrans?.stop();
    this.timer = this.o.clock.clear(this.timer);
    this.timer = this.o.clock.set(this.udp ? this.o.timers.T4 : 0, () => this.terminate()); // timer I
    return true;
  }

  /**
   * The dialog got the ACK of this INVITE's 2xx: the caller has the 2xx, so in Accepted the transaction lets go of it
   * and absorbs a late retransmitted INVITE without an answer (RFC 6026 §7.1) for the rest of timer L.
   */
  acknowledged(): void {
    if (this.state === 'accepted') this.lastResponse = undefined;
  }

  /** Ends the transaction now (idempotent); `onTerminated` runs once. */
  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.trying = undefined;
    this.stop();
    this.o.onTerminated();
  }

  /** Stops every timer without reporting (engine shutdown). */
  stop(): void {
    this.retrans?.stop();
    this.timer = this.o.clock.clear(this.timer);
  }
}
