/**
 * The worker relay (docs/scaling.md): sip workers of one Kumo installation ask each other to act
 * on dialogs they hold. A dialog belongs to the engine connection that created it (drachtio
 * semantics, on the C++ server too), so when a request for one worker's call reaches another
 * (a picker's `*8`, a REFER/INVITE with Replaces), the receiving worker asks the owner.
 *
 * Each worker subscribes to its own Redis pub/sub channel; a request carries an id and the
 * sender's id, the answer is published on the sender's channel. Every request has a timeout.
 * Pub/sub delivers at most once: a message lost while a subscriber reconnects is a request that
 * times out, never one acted on twice. Peers are watched through the call-owner heartbeats
 * (recovery.ts): a peer silent for the dead interval is gone, and whatever this worker relays
 * with it is ended.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '@kumo/runtime';
import type { KeySchema, RedisClient } from '@kumo/store';

interface Wire {
  /** Sender. */
  readonly from: string;
  /** Request id (requests) or the id answered (`re`). */
  readonly id?: string;
  readonly re?: string;
  readonly op?: string;
  readonly body?: unknown;
  readonly err?: string;
}

export type RelayHandler = (body: unknown, from: string) => Promise<unknown>;

/** A relay request that failed: no answer in time, no handler, or the handler threw. */
export class RelayError extends Error {
  constructor(
    message: string,
    readonly code: 'relay-timeout' | 'relay-failed',
  ) {
    super(message);
  }
}

export interface RelayOptions {
  readonly redis: RedisClient;
  /** A connection of its own for SUBSCRIBE (a subscribed connection can do nothing else). */
  readonly sub: RedisClient;
  readonly keys: KeySchema;
  /** This worker's id (its call-owner id). */
  readonly self: string;
  readonly log: Logger;
  /** How often peers with live relayed dialogs are checked, ms (the heartbeat interval). */
  readonly checkMs: number;
  /** A peer whose heartbeat is older than this is dead, ms. */
  readonly deadAfterMs: number;
}

export class WorkerRelay {
  private readonly handlers = new Map<string, RelayHandler>();
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  /** Peer → callbacks run once it is found dead. */
  private readonly watched = new Map<string, Set<() => void>>();
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private readonly nonce = randomBytes(3).toString('hex');
  private closed = false;

  constructor(private readonly o: RelayOptions) {}

  get self(): string {
    return this.o.self;
  }

  async start(): Promise<void> {
    const channel = this.o.keys.global.relayChannel(this.o.self);
    this.o.sub.on('message', (ch: string, raw: string) => {
      if (ch === channel) this.receive(raw);
    });
    await this.o.sub.subscribe(channel);
    this.timer = setInterval(() => void this.checkPeers(), this.o.checkMs);
    this.timer.unref();
  }

  on(op: string, handler: RelayHandler): void {
    this.handlers.set(op, handler);
  }

  /** Asks `peer` to run `op`; resolves with its answer, rejects on its error or after `timeoutMs`. */
  request<T>(peer: string, op: string, body: unknown, timeoutMs: number): Promise<T> {
    const id = `${this.nonce}${(this.seq++).toString(36)}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RelayError(`no answer from ${peer} to ${op} within ${timeoutMs} ms`, 'relay-timeout'));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.publish(peer, { from: this.o.self, id, op, body }).catch((err: unknown) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  /** Runs `onDead` once `peer` is found dead (its heartbeat stopped). Returns the unsubscribe. */
  watch(peer: string, onDead: () => void): () => void {
    let set = this.watched.get(peer);
    if (!set) this.watched.set(peer, (set = new Set()));
    set.add(onDead);
    return () => {
      const s = this.watched.get(peer);
      s?.delete(onDead);
      if (s?.size === 0) this.watched.delete(peer);
    };
  }

  /** Whether `peer` heart-beat within the dead interval (Redis clock). */
  async alive(peers: readonly string[]): Promise<boolean[]> {
    if (peers.length === 0) return [];
    const key = this.o.keys.global.callOwners();
    // Two plain commands, one round trip (auto-pipelining); no MULTI on the shared client.
    const [time, scores] = await Promise.all([this.o.redis.time(), this.o.redis.zmscore(key, ...peers)]);
    const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    return peers.map((_, i) => {
      const s = scores[i];
      return s !== null && s !== undefined && now - Number(s) <= this.o.deadAfterMs;
    });
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RelayError('relay closed', 'relay-failed'));
      this.pending.delete(id);
    }
    return this.o.sub.quit().then(
      () => undefined,
      () => this.o.sub.disconnect(),
    );
  }

  private async checkPeers(): Promise<void> {
    if (this.closed || this.watched.size === 0) return;
    const peers = [...this.watched.keys()];
    let alive: boolean[];
    try {
      alive = await this.alive(peers);
    } catch {
      return; // Redis unreachable: nobody can tell, nobody is declared dead
    }
    peers.forEach((peer, i) => {
      if (alive[i]) return;
      const cbs = this.watched.get(peer);
      this.watched.delete(peer);
      if (!cbs) return;
      this.o.log.warn({ peer, dialogs: cbs.size }, 'relay peer dead: ending what this worker relayed with it');
      for (const cb of cbs) cb();
    });
  }

  private publish(peer: string, w: Wire): Promise<unknown> {
    return this.o.redis.publish(this.o.keys.global.relayChannel(peer), JSON.stringify(w));
  }

  private receive(raw: string): void {
    let w: Wire;
    try {
      w = JSON.parse(raw) as Wire;
    } catch {
      return;
    }
    if (w.re !== undefined) {
      const p = this.pending.get(w.re);
      if (!p) return;
      this.pending.delete(w.re);
      clearTimeout(p.timer);
      if (w.err !== undefined) p.reject(new RelayError(w.err, 'relay-failed'));
      else p.resolve(w.body);
      return;
    }
    if (w.id === undefined || w.op === undefined) return;
    const id = w.id;
    const from = w.from;
    const h = this.handlers.get(w.op);
    const answer = (a: { body?: unknown; err?: string }): void => {
      this.publish(from, { from: this.o.self, re: id, ...a }).catch((err: unknown) => this.o.log.debug({ err }, 'relay answer not sent'));
    };
    if (!h) {
      answer({ err: `no handler for ${w.op}` });
      return;
    }
    h(w.body, from).then(
      (body) => answer({ body }),
      (err: unknown) => {
        this.o.log.debug({ err, op: w.op }, 'relay request failed');
        answer({ err: err instanceof Error ? err.message : String(err) });
      },
    );
  }
}
