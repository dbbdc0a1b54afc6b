import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from './transaction/clock.js';
import { detached } from './util.js';

export interface OverloadOptions {
  /**
   * Backstop: event-loop lag (smoothed, ms) above which every new INVITE is shed; shedding stops under half of it.
   * Half of it is the lag the admission controller treats as congestion.
   */
  readonly lagHighMs: number;
  /**
   * Backstop: new INVITEs handed to apps and not answered yet (not even a provisional) above which every new INVITE
   * is shed (a stalled app); shedding stops under half of it.
   */
  readonly pendingHigh: number;
  /** Seconds in the Retry-After of the 503. */
  readonly retryAfterS: number;
  /**
   * Admission controller: the apps' answer time (new INVITE handed over → first response; the quickest of a control
   * interval) above which the path is congested and the admission rate is cut. 0 turns the controller off (backstops
   * only).
   */
  readonly latencyHighMs?: number;
  /**
   * Admission controller: the engine's event-loop utilisation (0–1) over an interval above which it counts as
   * congestion (1: never, the default).
   */
  readonly eluHigh?: number;
  /**
   * Admission controller: the UDP receive-queue delay (ms) above which the path is congested. Measured with a probe
   * datagram the engine sends to its own UDP socket every sample: the time it waits behind what arrived before it is
   * how stale every request and response the engine reads is — a queue neither the loop lag nor the apps' answer time
   * sees. It cuts a limit already set (and the limit grows only while the queue is short), but never sets the first.
   * 0: off.
   *
   * The default (40 ms) keeps the queue near empty, not merely under T1: every admitted call's messages wait in it, so
   * a standing queue makes each call cost the engine more — its delayed 100 Trying falls due (the INVITE and the
   * callee's provisional cross the queue twice), the transaction timers on both legs start retransmitting, and the
   * call's short-lived objects live long enough to be promoted and collected by the full GC. At 2× overload on the
   * 2-core bench machine, 300 ms left the engine at 0.36 CPU-s per 1,000 calls and 81–92 % of capacity carried;
   * 40 ms, 0.30–0.32 and 91–103 % (docs/benchmarks.md).
   */
  readonly queueHighMs?: number;
  /** How often the event-loop lag is sampled (ms). */
  readonly sampleMs?: number;
  /** Control interval of the admission controller (ms). */
  readonly intervalMs?: number;
}

export const DEFAULT_OVERLOAD: OverloadOptions = {
  lagHighMs: 250,
  pendingHigh: 2000,
  retryAfterS: 5,
  latencyHighMs: 150,
  queueHighMs: 40,
  // off by default: on a shared machine the loop counts as busy while the process waits for a core
  eluHigh: 1,
  sampleMs: 20,
  intervalMs: 100,
};

/** On congestion the limit becomes this share of the rate the apps answered in the interval (the backlog drains). */
const BETA = 0.9;
/**
 * Increase per interval while the limit is what sheds: 10 % while the answers take under a quarter of the target, 2 %
 * under half of it, at least MIN_STEP calls/s.
 */
const FAST_STEP = 0.1;
const STEP = 0.02;
/** Intervals in a row with a congestion signal before the limit is cut. */
const CONFIRM = 3;
const MIN_STEP = 10;
/** The lowest admission rate (calls/s) the controller goes down to. */
const MIN_RATE = 10;
/** The limit grows only while the receive queue is under this share of `queueHighMs` (no standing queue). */
const QUEUE_CALM = 0.2;
/** The limit is lifted after this long without congestion once it sheds nothing. */
const RELEASE_MS = 5000;
/** Answered plus pending new INVITEs in an interval below which the controller never limits (not a load). */
const MIN_LOAD = 20;
/** How long a refused INVITE's key is remembered (at least this, at most twice): its retransmissions in flight. */
const RECALL_MS = 4000;
/** Token bucket depth in seconds of the limit (a burst this long is admitted at once). */
const BURST_S = 0.1;

/**
 * Calls that are never shed (the one rule, for the parsed and the raw path): to a Request-URI user in `users`
 * (emergency numbers: 110/118/119, also dialled behind the outside-line prefix), or with an RFC 4412
 * Resource-Priority in the `esnet` namespace.
 */
export function isNeverShed(user: string | undefined, resourcePriority: string | undefined, users: ReadonlySet<string>): boolean {
  if (user !== undefined && users.has(user)) return true;
  return resourcePriority !== undefined && /(^|[\s,])esnet\./i.test(resourcePriority);
}

/** What the engine's event loop did since the last call (injectable for tests): utilisation 0–1. */
export type EluSampler = () => number;

function realElu(): EluSampler {
  let prev = performance.eventLoopUtilization();
  return () => {
    const cur = performance.eventLoopUtilization();
    const d = performance.eventLoopUtilization(cur, prev);
    prev = cur;
    return d.utilization;
  };
}

/**
 * Load shedding (RFC 3261 §21.5.4, RFC 7339's spirit without its signalling): decides whether a new INVITE is
 * refused with 503 + Retry-After before a transaction exists or an app sees it.
 *
 * - **Admission controller** (on a rate, AIMD-like): every 100 ms it looks at the apps' answer time for the new
 *   INVITEs they answered (handed over → first response; the quickest of the interval, so jitter does not count, a
 *   standing backlog does), the engine's UDP receive-queue delay (a self-addressed probe), its event-loop lag and
 *   (optionally) utilisation. Congested three intervals in a row → the limit becomes 90 % of the rate the apps answered in the last interval (while backlogged
 *   that is what the path carries, so the backlog drains; at most halved at once, so a stall does not zero it); not
 *   congested while the limit sheds and no receive queue stands → it grows by 10 % per interval while answers are
 *   immediate, 2 % while quick; lifted after 5 s without
 *   congestion once it sheds nothing. A token bucket (0.1 s deep) applies the limit per INVITE, so admitted calls
 *   are spread evenly.
 * - **Backstops** with hysteresis: a sustained event-loop lag or a backlog of unanswered INVITEs (a stalled app)
 *   sheds every new INVITE until they fall under half.
 * - A refused INVITE stays refused: its key is remembered 4–8 s, so a retransmission already on its way gets the
 *   503 again instead of becoming a call its caller has given up.
 *
 * Admitted transactions, their retransmissions and in-dialog requests never come here: they are never shed.
 */
export class OverloadGuard {
  private lagEwma = 0;
  private pending = 0;
  private on = false;
  private lagTimer: TimerHandle | undefined;
  private ctlTimer: TimerHandle | undefined;
  private lastTick = 0;
  private readonly elu: EluSampler | undefined;
  /** Admission limit in calls/s; Infinity when not limiting. */
  private limit = Infinity;
  private tokens = 0;
  private lastRefill = 0;
  private lastCtl = 0;
  private signalRun = 0;
  private calmSince = 0;
  // per interval
  private shedI = 0;
  private latMinI = Infinity;
  private latN = 0;
  private lastLatency = 0;
  private lastElu = 0;
  /** Receive-queue delay: the largest sample of the interval and the last interval's. */
  private queueMaxI = 0;
  private lastQueue = 0;
  /** When the oldest probe still on its way was sent (0: none). */
  private probeSentAt = 0;
  /** INVITEs refused so far (retransmissions of a refused one not counted again). */
  shed = 0;
  /**
   * Keys of recently refused INVITEs, two generations of RECALL_MS: a retransmission of a refused INVITE that was
   * already on its way is refused again, never admitted as a call its caller has given up.
   */
  private refused = new Set<string>();
  private refusedOld = new Set<string>();
  private refusedAt = 0;
  /** New INVITEs admitted so far (handed to an app; one that then fails validation or finds no app is not counted). */
  admitted = 0;

  constructor(
    readonly o: OverloadOptions,
    private readonly clock: Clock,
    private readonly now: () => number = () => performance.now(),
    /** Told whenever the shedding state or the backlog changes (metrics). */
    private readonly onChange?: (s: { shedding: boolean; pendingInvites: number }) => void,
    elu?: EluSampler,
    /** Sends one receive-queue probe stamped `sentAt` (the `now()` clock); its arrival is reported to `probeReturned`. */
    private readonly probe?: (sentAt: number) => void,
  ) {
    this.elu = elu;
  }

  /**
   * A probe sent at `sentAt` came back through the receive queue: its delay is a queue sample. A probe still out when
   * the next is due counts as at least that late (one the kernel dropped ends the wait at the next arrival).
   */
  probeReturned(sentAt: number): void {
    this.sampleQueue(this.now() - sentAt);
    if (sentAt >= this.probeSentAt) this.probeSentAt = 0;
  }

  /** One receive-queue delay sample (ms). */
  sampleQueue(ms: number): void {
    if (ms > this.queueMaxI) this.queueMaxI = ms;
  }

  /** Whether new INVITEs are being refused at all (a limit or a backstop): the raw path (fastshed.ts) is worth trying. */
  get limiting(): boolean {
    return this.on || this.limit !== Infinity;
  }

  /** Starts sampling the event-loop lag (a timer that fires late measures how far behind the loop is) and the controller. */
  start(): void {
    const every = this.o.sampleMs ?? 20;
    this.lastTick = this.now();
    const tick = (): void => {
      const t = this.now();
      this.sampleLag(Math.max(0, t - this.lastTick - every));
      this.lastTick = t;
      if (this.probe && (this.o.queueHighMs ?? 0) > 0) {
        if (this.probeSentAt > 0) this.sampleQueue(t - this.probeSentAt);
        else this.probeSentAt = t;
        this.probe(t);
      }
      this.lagTimer = this.clock.set(every, tick);
    };
    this.lagTimer = this.clock.set(every, tick);
    if ((this.o.latencyHighMs ?? 0) > 0) {
      const sample = this.elu ?? realElu();
      const iv = this.o.intervalMs ?? 100;
      this.lastCtl = this.now();
      const ctl = (): void => {
        this.control(sample());
        this.ctlTimer = this.clock.set(iv, ctl);
      };
      this.ctlTimer = this.clock.set(iv, ctl);
    }
  }

  stop(): void {
    this.lagTimer = this.clock.clear(this.lagTimer);
    this.ctlTimer = this.clock.clear(this.ctlTimer);
  }

  /** One lag sample (ms); smoothed (α = 0.1) so a GC pause or two do not flip the state, a sustained lag does. */
  sampleLag(ms: number): void {
    this.lagEwma = this.lagEwma * 0.9 + ms * 0.1;
    this.update();
  }

  /** A new INVITE was handed to an app (admitted). */
  delivered(): void {
    this.pending++;
    this.admitted++;
    this.update();
  }

  /**
   * The app answered it (first response) after `latencyMs`, or it ended unanswered (cancelled, timed out, app gone:
   * no latency).
   */
  settled(latencyMs?: number): void {
    if (this.pending > 0) this.pending--;
    if (latencyMs !== undefined) {
      if (latencyMs < this.latMinI) this.latMinI = latencyMs;
      this.latN++;
    }
    this.update();
  }

  /**
   * Whether a new INVITE (its transaction key) arriving now is to be refused; an admitted one takes a token. Counts
   * both.
   */
  shouldShed(key: string): boolean {
    if (this.refused.size > 0 || this.refusedOld.size > 0) {
      if (this.refused.has(key) || this.refusedOld.has(key)) return true;
    }
    if (this.on) return this.refuse(key);
    if (this.limit !== Infinity) {
      const t = this.now();
      this.tokens = Math.min(Math.max(1, this.limit * BURST_S), this.tokens + ((t - this.lastRefill) * this.limit) / 1000);
      this.lastRefill = t;
      if (this.tokens < 1) return this.refuse(key);
      this.tokens -= 1;
    }
    return false;
  }

  private refuse(key: string): true {
    this.shed++;
    this.shedI++;
    const t = this.now();
    if (t - this.refusedAt >= RECALL_MS) {
      this.refusedOld = this.refused;
      this.refused = new Set();
      this.refusedAt = t;
    }
    // kept 4–8 s: a copy of its own, not a view of the refused request's text (util.ts detached)
    this.refused.add(detached(key));
    return true;
  }

  /**
   * One control interval with the engine's event-loop utilisation over it: AIMD on the admission limit. Public for the
   * unit tests (which drive it with a fake clock and made-up signals).
   */
  control(elu: number): void {
    const t = this.now();
    const dt = Math.max(1, t - this.lastCtl);
    this.lastCtl = t;
    const answeredRate = (this.latN * 1000) / dt;
    // the quickest answer of the interval (CoDel's standing-queue test): scheduling jitter on a busy machine makes some
    // answers slow, a backlog makes every answer slow
    const latency = this.latN > 0 ? this.latMinI : 0;
    const high = this.o.latencyHighMs ?? Infinity;
    this.lastLatency = latency;
    this.lastElu = elu;
    // a handful of slow calls (a test machine, one slow database lookup) is not overload: only a real load counts
    const busy = this.latN + this.pending >= MIN_LOAD;
    // a standing receive queue delays every response and ACK of the admitted calls too. It holds the limit down once
    // one is set, but never sets the first: a process descheduled for a moment on a busy machine finds its socket
    // queued the whole time (the answer time, measured from the read, does not), which is not overload
    const queue = this.queueMaxI;
    this.lastQueue = queue;
    this.queueMaxI = 0;
    const qHigh = this.o.queueHighMs ?? 0;
    const queued = qHigh > 0 && queue > qHigh && this.limit !== Infinity;
    const signal = busy && (latency > high || elu > (this.o.eluHigh ?? 1) || this.lagEwma > this.o.lagHighMs / 2 || queued);
    // CONFIRM intervals in a row, so that a GC pause or the machine stalling for a moment does not cut the rate
    this.signalRun = signal ? this.signalRun + 1 : 0;
    const congested = this.signalRun >= CONFIRM;
    if (congested) {
      this.calmSince = t;
      // while backlogged, what the apps answer per second is what the path carries: admit a little less, so the
      // backlog drains (no compounding: each interval starts again from the measured rate)
      if (this.latN > 0) {
        if (this.limit === Infinity) this.lastRefill = t;
        // a stall (a GC pause, the process descheduled) answers few: never more than halve the limit at once
        const floor = this.limit === Infinity ? MIN_RATE : Math.max(MIN_RATE, this.limit / 2);
        this.limit = Math.max(floor, answeredRate * BETA);
        this.tokens = Math.min(this.tokens, Math.max(1, this.limit * BURST_S));
      }
    } else if (this.limit !== Infinity) {
      // probe upwards while the limit is what sheds: fast while answers are immediate (no backlog at all: spare
      // capacity, e.g. after a stall), slowly while they are quick; never while a receive queue stands (still draining)
      const qCalm = qHigh <= 0 || queue <= qHigh * QUEUE_CALM;
      if (this.shedI > 0 && qCalm && latency <= high / 4) this.limit += Math.max(MIN_STEP, this.limit * FAST_STEP);
      else if (this.shedI > 0 && qCalm && latency <= high / 2) this.limit += Math.max(MIN_STEP, this.limit * STEP);
      if (this.shedI === 0 && t - this.calmSince >= RELEASE_MS) this.limit = Infinity;
    }
    this.shedI = 0;
    this.latMinI = Infinity;
    if (t - this.refusedAt >= RECALL_MS && (this.refused.size > 0 || this.refusedOld.size > 0)) {
      this.refusedOld = this.refused;
      this.refused = new Set();
      this.refusedAt = t;
    }
    this.latN = 0;
  }

  get state(): { shedding: boolean; lagMs: number; pendingInvites: number; shed: number; admitted: number; limit: number; latencyMs: number; elu: number; queueMs: number } {
    return {
      shedding: this.on || this.limit !== Infinity,
      lagMs: Math.round(this.lagEwma),
      pendingInvites: this.pending,
      shed: this.shed,
      admitted: this.admitted,
      limit: this.limit === Infinity ? 0 : Math.round(this.limit),
      latencyMs: Math.round(this.lastLatency),
      elu: Math.round(this.lastElu * 100) / 100,
      queueMs: Math.round(this.lastQueue),
    };
  }

  private update(): void {
    const { lagHighMs, pendingHigh } = this.o;
    if (!this.on) {
      if (this.lagEwma > lagHighMs || this.pending > pendingHigh) this.on = true;
    } else if (this.lagEwma < lagHighMs / 2 && this.pending < pendingHigh / 2) this.on = false;
    this.onChange?.({ shedding: this.on || this.limit !== Infinity, pendingInvites: this.pending });
  }
}
