/**
 * The billing ledger in Redis: charging rated calls exactly once, month totals, month close
 * with a reconciliation check, audited re-rating, tariffs, and reads for reports.
 */
import {
  DEFAULT_TARIFF,
  buildMonthlyReport,
  effectiveTariff,
  jstMonthOf,
  monthCloseAtMs,
  parseTariff,
  parseTariffOverride,
  rateCall,
  sumTotals,
  totalsIncrements,
  type CallCharge,
  type Month,
  type MonthlyReport,
  type Section,
  type Tariff,
  type TariffOverride,
} from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';
import { chargeScript, closeScript, rerateScript } from './scripts.js';

export interface ChargeOutcome {
  readonly cdrId: string;
  readonly outcome: 'charged' | 'duplicate';
  /** The month the call is booked in (its own, or a later one as an adjustment). */
  readonly month: Month;
  readonly section: Section | null;
}

export interface BookedCall {
  readonly charge: CallCharge;
  readonly section: Section;
}

export interface CloseMarker {
  readonly closedAt: number;
  readonly revision: number;
  readonly by?: string;
  readonly checkedAt?: number;
  readonly reconciled?: boolean;
  readonly calls?: number;
}

export interface AuditRecord {
  readonly at: number;
  readonly actor: string;
  readonly action: 'rerate' | 'tariff-set' | 'tariff-delete' | 'close';
  readonly month?: Month;
  readonly reason?: string;
  readonly [k: string]: unknown;
}

type StoredCall = Omit<CallCharge, 'tenantId' | 'month'>;

/** The stored per-call JSON without its opening brace (the charge script prepends the section). Explicit fields: hot path. */
function encodeBody(c: CallCharge): string {
  const stored: StoredCall = {
    cdrId: c.cdrId,
    direction: c.direction,
    disposition: c.disposition,
    calleeDialled: c.calleeDialled,
    calleeE164: c.calleeE164,
    startedAt: c.startedAt,
    billableSeconds: c.billableSeconds,
    extension: c.extension,
    department: c.department,
    trunkId: c.trunkId,
    cls: c.cls,
    rateKey: c.rateKey,
    answered: c.answered,
    billed: c.billed,
    units: c.units,
    charge: c.charge,
    taxBp: c.taxBp,
  };
  // Traffic-report fields (ops): only when known, so calls stored before they existed re-encode unchanged.
  const traffic: Pick<StoredCall, 'endedAt' | 'group' | 'rejectionReason'> = {
    ...(c.endedAt != null ? { endedAt: c.endedAt } : {}),
    ...(c.group != null ? { group: c.group } : {}),
    ...(c.rejectionReason != null ? { rejectionReason: c.rejectionReason } : {}),
  };
  return JSON.stringify({ ...stored, ...traffic }).slice(1);
}

/** Decodes a stored per-call value back into a booked call. */
export function decodeStoredCall(tenantId: string, value: string): BookedCall {
  const s = JSON.parse(value) as StoredCall & { section: Section };
  const charge: CallCharge = {
    cdrId: s.cdrId,
    tenantId,
    direction: s.direction,
    disposition: s.disposition,
    calleeDialled: s.calleeDialled,
    calleeE164: s.calleeE164,
    startedAt: s.startedAt,
    billableSeconds: s.billableSeconds,
    extension: s.extension,
    department: s.department,
    trunkId: s.trunkId,
    endedAt: s.endedAt ?? null,
    group: s.group ?? null,
    rejectionReason: s.rejectionReason ?? null,
    month: jstMonthOf(s.startedAt),
    cls: s.cls,
    rateKey: s.rateKey,
    answered: s.answered,
    billed: s.billed,
    units: s.units,
    charge: s.charge,
    taxBp: s.taxBp,
  };
  return { section: s.section, charge };
}

/** `=<urlencoded>` for a present dimension value, '' when absent (what the charge script expects). */
const dim = (v: string | null): string => (v === null ? '' : `=${encodeURIComponent(v)}`);

/** The 12 charge-script arguments of one call. Mirrors `totalsIncrements` (checked at month close). */
function chargeArgs(c: CallCharge): (string | number)[] {
  return [
    c.cdrId, c.month, c.startedAt, encodeBody(c), c.cls, dim(c.extension), dim(c.department), dim(c.trunkId),
    c.answered ? 1 : 0, c.answered ? c.billableSeconds : 0, c.charge, c.taxBp,
  ];
}

export interface LedgerOptions {
  /** Grace period after a month's end before it freezes (late CDRs then go to the next month's adjustments). */
  readonly closeGraceMs: number;
  /** How long a cached tariff is used before it is read again. */
  readonly tariffCacheMs?: number;
}

export class BillingLedger {
  private readonly tariffCache = new Map<string, { at: number; tariff: Tariff }>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly opts: LedgerOptions,
  ) {}

  // ---- charging -----------------------------------------------------------------

  /** Charges rated calls of ONE tenant once each (one Lua script call). */
  async chargeBatch(tenantId: string, calls: readonly CallCharge[]): Promise<ChargeOutcome[]> {
    if (calls.length === 0) return [];
    const args: (string | number)[] = [this.opts.closeGraceMs, calls.length];
    for (const c of calls) {
      if (c.tenantId !== tenantId) throw new KumoError('KUMO_ERR_BILLING_TENANT', `call ${c.cdrId} is not of tenant ${tenantId}`);
      args.push(...chargeArgs(c));
    }
    const k = this.keys.tenant;
    const res = (await chargeScript.run(this.redis, [k.billBase(tenantId), k.billClosed(tenantId)], args)) as string[];
    return res.map((r, i) => {
      const [a = '', b = ''] = r.split('|');
      const cdrId = (calls[i] as CallCharge).cdrId;
      return a === 'dup'
        ? { cdrId, outcome: 'duplicate', month: b, section: null }
        : { cdrId, outcome: 'charged', month: a, section: b as Section };
    });
  }

  /** Records that a tenant has calls in these months (for the month-close sweep). Idempotent. */
  async noteActivity(tenantId: string, months: Iterable<Month>): Promise<void> {
    const g = this.keys.global;
    const ms = [...new Set(months)];
    if (ms.length === 0) return;
    await Promise.all([this.redis.sadd(g.billMonths(), ...ms), ...ms.map((m) => this.redis.sadd(g.billMonthTenants(m), tenantId))]);
  }

  // ---- tariffs ----------------------------------------------------------------------

  async getPlatformTariff(): Promise<Tariff> {
    const raw = await this.redis.get(this.keys.global.billTariffDefault());
    if (raw === null) return DEFAULT_TARIFF;
    const p = parseTariff(JSON.parse(raw));
    if (!p.ok) throw new KumoError('KUMO_ERR_BILLING_TARIFF', `stored platform tariff is invalid: ${p.errors.join('; ')}`);
    return p.value;
  }

  async getTenantOverride(tenantId: string): Promise<TariffOverride | null> {
    const raw = await this.redis.get(this.keys.tenant.billTariff(tenantId));
    if (raw === null) return null;
    const p = parseTariffOverride(JSON.parse(raw));
    if (!p.ok) throw new KumoError('KUMO_ERR_BILLING_TARIFF', `stored tariff of ${tenantId} is invalid: ${p.errors.join('; ')}`);
    return p.value;
  }

  /** The tenant's effective tariff, cached for `tariffCacheMs` (default 2 s). */
  async tariffFor(tenantId: string, now = Date.now()): Promise<Tariff> {
    const hit = this.tariffCache.get(tenantId);
    if (hit && now - hit.at < (this.opts.tariffCacheMs ?? 2000)) return hit.tariff;
    const [platform, override] = await Promise.all([this.getPlatformTariff(), this.getTenantOverride(tenantId)]);
    const tariff = effectiveTariff(platform, override ?? undefined);
    this.tariffCache.set(tenantId, { at: now, tariff });
    return tariff;
  }

  async setPlatformTariff(raw: unknown, actor: string): Promise<Tariff> {
    const p = parseTariff(raw);
    if (!p.ok) throw new KumoError('KUMO_ERR_BILLING_TARIFF_INVALID', 'invalid tariff', { errors: p.errors });
    await this.redis.set(this.keys.global.billTariffDefault(), JSON.stringify(p.value));
    await this.redis.lpush(this.keys.global.billAudit(), JSON.stringify({ at: Date.now(), actor, action: 'tariff-set', tariff: p.value }));
    this.tariffCache.clear();
    return p.value;
  }

  async setTenantOverride(tenantId: string, raw: unknown, actor: string): Promise<TariffOverride | null> {
    const k = this.keys.tenant;
    if (raw === null) {
      await this.redis.del(k.billTariff(tenantId));
      await this.audit(tenantId, { at: Date.now(), actor, action: 'tariff-delete' });
      this.tariffCache.delete(tenantId);
      return null;
    }
    const p = parseTariffOverride(raw);
    if (!p.ok) throw new KumoError('KUMO_ERR_BILLING_TARIFF_INVALID', 'invalid tariff override', { errors: p.errors });
    await this.redis.set(k.billTariff(tenantId), JSON.stringify(p.value));
    await this.audit(tenantId, { at: Date.now(), actor, action: 'tariff-set', override: p.value });
    this.tariffCache.delete(tenantId);
    return p.value;
  }

  // ---- reads -----------------------------------------------------------------------

  async closeMarker(tenantId: string, month: Month): Promise<CloseMarker | null> {
    const raw = await this.redis.hget(this.keys.tenant.billClosed(tenantId), month);
    return raw === null ? null : (JSON.parse(raw) as CloseMarker);
  }

  async isClosed(tenantId: string, month: Month, now = Date.now()): Promise<boolean> {
    return (await this.closeMarker(tenantId, month)) !== null || now >= monthCloseAtMs(month, this.opts.closeGraceMs);
  }

  async getMonthlyReport(tenantId: string, month: Month, now = Date.now()): Promise<MonthlyReport> {
    const [fields, marker] = await Promise.all([this.redis.hgetall(this.keys.tenant.billTotals(tenantId, month)), this.closeMarker(tenantId, month)]);
    const closed = marker !== null || now >= monthCloseAtMs(month, this.opts.closeGraceMs);
    return buildMonthlyReport({
      tenantId,
      month,
      fields,
      status: closed ? 'closed' : 'open',
      closedAt: marker?.closedAt ?? (closed ? monthCloseAtMs(month, this.opts.closeGraceMs) : null),
      revision: marker?.revision ?? 0,
    });
  }

  /** Per-call detail of a month in start-time order (main and adjustment calls). */
  async listCalls(tenantId: string, month: Month, offset: number, limit: number): Promise<{ total: number; items: BookedCall[] }> {
    const k = this.keys.tenant;
    const [total, ids] = await Promise.all([
      this.redis.zcard(k.billCallIndex(tenantId, month)),
      limit > 0 ? this.redis.zrange(k.billCallIndex(tenantId, month), offset, offset + limit - 1) : Promise.resolve([] as string[]),
    ]);
    if (ids.length === 0) return { total, items: [] };
    const values = await this.redis.hmget(k.billCalls(tenantId, month), ...ids);
    const items: BookedCall[] = [];
    for (const v of values) if (v !== null) items.push(decodeStoredCall(tenantId, v));
    return { total, items };
  }

  /** Every booked call of a month (HSCAN, in pages). */
  async *scanCalls(tenantId: string, month: Month, pageSize = 2000): AsyncGenerator<{ cdrId: string; value: string }[]> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys.tenant.billCalls(tenantId, month), cursor, 'COUNT', pageSize);
      cursor = next;
      const page: { cdrId: string; value: string }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) page.push({ cdrId: flat[i] as string, value: flat[i + 1] as string });
      if (page.length > 0) yield page;
    } while (cursor !== '0');
  }

  async audit(tenantId: string, rec: AuditRecord): Promise<void> {
    await this.redis.lpush(this.keys.tenant.billAudit(tenantId), JSON.stringify(rec));
  }

  async auditLog(tenantId: string, limit = 100): Promise<AuditRecord[]> {
    const raw = await this.redis.lrange(this.keys.tenant.billAudit(tenantId), 0, limit - 1);
    return raw.map((r) => JSON.parse(r) as AuditRecord);
  }

  // ---- month close -------------------------------------------------------------------

  /**
   * Closes (freezes) a tenant's month, then checks that its totals equal a recomputation from
   * the per-call records. Idempotent; the check result is kept in the close marker.
   */
  async closeMonth(tenantId: string, month: Month): Promise<CloseMarker & { mismatches: string[] }> {
    const k = this.keys.tenant;
    await closeScript.run(this.redis, [k.billClosed(tenantId)], [month, '']);
    const booked: BookedCall[] = [];
    for await (const page of this.scanCalls(tenantId, month)) for (const p of page) booked.push(decodeStoredCall(tenantId, p.value));
    const expected = sumTotals(booked);
    const actual = await this.redis.hgetall(k.billTotals(tenantId, month));
    const mismatches: string[] = [];
    for (const f of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
      if ((expected[f] ?? '0') !== (actual[f] ?? '0')) mismatches.push(`${f}: stored ${actual[f] ?? 0}, recomputed ${expected[f] ?? 0}`);
    }
    const marker = JSON.parse(
      (await closeScript.run(this.redis, [k.billClosed(tenantId)], [month, JSON.stringify({ reconciled: mismatches.length === 0, calls: booked.length })])) as string,
    ) as CloseMarker;
    return { ...marker, mismatches };
  }

  /**
   * The month-close sweep: closes every (tenant, month) whose month ended more than the grace
   * period ago and has not been checked yet. Returns what it closed.
   */
  async closeDueMonths(now = Date.now()): Promise<{ tenantId: string; month: Month; calls: number; mismatches: string[] }[]> {
    const g = this.keys.global;
    const out: { tenantId: string; month: Month; calls: number; mismatches: string[] }[] = [];
    // Months older than two years are not revisited (bounded work per sweep).
    const oldest = jstMonthOf(now - 730 * 86_400_000);
    const months = (await this.redis.smembers(g.billMonths())).filter((m) => m >= oldest).sort();
    for (const m of months) {
      if (now < monthCloseAtMs(m, this.opts.closeGraceMs)) continue;
      const tenants = await this.redis.smembers(g.billMonthTenants(m));
      for (let i = 0; i < tenants.length; i += 100) {
        const chunk = tenants.slice(i, i + 100);
        const markers = await Promise.all(chunk.map((t) => this.closeMarker(t, m)));
        for (const [j, t] of chunk.entries()) {
          if (markers[j]?.checkedAt !== undefined) continue;
          const r = await this.closeMonth(t, m);
          out.push({ tenantId: t, month: m, calls: r.calls ?? 0, mismatches: r.mismatches });
        }
      }
    }
    return out;
  }

  // ---- re-rating -----------------------------------------------------------------------

  /**
   * Re-rates every call booked in a month with the tenant's current tariff: an explicit,
   * audited operator action (also allowed on a closed month: its revision is bumped).
   */
  async rerateMonth(tenantId: string, month: Month, actor: string, reason: string): Promise<{ changed: number; skipped: number; before: MonthlyReport; after: MonthlyReport }> {
    const k = this.keys.tenant;
    this.tariffCache.delete(tenantId);
    const tariff = await this.tariffFor(tenantId);
    const before = await this.getMonthlyReport(tenantId, month);
    let changed = 0;
    let skipped = 0;
    for await (const page of this.scanCalls(tenantId, month, 500)) {
      const args: (string | number)[] = [0];
      let n = 0;
      for (const { cdrId, value } of page) {
        const old = decodeStoredCall(tenantId, value);
        const next = rateCall(old.charge, tariff);
        const delta = new Map<string, number>();
        for (const [f, v] of totalsIncrements(old.charge)) delta.set(`${old.section}|${f}`, (delta.get(`${old.section}|${f}`) ?? 0) - v);
        for (const [f, v] of totalsIncrements(next)) delta.set(`${old.section}|${f}`, (delta.get(`${old.section}|${f}`) ?? 0) + v);
        const newValue = `{"section":"${old.section}",${encodeBody(next)}`;
        if (newValue === value) continue;
        const nz = [...delta.entries()].filter(([, v]) => v !== 0);
        args.push(cdrId, value, newValue, nz.length, ...nz.flat());
        n++;
      }
      if (n === 0) continue;
      args[0] = n;
      const [c, s] = (await rerateScript.run(this.redis, [k.billCalls(tenantId, month), k.billTotals(tenantId, month)], args)) as [number, number];
      changed += c;
      skipped += s;
    }
    const marker = await this.closeMarker(tenantId, month);
    if (marker) {
      await this.redis.hset(k.billClosed(tenantId), month, JSON.stringify({ ...marker, revision: marker.revision + 1 }));
    }
    const after = await this.getMonthlyReport(tenantId, month);
    await this.audit(tenantId, {
      at: Date.now(), actor, action: 'rerate', month, reason, changed, skipped,
      beforeTotalYen: before.totalYen, afterTotalYen: after.totalYen, revision: after.revision,
    });
    return { changed, skipped, before, after };
  }
}
