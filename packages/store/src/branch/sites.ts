import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Did, ExtensionRecord, PickupGroup, RingGroup, TrunkRecord } from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import type { RedisClient } from '../client.js';
import { newIndexVersion, type KeySchema } from '../keys.js';
import { gatewayIdentity, uniqueIpGateways, type DirectoryRepo } from '../provisioning/directory.js';
import { hashApiKey } from '../provisioning/apikeys.js';
import type { Actor, AuditRepo } from '../provisioning/audit.js';
import { siteConfigHash, type SiteConfig } from './snapshot.js';

/** A site of a tenant served by a survivable branch server (docs/branch.md). */
export interface SiteRecord {
  readonly id: string;
  readonly name: string;
  /** Extension numbers registered at the site (their phones use the branch as their backup). */
  readonly extensions: readonly string[];
  /** Ring group numbers the branch serves while alone. */
  readonly ringGroups: readonly string[];
  /** Pickup group ids the branch serves while alone. */
  readonly pickupGroups: readonly string[];
  /** The site's local line: a trunk of the tenant (outbound, inbound, 110/118/119 while alone). */
  readonly trunkId: string;
  /** The id of the site's current credential, null when none is issued (or it was revoked). */
  readonly credentialId: string | null;
  /** SHA-256 (hex) of the current credential: the field of `branch:creds` to delete on revocation. */
  readonly credentialHash?: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type SiteValue = Pick<SiteRecord, 'id' | 'name' | 'extensions' | 'ringGroups' | 'pickupGroups' | 'trunkId'>;

export const BRANCH_STATES = ['in-sync', 'serving-alone', 'handing-back'] as const;
export type BranchState = (typeof BRANCH_STATES)[number];

/** What a branch reports with every keep-alive. */
export interface BranchReport {
  readonly state: BranchState;
  readonly snapshotVersion: number;
  /** CDRs made while alone that the cloud has not acknowledged yet. */
  readonly cdrBacklog: number;
  /** When the branch began serving alone (ISO), while it does / until it has handed back. */
  readonly aloneSince?: string | null | undefined;
  /**
   * Increases with every report the branch sends: a report that arrives late (a request sent during
   * the cut, delivered by TCP after the link is back) is older than one already taken, and ignored.
   */
  readonly seq?: number | undefined;
}

export interface BranchStatus extends BranchReport {
  /** When the cloud last heard from the branch (ISO). */
  readonly reportedAt: string;
}

/** A period a site's branch served alone (for the operation report). */
export interface BranchPeriod {
  readonly from: string;
  readonly to: string;
}

export interface SiteCredentialOwner {
  readonly tenantId: string;
  readonly siteId: string;
  readonly credentialId: string;
}

const CRED_RE = /^kbr_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

function parse<T>(s: string | null): T | null {
  return s === null ? null : (JSON.parse(s) as T);
}

const BUMP_VERSION = `
local cur = redis.call('HGET', KEYS[1], 'hash')
if cur == ARGV[1] then return tonumber(redis.call('HGET', KEYS[1], 'version') or '0') end
redis.call('HSET', KEYS[1], 'hash', ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'version', 1)`;

/**
 * Sites and their branch servers, cloud side: the site records, the site credential (issued once,
 * stored as its SHA-256, revocable), the site's slice of the tenant as a `SiteConfig` with a
 * monotonic version, and what each branch reports.
 */
export class SiteRepo {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly dir: DirectoryRepo,
    /** Where site changes and credential issues / revocations are recorded (the tenant's audit chain). */
    private readonly audit?: AuditRepo,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private async record(tenantId: string, actor: Actor | undefined, action: string, siteId: string, before?: SiteRecord | null, after?: SiteRecord | null): Promise<void> {
    if (!this.audit || !actor) return;
    // The credential's hash stays out of the audit chain; its id identifies it.
    const clean = (r: SiteRecord | null | undefined) => (r ? { ...r, credentialHash: undefined } : undefined);
    await this.audit.append(tenantId, { actor, action, target: `site:${siteId}`, ...(before ? { before: clean(before) } : {}), ...(after ? { after: clean(after) } : {}) });
  }

  async get(tenantId: string, siteId: string): Promise<SiteRecord | null> {
    return parse<SiteRecord>(await this.redis.get(this.keys.tenant.site(tenantId, siteId)));
  }

  async list(tenantId: string): Promise<SiteRecord[]> {
    const ids = await this.redis.zrange(this.keys.tenant.sites(tenantId), 0, -1);
    if (ids.length === 0) return [];
    const raw = await this.redis.mget(ids.map((id) => this.keys.tenant.site(tenantId, id)));
    return raw.map((r) => parse<SiteRecord>(r)).filter((x): x is SiteRecord => x !== null);
  }

  /** Every site of the installation as `<tenantId>/<siteId>`. */
  async allSites(): Promise<{ tenantId: string; siteId: string }[]> {
    const all = await this.redis.zrange(this.keys.global.branchSites(), 0, -1);
    return all.map((s) => {
      const i = s.indexOf('/');
      return { tenantId: s.slice(0, i), siteId: s.slice(i + 1) };
    });
  }

  private async checkRefs(tenantId: string, v: SiteValue): Promise<void> {
    const miss = async (field: string, expected: string, numbers: readonly string[], exists: (n: string) => Promise<unknown>): Promise<void> => {
      for (const n of numbers) {
        if ((await exists(n)) === null) throw new KumoError('KUMO_ERR_UNKNOWN_REFERENCE', `${field}: ${n} is not ${expected} of this tenant`, { field, number: n, expected });
      }
    };
    await miss('extensions', 'extension', v.extensions, (n) => this.dir.extension(tenantId, n));
    await miss('ringGroups', 'ringGroup', v.ringGroups, (n) => this.dir.ringGroup(tenantId, n));
    await miss('pickupGroups', 'pickupGroup', v.pickupGroups, (n) => this.dir.pickupGroup(tenantId, n));
    await miss('trunkId', 'trunk', [v.trunkId], (n) => this.dir.trunk(tenantId, n));
  }

  async create(tenantId: string, v: SiteValue, actor?: Actor): Promise<SiteRecord> {
    await this.checkRefs(tenantId, v);
    const at = this.now().toISOString();
    const rec: SiteRecord = { ...v, credentialId: null, createdAt: at, updatedAt: at };
    const ok = await this.redis.set(this.keys.tenant.site(tenantId, v.id), JSON.stringify(rec), 'NX');
    if (ok === null) throw new KumoError('KUMO_ERR_EXISTS', `site ${v.id} already exists`, { resource: 'site', id: v.id });
    await this.redis.zadd(this.keys.tenant.sites(tenantId), 0, v.id);
    await this.redis.zadd(this.keys.global.branchSites(), 0, `${tenantId}/${v.id}`);
    await this.record(tenantId, actor, 'site.create', v.id, null, rec);
    return rec;
  }

  async replace(tenantId: string, siteId: string, v: Omit<SiteValue, 'id'>, actor?: Actor): Promise<SiteRecord> {
    const cur = await this.mustGet(tenantId, siteId);
    await this.checkRefs(tenantId, { ...v, id: siteId });
    const rec: SiteRecord = { ...cur, ...v, id: siteId, updatedAt: this.now().toISOString() };
    await this.redis.set(this.keys.tenant.site(tenantId, siteId), JSON.stringify(rec));
    await this.record(tenantId, actor, 'site.update', siteId, cur, rec);
    return rec;
  }

  async delete(tenantId: string, siteId: string, actor?: Actor): Promise<void> {
    const cur = await this.mustGet(tenantId, siteId);
    if (cur.credentialId !== null) await this.revoke(tenantId, siteId, actor);
    const tk = this.keys.tenant;
    await this.redis.del(tk.site(tenantId, siteId), tk.siteSync(tenantId, siteId), tk.siteStatus(tenantId, siteId), tk.sitePeriods(tenantId, siteId));
    await this.redis.zrem(tk.sites(tenantId), siteId);
    await this.redis.zrem(this.keys.global.branchSites(), `${tenantId}/${siteId}`);
    await this.record(tenantId, actor, 'site.delete', siteId, cur, null);
  }

  private async mustGet(tenantId: string, siteId: string): Promise<SiteRecord> {
    const cur = await this.get(tenantId, siteId);
    if (cur === null) throw new KumoError('KUMO_ERR_NOT_FOUND', `site ${siteId} not found`, { resource: 'site', id: siteId });
    return cur;
  }

  /** Issues the site's credential (shown once); an earlier one stops working at once. */
  async issueCredential(tenantId: string, siteId: string, actor?: Actor): Promise<{ credentialId: string; credential: string }> {
    const cur = await this.mustGet(tenantId, siteId);
    if (cur.credentialId !== null) await this.revoke(tenantId, siteId, actor);
    const credentialId = randomBytes(6).toString('hex');
    const credential = `kbr_${credentialId}_${randomBytes(32).toString('base64url')}`;
    const owner: SiteCredentialOwner = { tenantId, siteId, credentialId };
    const credentialHash = hashApiKey(credential);
    await this.redis.hset(this.keys.global.branchCredentials(), credentialHash, JSON.stringify(owner));
    const after = await this.mustGet(tenantId, siteId);
    const rec: SiteRecord = { ...after, credentialId, credentialHash, updatedAt: this.now().toISOString() };
    await this.redis.set(this.keys.tenant.site(tenantId, siteId), JSON.stringify(rec));
    await this.record(tenantId, actor, 'site.credential.issue', siteId, after, rec);
    return { credentialId, credential };
  }

  /** Revokes the site's credential: its branch gets 401 from then on. */
  async revoke(tenantId: string, siteId: string, actor?: Actor): Promise<void> {
    const cur = await this.mustGet(tenantId, siteId);
    if (cur.credentialHash) await this.redis.hdel(this.keys.global.branchCredentials(), cur.credentialHash);
    // Even if the index entry survived (a crash between the two writes), `authenticate` requires the site's current id.
    if (cur.credentialId !== null) {
      const rec: SiteRecord = { ...cur, credentialId: null, credentialHash: null, updatedAt: this.now().toISOString() };
      await this.redis.set(this.keys.tenant.site(tenantId, siteId), JSON.stringify(rec));
      await this.record(tenantId, actor, 'site.credential.revoke', siteId, cur, rec);
    }
  }

  /** The site a credential belongs to, or null (unknown, malformed or revoked). */
  async authenticate(credential: string): Promise<SiteCredentialOwner | null> {
    const m = CRED_RE.exec(credential);
    if (!m) return null;
    const raw = await this.redis.hget(this.keys.global.branchCredentials(), hashApiKey(credential));
    if (raw === null) return null;
    const o = JSON.parse(raw) as SiteCredentialOwner;
    const a = Buffer.from(o.credentialId);
    const b = Buffer.from(m[1] as string);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
    return (await this.get(o.tenantId, o.siteId))?.credentialId === o.credentialId ? o : null;
  }

  /** The site's slice of the tenant in store shapes (see `SiteConfig`). */
  async siteConfig(tenantId: string, site: SiteRecord): Promise<SiteConfig> {
    const tenant = await this.redis.hgetall(this.keys.tenant.record(tenantId));
    const allNumbers = await this.redis.hgetall(this.keys.tenant.numbers(tenantId));
    const extensions = (await Promise.all(site.extensions.map((n) => this.dir.extension(tenantId, n)))).filter((x): x is ExtensionRecord => x !== null);
    const ringGroups = (await Promise.all(site.ringGroups.map((n) => this.dir.ringGroup(tenantId, n)))).filter((x): x is RingGroup => x !== null);
    const pickupGroups = (await Promise.all(site.pickupGroups.map((n) => this.dir.pickupGroup(tenantId, n)))).filter((x): x is PickupGroup => x !== null);
    const trunk = await this.dir.trunk(tenantId, site.trunkId);
    const trunks: TrunkRecord[] = trunk === null ? [] : [trunk];
    const mine = new Set([...extensions.map((e) => e.number), ...ringGroups.map((g) => g.number)]);
    const numbers: Record<string, string> = {};
    for (const [n, kind] of Object.entries(allNumbers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if ((kind !== 'extension' && kind !== 'ringGroup') || mine.has(n)) numbers[n] = kind;
    }
    const dids: Did[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.dir.listDids(tenantId, { limit: 1000, ...(after !== undefined ? { after } : {}) });
      for (const d of page.items) {
        const target = (d.target as { number?: unknown }).number;
        if (typeof target === 'string' && mine.has(target)) dids.push(d);
      }
      if (page.next === null) break;
      after = page.next;
    }
    const plan = await this.dir.numberingPlan(tenantId);
    const grants = await this.redis.get(this.keys.tenant.grants(tenantId));
    return { tenant, numbers, extensions, ringGroups, pickupGroups, trunks, dids, plan, grants };
  }

  /** The site's configuration and its version: the version moves (by one) only when the content changed. */
  async versioned(tenantId: string, site: SiteRecord): Promise<{ version: number; config: SiteConfig }> {
    const config = await this.siteConfig(tenantId, site);
    const version = Number(await this.redis.eval(BUMP_VERSION, 1, this.keys.tenant.siteSync(tenantId, site.id), siteConfigHash(config)));
    return { version, config };
  }

  async report(tenantId: string, siteId: string, r: BranchReport): Promise<BranchStatus> {
    const prev = await this.status(tenantId, siteId);
    if (prev?.seq !== undefined && r.seq !== undefined && r.seq <= prev.seq) return prev;
    const status: BranchStatus = { ...r, reportedAt: this.now().toISOString() };
    await this.redis.set(this.keys.tenant.siteStatus(tenantId, siteId), JSON.stringify(status));
    // A service period ends when the branch reports in sync again after serving alone.
    const since = prev?.aloneSince ?? r.aloneSince ?? null;
    if (prev !== null && prev.state !== 'in-sync' && r.state === 'in-sync' && since !== null) {
      const period: BranchPeriod = { from: since, to: status.reportedAt };
      await this.redis.lpush(this.keys.tenant.sitePeriods(tenantId, siteId), JSON.stringify(period));
      await this.redis.ltrim(this.keys.tenant.sitePeriods(tenantId, siteId), 0, 999);
    }
    return status;
  }

  async status(tenantId: string, siteId: string): Promise<BranchStatus | null> {
    return parse<BranchStatus>(await this.redis.get(this.keys.tenant.siteStatus(tenantId, siteId)));
  }

  /** The site's service periods (newest first), ending in [fromMs, toMs). */
  async periods(tenantId: string, siteId: string, fromMs = 0, toMs = Number.MAX_SAFE_INTEGER): Promise<BranchPeriod[]> {
    const raw = await this.redis.lrange(this.keys.tenant.sitePeriods(tenantId, siteId), 0, -1);
    return raw.map((r) => JSON.parse(r) as BranchPeriod).filter((p) => {
      const t = Date.parse(p.to);
      return t >= fromMs && t < toMs;
    });
  }
}

/**
 * The branch side: writes a `SiteConfig` into the branch's own Redis under the cloud's key schema,
 * replacing what the previous snapshot wrote, in one MULTI on the branch's private connection.
 */
export async function applySiteConfig(redis: RedisClient, keys: KeySchema, tenantId: string, c: SiteConfig): Promise<void> {
  const tk = keys.tenant;
  const gk = keys.global;
  const [exts, rgs, pgs, trunkIds, didNums, sources] = await Promise.all([
    redis.zrange(tk.extensions(tenantId), 0, -1),
    redis.zrange(tk.ringGroups(tenantId), 0, -1),
    redis.zrange(tk.pickupGroups(tenantId), 0, -1),
    redis.zrange(tk.trunks(tenantId), 0, -1),
    redis.zrange(tk.dids(tenantId), 0, -1),
    redis.hkeys(gk.trunkSources()),
  ]);
  const m = redis.multi();
  // What the previous snapshot wrote.
  m.del(tk.record(tenantId), tk.numbers(tenantId), tk.extensions(tenantId), tk.ringGroups(tenantId), tk.pickupGroups(tenantId), tk.trunks(tenantId), tk.dids(tenantId));
  m.del(tk.numberingPlan(tenantId), tk.grants(tenantId));
  for (const n of exts) m.del(tk.extension(tenantId, n));
  for (const n of rgs) m.del(tk.ringGroup(tenantId, n));
  for (const n of pgs) m.del(tk.pickupGroup(tenantId, n));
  for (const n of trunkIds) m.del(tk.trunk(tenantId, n));
  for (const n of didNums) m.del(tk.did(tenantId, n));
  // Gateway identities are `transport|IP|port`.
  for (const id of sources) m.del(gk.trunkSourcesAt(id.split('|')[1] ?? ''));
  // A branch serves one tenant: its global indexes hold nothing else.
  m.del(gk.sipDomains(), gk.dids(), gk.trunkSources(), gk.tenants());
  // The new snapshot.
  m.hset(tk.record(tenantId), c.tenant);
  m.zadd(gk.tenants(), 0, tenantId);
  if (typeof c.tenant.sipDomain === 'string') m.hset(gk.sipDomains(), c.tenant.sipDomain.toLowerCase(), tenantId);
  if (Object.keys(c.numbers).length > 0) m.hset(tk.numbers(tenantId), c.numbers);
  for (const e of c.extensions) {
    m.zadd(tk.extensions(tenantId), 0, e.number);
    m.set(tk.extension(tenantId, e.number), JSON.stringify(e));
  }
  for (const g of c.ringGroups) {
    m.zadd(tk.ringGroups(tenantId), 0, g.number);
    m.set(tk.ringGroup(tenantId, g.number), JSON.stringify(g));
  }
  for (const g of c.pickupGroups) {
    m.zadd(tk.pickupGroups(tenantId), 0, g.id);
    m.set(tk.pickupGroup(tenantId, g.id), JSON.stringify(g));
  }
  for (const t of c.trunks) {
    m.zadd(tk.trunks(tenantId), 0, t.id);
    m.set(tk.trunk(tenantId, t.id), JSON.stringify(t));
    const ref = JSON.stringify({ tenantId, trunkId: t.id });
    for (const g of uniqueIpGateways(t.gateways)) {
      m.hset(gk.trunkSources(), gatewayIdentity(g), ref);
      m.sadd(gk.trunkSourcesAt(g.host), gatewayIdentity(g));
    }
  }
  // The trunk-source index was rewritten: cached lookups of it are stale (CachedDirectoryRepo).
  m.set(gk.trunkSourcesVersion(), newIndexVersion());
  for (const d of c.dids) {
    m.zadd(tk.dids(tenantId), 0, d.number);
    m.set(tk.did(tenantId, d.number), JSON.stringify(d));
    m.hset(gk.dids(), d.number, tenantId);
  }
  if (c.plan !== null) m.set(tk.numberingPlan(tenantId), JSON.stringify(c.plan));
  if (c.grants !== null) m.set(tk.grants(tenantId), c.grants);
  const res = await m.exec();
  const failed = res?.find(([err]) => err !== null);
  if (failed) throw failed[0] as Error;
}
