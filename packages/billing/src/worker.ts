/**
 * The billing worker: one read loop per shard (XREADGROUP, first its own pending entries,
 * then new ones), a reclaim loop (XAUTOCLAIM of entries idle on any consumer), and a
 * maintenance loop (trimming, gauges, month-close sweep).
 *
 * Per batch: parse → rate (pure) → one charge script per tenant (idempotent by CDR id) →
 * XACK. A crash anywhere before the XACK means redelivery; the script then finds the CDR
 * already booked and the entry is just acknowledged.
 */
import { isProbeTenant, rateCdr, tollClassOfCall, type CallCharge, type Cdr, type Tariff } from '@kumo/domain';
import type { BillingMetrics, Logger } from '@kumo/runtime';
import type { BillingLedger, CdrStreams, RedisClient, StreamEntry, TollFraudStore } from '@kumo/store';
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
  private pendingAck: Promise<void> = Promise.resolve();
  private readonly noted = new Set<string>();

  constructor(
    private readonly redis: RedisClient,
    private readonly streams: CdrStreams,
    private readonly ledger: BillingLedger,
    private readonly o: WorkerOptions,
    private readonly log: Logger,
    private readonly m: BillingMetrics,
    /** Receives the rated charge of every international and premium-rate call (the toll-fraud spend limit). */
    private readonly toll?: TollFraudStore,
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
    conn.on('error', () => undefined); // reported through the main connection's handler
    this.blocking.push(conn);
    let ownPending: string | null = '0';
    let inflight: Promise<void> = Promise.resolve();
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
          if (entries.length === 0) continue;
          // Two batches per shard in flight: the next read and rating overlap the previous charge round trip.
          const current = this.handle(shard, entries).catch((err: unknown) => {
            this.m.loopErrors.inc({ loop: 'read' });
            this.log.warn({ err, shard }, 'billing batch failed; entries stay pending');
          });
          await inflight;
          inflight = current;
        }
      } catch (err) {
        if (!this.running) break;
        this.m.loopErrors.inc({ loop: 'read' });
        this.log.warn({ err, shard }, 'billing read loop error; retrying');
        await this.sleep(500);
      }
    }
    await inflight;
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
    const failed: { e: StreamEntry; err: unknown }[] = [];
    const parsed: { e: StreamEntry; cdr: Cdr }[] = [];
    const probes: string[] = [];
    for (const e of entries) {
      const p = parseCdrPayload(e.payload);
      if (p.ok && isProbeTenant(p.cdr.tenantId)) {
        // The ops prober's test calls (docs/operations.md, "Probe account"): never billed nor reported.
        probes.push(e.id);
        continue;
      }
      if (p.ok) {
        parsed.push({ e, cdr: p.cdr });
        continue;
      }
      const n = await this.streams.deliveries(shard, e.id);
      await this.streams.deadLetter(e, p.error, n);
      this.m.cdrs.inc({ outcome: 'dead_letter' });
      this.log.warn({ shard, entry: e.id, error: p.error }, 'CDR moved to dead letters');
    }
    // one tariff look-up per tenant and batch (cached in the ledger)
    const tariffs = new Map<string, Promise<Tariff>>();
    for (const { cdr } of parsed) if (!tariffs.has(cdr.tenantId)) tariffs.set(cdr.tenantId, this.ledger.tariffFor(cdr.tenantId));
    await Promise.allSettled(tariffs.values());
    const byTenant = new Map<string, { e: StreamEntry; c: CallCharge }[]>();
    for (const { e, cdr } of parsed) {
      try {
        const c = rateCdr(cdr, await (tariffs.get(cdr.tenantId) as Promise<Tariff>));
        const list = byTenant.get(c.tenantId);
        if (list) list.push({ e, c });
        else byTenant.set(c.tenantId, [{ e, c }]);
      } catch (err) {
        failed.push({ e, err });
      }
    }
    const ack: string[] = [...probes];
    if (probes.length > 0) this.m.cdrs.inc({ outcome: 'probe' }, probes.length);
    await Promise.all(
      [...byTenant.entries()].map(async ([tenantId, list]) => {
        try {
          await this.noteActivity(tenantId, list.map((x) => x.c.month));
          const outcomes = await this.ledger.chargeBatch(tenantId, list.map((x) => x.c));
          const later: string[] = [];
          let charged = 0;
          let money = 0;
          outcomes.forEach((o, i) => {
            if (o.outcome === 'charged') {
              charged++;
              money += (list[i] as { c: CallCharge }).c.charge;
              if (o.section === 'adj') later.push(o.month);
            }
          });
          this.m.cdrs.inc({ outcome: 'charged' }, charged);
          if (charged < outcomes.length) this.m.cdrs.inc({ outcome: 'duplicate' }, outcomes.length - charged);
          if (money > 0) this.m.chargedMinor.inc(money);
          if (later.length > 0) await this.noteActivity(tenantId, later);
          await this.addTollSpend(tenantId, list.map((x) => x.c));
          for (const x of list) ack.push(x.e.id);
        } catch (err) {
          for (const x of list) failed.push({ e: x.e, err });
        }
      }),
    );
    // The acknowledgement of batch k overlaps reading batch k+1; a lost XACK only means a
    // redelivery that the charge script recognises as a duplicate.
    const acked = this.streams.ack(shard, ack);
    await this.pendingAck;
    this.pendingAck = acked.then(
      () => undefined,
      (err: unknown) => this.log.warn({ err, shard }, 'XACK failed; entries will be redelivered and recognised as duplicates'),
    );
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

  /**
   * The toll-fraud spend (docs/security.md): the rated charge of each international or premium-rate call is added to
   * the tenant's spend of the current hour, once per CDR id; duplicates included, so a redelivery after a crash
   * between the charge and this step still adds it (the store ignores a CDR it has seen). Calls that started more
   * than a day ago (a dead letter replayed later) are not spend of this hour.
   */
  private async addTollSpend(tenantId: string, charges: readonly CallCharge[]): Promise<void> {
    if (!this.toll) return;
    const now = Date.now();
    for (const c of charges) {
      if (c.charge <= 0 || now - c.startedAt > 86_400_000 || tollClassOfCall(c) === undefined) continue;
      await this.toll.addSpend(tenantId, c.cdrId, c.charge, now);
    }
  }

  /** Tells the month-close sweep which months a tenant has calls in; remembered per process (the sets only grow). */
  private async noteActivity(tenantId: string, months: readonly string[]): Promise<void> {
    const fresh = [...new Set(months)].filter((m) => !this.noted.has(`${tenantId}|${m}`));
    if (fresh.length === 0) return;
    await this.ledger.noteActivity(tenantId, fresh);
    for (const m of fresh) {
      if (this.noted.size > 100_000) this.noted.clear();
      this.noted.add(`${tenantId}|${m}`);
    }
  }
}
