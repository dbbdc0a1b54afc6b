/**
 * The billing worker: one read loop per shard (XREADGROUP, first its own pending entries,
 * then new ones), a reclaim loop (XAUTOCLAIM of entries idle on any consumer), and a
 * maintenance loop (trimming, gauges, month-close sweep).
 *
 * Per batch: parse → rate (pure) → one charge script per tenant (idempotent by CDR id) →
 * XACK. A crash anywhere before the XACK means redelivery; the script then finds the CDR
 * already booked and the entry is just acknowledged.
 */
import { rateCdr, type CallCharge } from '@kumo/domain';
import type { BillingMetrics, Logger } from '@kumo/runtime';
import type { BillingLedger, CdrStreams, RedisClient, StreamEntry } from '@kumo/store';
import { parseCdrPayload } from './parse.js';

export interface WorkerOptions {
  readonly consumer: string;
  readonly batchSize: number;
  readonly blockMs: number;
  readonly claimIdleMs: number;
  readonly maxDeliveries: number;
  readonly retentionMs: number;
  readonly trimIntervalMs: number;
  readonly closeCheckMs: number;
}

export class BillingWorker {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly blocking: RedisClient[] = [];
  private wake: () => void = () => undefined;
  private stopped: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: RedisClient,
    private readonly streams: CdrStreams,
    private readonly ledger: BillingLedger,
    private readonly o: WorkerOptions,
    private readonly log: Logger,
    private readonly m: BillingMetrics,
  ) {}

  async start(): Promise<void> {
    await this.streams.ensureGroup();
    this.running = true;
    this.stopped = new Promise<void>((r) => (this.wake = r));
    for (let s = 0; s < this.streams.shards; s++) this.loops.push(this.readLoop(s));
    this.loops.push(this.claimLoop(), this.maintenanceLoop());
  }

  /** Stops reading, lets the batch in flight finish, closes the blocking connections. Idempotent. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await Promise.allSettled(this.loops);
    for (const c of this.blocking) c.disconnect();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      void this.stopped.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private async readLoop(shard: number): Promise<void> {
    const conn = this.redis.duplicate();
    this.blocking.push(conn);
    let ownPending: string | null = '0';
    while (this.running) {
      try {
        if (ownPending !== null) {
          const entries = await this.streams.read(conn, { shard, consumer: this.o.consumer, count: this.o.batchSize, from: ownPending });
          const last = entries.at(-1);
          if (!last) {
            ownPending = null;
            continue;
          }
          ownPending = last.id;
          await this.handle(shard, entries);
        } else {
          const entries = await this.streams.read(conn, { shard, consumer: this.o.consumer, count: this.o.batchSize, blockMs: this.o.blockMs });
          if (entries.length > 0) await this.handle(shard, entries);
        }
      } catch (err) {
        if (!this.running) break;
        this.m.loopErrors.inc({ loop: 'read' });
        this.log.warn({ err, shard }, 'billing read loop error; retrying');
        await this.sleep(500);
      }
    }
  }

  private async claimLoop(): Promise<void> {
    while (this.running) {
      await this.sleep(Math.max(100, Math.floor(this.o.claimIdleMs / 2)));
      for (let shard = 0; shard < this.streams.shards && this.running; shard++) {
        try {
          let cursor = '0-0';
          do {
            const r = await this.streams.autoclaim({ shard, consumer: this.o.consumer, minIdleMs: this.o.claimIdleMs, cursor, count: this.o.batchSize });
            cursor = r.cursor;
            if (r.entries.length > 0) {
              this.m.reclaimed.inc(r.entries.length);
              this.log.info({ shard, count: r.entries.length }, 'reclaimed idle CDR entries');
              await this.handle(shard, r.entries);
            }
          } while (cursor !== '0-0' && this.running);
        } catch (err) {
          if (!this.running) break;
          this.m.loopErrors.inc({ loop: 'claim' });
          this.log.warn({ err, shard }, 'billing reclaim error');
        }
      }
    }
  }

  private async maintenanceLoop(): Promise<void> {
    let nextClose = 0;
    while (this.running) {
      try {
        await this.maintain();
        if (Date.now() >= nextClose) {
          nextClose = Date.now() + this.o.closeCheckMs;
          for (const c of await this.ledger.closeDueMonths()) {
            this.m.monthsClosed.inc();
            if (c.mismatches.length > 0) {
              this.m.reconcileMismatches.inc();
              this.log.error({ tenantId: c.tenantId, month: c.month, mismatches: c.mismatches.slice(0, 20) }, 'month totals differ from the per-call records');
            } else this.log.info({ tenantId: c.tenantId, month: c.month, calls: c.calls }, 'month closed');
          }
        }
      } catch (err) {
        if (!this.running) break;
        this.m.loopErrors.inc({ loop: 'maintenance' });
        this.log.warn({ err }, 'billing maintenance error');
      }
      await this.sleep(this.o.trimIntervalMs);
    }
  }

  /** One trim pass over every shard; refreshes the gauges. */
  async maintain(): Promise<void> {
    for (let s = 0; s < this.streams.shards; s++) {
      const r = await this.streams.trim(s, this.o.retentionMs);
      if (r.trimmed > 0) this.m.trimmed.inc(r.trimmed);
      this.m.pending.set({ shard: String(s) }, r.pending);
      this.m.lag.set({ shard: String(s) }, r.lag);
    }
    this.m.deadLetters.set(await this.streams.deadLetterCount());
  }

  /** Rates and charges a batch of entries of one shard, then acknowledges what was booked. */
  async handle(shard: number, entries: readonly StreamEntry[]): Promise<void> {
    const end = this.m.batchSeconds.startTimer();
    const byTenant = new Map<string, { e: StreamEntry; c: CallCharge }[]>();
    const failed: { e: StreamEntry; err: unknown }[] = [];
    for (const e of entries) {
      const p = parseCdrPayload(e.payload);
      if (!p.ok) {
        const n = await this.streams.deliveries(shard, e.id);
        await this.streams.deadLetter(e, p.error, n);
        this.m.cdrs.inc({ outcome: 'dead_letter' });
        this.log.warn({ shard, entry: e.id, error: p.error }, 'CDR moved to dead letters');
        continue;
      }
      try {
        const tariff = await this.ledger.tariffFor(p.cdr.tenantId);
        const c = rateCdr(p.cdr, tariff);
        const list = byTenant.get(c.tenantId) ?? [];
        list.push({ e, c });
        byTenant.set(c.tenantId, list);
      } catch (err) {
        failed.push({ e, err });
      }
    }
    const ack: string[] = [];
    await Promise.all(
      [...byTenant.entries()].map(async ([tenantId, list]) => {
        try {
          await this.ledger.noteActivity(tenantId, list.map((x) => x.c.month));
          const outcomes = await this.ledger.chargeBatch(tenantId, list.map((x) => x.c));
          const later = new Set<string>();
          outcomes.forEach((o, i) => {
            if (o.outcome === 'charged') {
              this.m.cdrs.inc({ outcome: 'charged' });
              this.m.chargedMinor.inc((list[i] as { c: CallCharge }).c.charge);
              if (o.section === 'adj') later.add(o.month);
            } else this.m.cdrs.inc({ outcome: 'duplicate' });
          });
          if (later.size > 0) await this.ledger.noteActivity(tenantId, later);
          for (const x of list) ack.push(x.e.id);
        } catch (err) {
          for (const x of list) failed.push({ e: x.e, err });
        }
      }),
    );
    await this.streams.ack(shard, ack);
    for (const { e, err } of failed) {
      const n = await this.streams.deliveries(shard, e.id);
      if (n >= this.o.maxDeliveries) {
        await this.streams.deadLetter(e, err instanceof Error ? err.message : String(err), n);
        this.m.cdrs.inc({ outcome: 'dead_letter' });
        this.log.error({ shard, entry: e.id, deliveries: n, err }, 'CDR moved to dead letters after repeated failures');
      } else {
        this.m.cdrs.inc({ outcome: 'failed' });
        this.log.warn({ shard, entry: e.id, deliveries: n, err }, 'CDR not charged; left pending for retry');
      }
    }
    end();
  }
}
