/**
 * The tenant data lifecycle (terms Articles 37 and 38, docs/security.md):
 *
 * - `purge` deletes EVERY key of a terminated tenant: all keys under its hash tag `{t:<id>}`
 *   (found by SCAN, so keys added by any area later are covered without a list to keep up to
 *   date), its entries in the global indexes (SIP domain, DIDs, gateway sources, API keys,
 *   tenant list, leasing index, billing month sets) and its CDRs in the CDR shard streams and
 *   the dead letters.
 * - What the retention policy requires (billing records, `retainBillingMs`, default 7 years for
 *   Japanese tax books) is first copied to a retention set under a fresh random id
 *   (`{r:<rid>}`), never under the tenant's tag: a tenant created later with the same id starts
 *   empty. Retention sets are operator-only and deleted by `sweepRetention` (a scheduled job)
 *   once expired; the copies also carry an absolute Redis TTL as a safety net.
 *
 * Purge runs off the call path (an operator action), so SCAN is acceptable here.
 */
import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../client.js';
import { newIndexVersion, type KeySchema } from '../keys.js';
import type { AuditRepo } from '../provisioning/audit.js';

export interface RetentionRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly sipDomain: string;
  /** Epoch ms. */
  readonly purgedAt: number;
  readonly expiresAt: number;
  /** What was kept (key suffixes after the tenant tag, e.g. `bill:tot:2026-11`). */
  readonly keys: readonly string[];
}

export interface PurgeResult {
  readonly deletedKeys: number;
  readonly indexEntries: number;
  readonly cdrEntries: number;
  readonly retention: RetentionRecord | null;
}

/** 7 years: books and vouchers of a Japanese corporation (Corporation Tax Act) — the default for billing records. */
export const DEFAULT_BILLING_RETENTION_MS = 7 * 366 * 86_400_000;

const SCAN_COUNT = 1000;

export class TenantDataLifecycle {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly opts: { retainBillingMs: number } = { retainBillingMs: DEFAULT_BILLING_RETENTION_MS },
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** SCAN every node that holds data: on a Cluster a SCAN sees only the node it is sent to. */
  private async scan(match: string, each: (keys: string[]) => void): Promise<void> {
    const nodes = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT);
        cursor = next;
        if (found.length > 0) each(found);
      } while (cursor !== '0');
    }
  }

  /** Every key under the tenant's hash tag. */
  async tenantKeys(tenantId: string): Promise<string[]> {
    const out: string[] = [];
    await this.scan(`${this.keys.prefix}:${this.keys.tenantTag(tenantId)}:*`, (k) => {
      out.push(...k);
    });
    return out;
  }

  /** Removes hash fields whose value satisfies `owned`. Returns the number removed. */
  private async hdelWhere(key: string, owned: (field: string, value: string) => boolean): Promise<number> {
    let cursor = '0';
    let n = 0;
    do {
      const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', SCAN_COUNT);
      cursor = next;
      const fields: string[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) if (owned(flat[i] as string, flat[i + 1] as string)) fields.push(flat[i] as string);
      if (fields.length > 0) n += await this.redis.hdel(key, ...fields);
    } while (cursor !== '0');
    return n;
  }

  /** XDELs the entries of a stream whose JSON field `field` has `tenantId`. */
  private async xdelTenant(stream: string, field: string, tenantId: string): Promise<number> {
    let start = '-';
    let n = 0;
    for (;;) {
      const rows = (await this.redis.xrange(stream, start, '+', 'COUNT', SCAN_COUNT)) as [string, string[]][];
      if (rows.length === 0) break;
      const ids: string[] = [];
      for (const [id, kv] of rows) {
        let raw: string | undefined;
        for (let i = 0; i + 1 < kv.length; i += 2) if (kv[i] === field) raw = kv[i + 1];
        if (raw === undefined) continue;
        try {
          if ((JSON.parse(raw) as { tenantId?: unknown }).tenantId === tenantId) ids.push(id);
        } catch {
          if (raw.includes(`"tenantId":"${tenantId}"`)) ids.push(id);
        }
      }
      if (ids.length > 0) n += await this.redis.xdel(stream, ...ids);
      if (rows.length < SCAN_COUNT) break;
      start = `(${rows[rows.length - 1]?.[0] ?? '0-0'}`;
    }
    return n;
  }

  private jsonTenantIs(tenantId: string) {
    return (_f: string, v: string): boolean => {
      try {
        return (JSON.parse(v) as { tenantId?: unknown }).tenantId === tenantId;
      } catch {
        return false;
      }
    };
  }

  /** The global indexes' entries of a tenant. */
  private async purgeIndexes(tenantId: string): Promise<number> {
    const g = this.keys.global;
    let n = 0;
    n += await this.hdelWhere(g.sipDomains(), (_f, v) => v === tenantId);
    n += await this.hdelWhere(g.dids(), (_f, v) => v === tenantId);
    n += await this.hdelWhere(g.trunkSources(), this.jsonTenantIs(tenantId));
    await this.redis.set(g.trunkSourcesVersion(), newIndexVersion());
    // API keys: the hash → record index, then the id → hash index of those ids.
    const keyIds: string[] = [];
    n += await this.hdelWhere(g.apiKeys(), (f, v) => {
      const mine = this.jsonTenantIs(tenantId)(f, v);
      if (mine) {
        try {
          keyIds.push((JSON.parse(v) as { id: string }).id);
        } catch {
          /* not a record */
        }
      }
      return mine;
    });
    if (keyIds.length > 0) n += await this.redis.hdel(g.apiKeyIds(), ...keyIds);
    n += await this.redis.zrem(g.tenants(), tenantId);
    n += await this.redis.srem(g.admissionLeasingTenants(), tenantId);
    for (const month of await this.redis.smembers(g.billMonths())) n += await this.redis.srem(g.billMonthTenants(month), tenantId);
    return n;
  }

  private async purgeCdrs(tenantId: string): Promise<number> {
    let n = 0;
    const streams: string[] = [];
    await this.scan(`${this.keys.prefix}:{cdr:*}:stream`, (k) => {
      streams.push(...k);
    });
    for (const s of streams) n += await this.xdelTenant(s, 'cdr', tenantId);
    n += await this.xdelTenant(this.keys.global.cdrDeadLetters(), 'cdr', tenantId);
    return n;
  }

  /** Copies the billing keys to a fresh retention set (DUMP/RESTORE with an absolute TTL). */
  private async retain(t: { id: string; name: string; sipDomain: string }, all: readonly string[]): Promise<RetentionRecord | null> {
    if (this.opts.retainBillingMs <= 0) return null;
    const tag = `${this.keys.prefix}:${this.keys.tenantTag(t.id)}:`;
    const billing = all.filter((k) => k.startsWith(`${tag}bill:`));
    if (billing.length === 0) return null;
    const id = randomBytes(8).toString('hex');
    const purgedAt = this.now();
    const expiresAt = purgedAt + this.opts.retainBillingMs;
    const kept: string[] = [];
    for (const k of billing) {
      const dump = await this.redis.dumpBuffer(k);
      if (dump === null) continue;
      const suffix = k.slice(tag.length);
      await this.redis.call('RESTORE', this.keys.global.retained(id, suffix), String(expiresAt), dump, 'ABSTTL', 'REPLACE');
      kept.push(suffix);
    }
    const rec: RetentionRecord = { id, tenantId: t.id, name: t.name, sipDomain: t.sipDomain, purgedAt, expiresAt, keys: kept };
    await this.redis.set(this.keys.global.retained(id, 'meta'), JSON.stringify(rec), 'PXAT', expiresAt);
    await this.redis.zadd(this.keys.global.retention(), expiresAt, id);
    return rec;
  }

  /**
   * Deletes every key of the tenant (the record last, so an interrupted purge can be run
   * again), its global index entries and CDRs, after copying what the retention policy keeps.
   */
  async purge(t: { id: string; name: string; sipDomain: string }): Promise<PurgeResult> {
    const record = this.keys.tenant.record(t.id);
    const all = await this.tenantKeys(t.id);
    const retention = await this.retain(t, all);
    const indexEntries = await this.purgeIndexes(t.id);
    const cdrEntries = await this.purgeCdrs(t.id);
    let deletedKeys = 0;
    const rest = all.filter((k) => k !== record);
    for (let i = 0; i < rest.length; i += SCAN_COUNT) deletedKeys += await this.redis.unlink(...rest.slice(i, i + SCAN_COUNT));
    // Keys written while we were deleting (a late registration refresh, a hunt-state update): once more.
    const late = (await this.tenantKeys(t.id)).filter((k) => k !== record);
    if (late.length > 0) deletedKeys += await this.redis.unlink(...late);
    deletedKeys += await this.redis.unlink(record);
    return { deletedKeys, indexEntries, cdrEntries, retention };
  }

  /** The audit part of the retention job: every tenant's trail and the platform's, by time. */
  async trimAudit(audit: AuditRepo, retentionMs: number): Promise<number> {
    let n = await audit.trimExpired(null, retentionMs);
    for (const id of await this.redis.zrange(this.keys.global.tenants(), 0, -1)) n += await audit.trimExpired(id, retentionMs);
    return n;
  }

  /** Retention sets, soonest expiry first (operators only). */
  async listRetention(): Promise<RetentionRecord[]> {
    const ids = await this.redis.zrange(this.keys.global.retention(), 0, -1);
    const out: RetentionRecord[] = [];
    for (const id of ids) {
      const raw = await this.redis.get(this.keys.global.retained(id, 'meta'));
      if (raw !== null) out.push(JSON.parse(raw) as RetentionRecord);
    }
    return out;
  }

  /** The scheduled job: deletes every retention set whose period has ended. Returns the sets deleted. */
  async sweepRetention(): Promise<number> {
    const due = await this.redis.zrangebyscore(this.keys.global.retention(), 0, this.now());
    for (const id of due) {
      const keys: string[] = [];
      await this.scan(`${this.keys.prefix}:{r:${id}}:*`, (k) => {
        keys.push(...k);
      });
      if (keys.length > 0) await this.redis.unlink(...keys);
      await this.redis.zrem(this.keys.global.retention(), id);
    }
    return due.length;
  }
}
