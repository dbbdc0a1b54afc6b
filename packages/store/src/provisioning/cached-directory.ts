import type { NumberingPlan } from '@kumo/domain';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';
import { defineScripts, runScript } from '../admission/scripts.js';
import { DirectoryRepo, tenantFromHash, type GatewayRef } from './directory.js';

/** KEYS: tenant record, audit head. Returns { HGETALL of the record, the head }. */
const TENANT_WITH_HEAD_LUA = `
return { redis.call('HGETALL', KEYS[1]), redis.call('GET', KEYS[2]) }
`;

/** How long after its last validation a tenant's cached configuration is served without a new one, ms. */
export const CONFIG_CACHE_FRESH_MS = 2_000;

interface Generation {
  /** The tenant's audit head this generation belongs to. */
  readonly head: string;
  validatedAt: number;
  readonly entries: Map<string, Promise<unknown>>;
}

/**
 * The call path's view of provisioning: a tenant's configuration — extensions, ring groups, the number
 * index, numbering plan, trunk list, DIDs, pickup groups — is cached in the process and thrown away as
 * soon as the tenant's audit head changes. Every provisioning change appends to the tenant's audit chain
 * (`ProvisioningRepo`, awaited before the API answers), so the head is a version of the tenant's
 * configuration. It is read with the tenant record (same slot, same round trip) whenever a request looks
 * its tenant up (`tenantById`, `tenantByDomain`); the tenant record itself (status, contract) is never
 * cached. A cached entry is served only within `CONFIG_CACHE_FRESH_MS` of the tenant's last validation, so
 * work that reads configuration long after its request looked the tenant up (a transfer minutes into a
 * call) reads Redis. A change is therefore seen by the next request after its audit entry is written.
 *
 * The SIP domain → tenant id index is cached too (`tenantByDomain`): a tenant's domain never changes while
 * the tenant exists (it is claimed at creation and freed when the tenant is purged), and a cached id is used
 * only when the tenant record read for the request still names that domain, so a phone's request costs one
 * round trip (tenant record + audit head) instead of two in series. Unknown domains are not cached. The
 * trunk-source index (which trunk gateways sit at a request's source address) is cached per address, versioned
 * by a token every write to that index replaces (`gatewayRefsAt`).
 */
export class CachedDirectoryRepo extends DirectoryRepo {
  private readonly generations = new Map<string, Generation>();
  /** SIP domain (lower case) → tenant id, as last found in the domain index. */
  private readonly domains = new Map<string, string>();
  /** IP literal → its trunk-source index entries, as read under one value of the index's version. */
  private readonly sources = new Map<string, { readonly version: string; readonly refs: Promise<readonly GatewayRef[]> }>();

  constructor(
    redis: RedisClient,
    keys: KeySchema,
    private readonly limits: { readonly tenants: number; readonly entriesPerTenant: number } = { tenants: 2_000, entriesPerTenant: 20_000 },
    private readonly now: () => number = Date.now,
  ) {
    super(redis, keys);
    defineScripts(redis, { kumoTenantWithHead: TENANT_WITH_HEAD_LUA });
  }

  override async tenantById(tenantId: string): Promise<Awaited<ReturnType<DirectoryRepo['tenantById']>>> {
    const k = this.keys.tenant;
    // The record and the audit head in one command (same slot).
    const [flat, head] = (await runScript(this.redis, 'kumoTenantWithHead', TENANT_WITH_HEAD_LUA, [k.record(tenantId), k.auditHead(tenantId)], [])) as [
      string[],
      string | null,
    ];
    const h: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i] as string] = flat[i + 1] as string;
    const tenant = tenantFromHash(h);
    this.validate(tenantId, tenant === null ? null : head);
    return tenant;
  }

  override knownTenantIdOf(domain: string): string | undefined {
    return this.domains.get(domain.trim().toLowerCase());
  }

  override async tenantByDomain(domain: string): Promise<Awaited<ReturnType<DirectoryRepo['tenantByDomain']>>> {
    const d = domain.trim().toLowerCase();
    const id = this.domains.get(d);
    if (id !== undefined) {
      const tenant = await this.tenantById(id);
      // The record is the authority: a purged tenant (or a branch snapshot that moved the domain) falls through to the index.
      if (tenant !== null && tenant.sipDomain.toLowerCase() === d) return tenant;
      this.domains.delete(d);
    }
    const tenant = await super.tenantByDomain(d);
    if (tenant !== null && tenant.sipDomain.toLowerCase() === d) {
      if (this.domains.size >= this.limits.tenants) this.domains.clear();
      this.domains.set(d, tenant.id);
    }
    return tenant;
  }

  /**
   * The trunk-source index at an address, cached per process while the index's version (replaced by every write
   * to the index, after the write) is unchanged: a request costs one GET instead of the index's two reads. The
   * version is read before the index, so what is cached under a value is never older than that value.
   */
  protected override async gatewayRefsAt(host: string): Promise<readonly GatewayRef[]> {
    // Never written (no trunk since the index got its version, or a fresh Redis): a version of its own.
    const version = (await this.redis.get(this.keys.global.trunkSourcesVersion())) ?? '';
    const hit = this.sources.get(host);
    if (hit?.version === version) return hit.refs;
    if (this.sources.size >= this.limits.entriesPerTenant) this.sources.clear();
    const refs = super.gatewayRefsAt(host);
    this.sources.set(host, { version, refs });
    refs.catch(() => {
      if (this.sources.get(host)?.refs === refs) this.sources.delete(host);
    });
    return refs;
  }

  override numberKind(tenantId: string, number: string): ReturnType<DirectoryRepo['numberKind']> {
    return this.cached(tenantId, `k:${number}`, () => super.numberKind(tenantId, number));
  }

  override numberingPlan(tenantId: string): Promise<NumberingPlan> {
    return this.cached(tenantId, 'plan', () => super.numberingPlan(tenantId));
  }

  override extension(tenantId: string, number: string): ReturnType<DirectoryRepo['extension']> {
    return this.cached(tenantId, `e:${number}`, () => super.extension(tenantId, number));
  }

  /** The cached record while the tenant's generation is fresh; never reads Redis. */
  override cachedExtension(tenantId: string, number: string): ReturnType<DirectoryRepo['extension']> | undefined {
    const g = this.generations.get(tenantId);
    if (g === undefined || this.now() - g.validatedAt >= CONFIG_CACHE_FRESH_MS) return undefined;
    return g.entries.get(`e:${number}`) as ReturnType<DirectoryRepo['extension']> | undefined;
  }

  override ringGroup(tenantId: string, number: string): ReturnType<DirectoryRepo['ringGroup']> {
    return this.cached(tenantId, `g:${number}`, () => super.ringGroup(tenantId, number));
  }

  override pickupGroups(tenantId: string): ReturnType<DirectoryRepo['pickupGroups']> {
    return this.cached(tenantId, 'pickup', () => super.pickupGroups(tenantId));
  }

  override trunks(tenantId: string): ReturnType<DirectoryRepo['trunks']> {
    return this.cached(tenantId, 'trunks', () => super.trunks(tenantId));
  }

  override did(tenantId: string, number: string): ReturnType<DirectoryRepo['did']> {
    return this.cached(tenantId, `d:${number}`, () => super.did(tenantId, number));
  }

  /** Cached tenants and entries, for tests and diagnostics. */
  stats(): { readonly tenants: number; readonly entries: number } {
    let entries = 0;
    for (const g of this.generations.values()) entries += g.entries.size;
    return { tenants: this.generations.size, entries };
  }

  private validate(tenantId: string, head: string | null): void {
    const g = this.generations.get(tenantId);
    if (head === null) {
      // Never audited (or gone): nothing to version the cache by.
      this.generations.delete(tenantId);
      return;
    }
    if (g?.head === head) {
      g.validatedAt = this.now();
      return;
    }
    if (g === undefined && this.generations.size >= this.limits.tenants) this.generations.clear();
    this.generations.set(tenantId, { head, validatedAt: this.now(), entries: new Map() });
  }

  private cached<T>(tenantId: string, key: string, load: () => Promise<T>): Promise<T> {
    const g = this.generations.get(tenantId);
    if (g === undefined || this.now() - g.validatedAt >= CONFIG_CACHE_FRESH_MS) return load();
    const hit = g.entries.get(key);
    if (hit !== undefined) return hit as Promise<T>;
    if (g.entries.size >= this.limits.entriesPerTenant) g.entries.clear();
    const p = load();
    // Stored in the generation that was current when the read started: a read racing a change lands in a
    // generation that the change's new head has already replaced.
    g.entries.set(key, p);
    p.catch(() => {
      if (g.entries.get(key) === p) g.entries.delete(key);
    });
    return p;
  }
}
