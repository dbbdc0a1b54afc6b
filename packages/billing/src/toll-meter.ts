/**
 * The toll meter (docs/security.md, "Spend per hour"): the toll-fraud spend limit counts what a tenant's
 * international and premium-rate calls cost per clock hour, but a call is rated when its CDR arrives, at its end.
 * The meter closes that gap: every `intervalMs` it reads the records of all calls in progress (any sip process's),
 * prices each answered toll-class call as if it ended now — the same CDR building, tariff and rating as its final
 * charge — and adds what it cost since the last reading to the spend of the current hour. The final charge then
 * adds only the rest (`TollFraudStore.addSpend`), so nothing is counted twice. Several billing workers may meter at
 * once: a reading only ever raises a call's metered amount.
 *
 * When a reading finds a tenant's spend at its limit, the tenant's toll-class calls in progress are ended (`cut`:
 * the sip process that owns each call hangs it up, CDR `endCause: toll-fraud`), except a class an operator override
 * lets past the limit; every later reading repeats it for calls still up (a lost message is repeated, not missed).
 */
import { buildCdr, factsEndedAt, ratingInputOf, rateCdr, tollClassOfCall, type TollClass } from '@kumo/domain';
import type { Logger } from '@kumo/runtime';
import type { BillingLedger, CallRecordStore, TollFraudStore } from '@kumo/store';

export interface TollMeterOptions {
  readonly records: Pick<CallRecordStore, 'owners' | 'callsOf' | 'read'>;
  readonly ledger: Pick<BillingLedger, 'tariffFor'>;
  readonly toll: Pick<TollFraudStore, 'addRunning' | 'overSpend'>;
  /** Ends one toll-class call in progress (the spend limit is reached); absent: calls are metered, never ended. */
  readonly cut?: (tenantId: string, callKey: string) => Promise<void>;
  /** How often calls in progress are priced (ms); 0 turns the meter off. */
  readonly intervalMs: number;
  readonly log: Logger;
}

export interface MeterReading {
  /** Calls in progress read. */
  readonly calls: number;
  /** Answered toll-class calls priced. */
  readonly toll: number;
  /** Minor units added to spends by this reading. */
  readonly added: number;
  /** Calls told to end (their tenant's spend reached its limit). */
  readonly cut: number;
}

/** Records read at once. */
const BATCH = 100;

export class TollMeter {
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<unknown> | undefined;
  private closed = false;

  constructor(private readonly o: TollMeterOptions) {}

  start(): void {
    if (this.o.intervalMs <= 0 || this.timer || this.closed) return;
    this.timer = setInterval(() => {
      if (this.reading) return; // the last reading is still going: skip a beat rather than pile up
      this.reading = this.read()
        .catch((err: unknown) => this.o.log.warn({ err: (err as Error).message }, 'toll meter reading failed; next interval retries'))
        .finally(() => (this.reading = undefined));
    }, this.o.intervalMs);
    this.timer.unref();
  }

  /** Prices every answered toll-class call in progress at `now` and adds what each cost since its last reading. */
  async read(now = Date.now()): Promise<MeterReading> {
    const { records, ledger, toll } = this.o;
    const calls = (await Promise.all((await records.owners()).map((owner) => records.callsOf(owner)))).flat();
    let priced = 0;
    let added = 0;
    const running = new Map<string, { callKey: string; cls: TollClass }[]>(); // tenant → its priced toll calls
    for (let i = 0; i < calls.length && !this.closed; i += BATCH) {
      const recs = await Promise.all(calls.slice(i, i + BATCH).map((c) => records.read(c.tenantId, c.callKey)));
      for (const rec of recs) {
        if (rec?.answeredAt === undefined) continue;
        const cdr = buildCdr(factsEndedAt(rec.facts, rec.answeredAt, now));
        const cls = tollClassOfCall(ratingInputOf(cdr));
        if (cls === undefined) continue;
        const charge = rateCdr(cdr, await ledger.tariffFor(rec.tenantId, now));
        if (charge.charge <= 0) continue;
        priced += 1;
        added += (await toll.addRunning(rec.tenantId, charge.cdrId, charge.charge, now)).added;
        const mine = running.get(rec.tenantId);
        if (mine) mine.push({ callKey: rec.callKey, cls });
        else running.set(rec.tenantId, [{ callKey: rec.callKey, cls }]);
      }
    }
    return { calls: calls.length, toll: priced, added, cut: await this.cutOverSpent(running, now) };
  }

  /** Ends the toll calls of every tenant whose spend reached its limit (classes without an override). */
  private async cutOverSpent(running: ReadonlyMap<string, readonly { callKey: string; cls: TollClass }[]>, now: number): Promise<number> {
    const cut = this.o.cut;
    if (!cut) return 0;
    let n = 0;
    for (const [tenantId, calls] of running) {
      const classes = new Set(await this.o.toll.overSpend(tenantId, now));
      const victims = calls.filter((c) => classes.has(c.cls));
      if (victims.length === 0) continue;
      this.o.log.warn({ tenant: tenantId, calls: victims.length, classes: [...classes] }, 'TOLL SPEND LIMIT REACHED: ending the tenant’s toll calls in progress');
      for (const v of victims) await cut(tenantId, v.callKey);
      n += victims.length;
    }
    return n;
  }

  /** Stops the meter and waits for a reading in progress. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.reading;
  }
}
