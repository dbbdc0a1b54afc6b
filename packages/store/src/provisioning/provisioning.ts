import {
  DEFAULT_NUMBERING_PLAN,
  MAX_FORWARD_DEPTH,
  forwardingHops,
  forwardingProblem,
  featureCodeEntries,
  numberConflict,
  numberConflictReason,
  numberProblem,
  type Did,
  type ExtensionView,
  type NumberingOptions,
  type RingGroupView,
  type DidValue,
  type Gateway,
  type ExtensionRecord,
  type ExtensionValue,
  type NumberingPlan,
  type PickupGroup,
  type PickupGroupInput,
  type RestrictionLevel,
  type RingGroup,
  type RingGroupValue,
  type Tenant,
  type TenantPatch,
  type TenantStatus,
  type TenantValue,
  type TrunkRecord,
  type TrunkValue,
} from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import type { RedisClient } from '../client.js';
import { newIndexVersion, type KeySchema } from '../keys.js';
import { ApiKeyRepo } from './apikeys.js';
import { gatewayIdentity, uniqueIpGateways } from './directory.js';
import { isSealed } from './secrets.js';
import { computeHa1 } from './digest.js';
import { AuditRepo, type Actor } from './audit.js';
import { DirectoryRepo } from './directory.js';
import { DEFAULT_BILLING_RETENTION_MS, TenantDataLifecycle, type PurgeResult } from '../lifecycle/tenant-data.js';
import { provisioningScripts, type LuaReply, type ProvisioningScripts } from './lua.js';

/** HA1 values for digest auth: hex MD5 and SHA-256 of `user:realm:password`. */
export function ha1Of(user: string, realm: string, password: string): { ha1Md5: string; ha1Sha256: string } {
  return { ha1Md5: computeHa1('MD5', user, realm, password), ha1Sha256: computeHa1('SHA-256', user, realm, password) };
}

type Kind = 'extension' | 'ringGroup' | '';

/** The record types of a tenant, as named in error details (`resource`) and the references index. */
export type Resource = 'extension' | 'ringGroup' | 'pickupGroup' | 'trunk' | 'did';

/** A reference from a record to a number of the tenant's number space. */
export interface Ref {
  readonly number: string;
  /** What the number must be: `any` = an extension or a ring group. */
  readonly kind: 'extension' | 'ringGroup' | 'any';
  /** The referring field: `members`, `overflow`, `target`, `forwarding/busy` … */
  readonly field: string;
}

/** Who refers to a number (from the references index). */
export interface Referrer {
  readonly resource: string;
  readonly id: string;
  readonly field: string;
}

/** `1007|ringGroup:600|members` → `{resource: 'ringGroup', id: '600', field: 'members'}`. */
export function parseReferrer(m: string): Referrer {
  const [, label = '', field = ''] = m.split('|');
  const i = label.indexOf(':');
  return { resource: label.slice(0, i), id: label.slice(i + 1), field };
}

/** Every reference a record makes (what must exist when it is written). */
export function refsOf(resource: Resource, v: unknown, numbering: NumberingOptions): Ref[] {
  switch (resource) {
    case 'extension':
      return forwardingHops(v as ExtensionView, numbering).map((h) => ({ number: h.to, kind: 'any', field: h.field }));
    case 'ringGroup': {
      const g = v as RingGroupView;
      return [
        ...g.members.map((m) => ({ number: m.extension, kind: 'extension' as const, field: 'members' })),
        ...forwardingHops(g, numbering).map((h) => ({ number: h.to, kind: 'any' as const, field: h.field })),
      ];
    }
    case 'pickupGroup':
      return (v as PickupGroupInput).members.map((m) => ({ number: m, kind: 'extension', field: 'members' }));
    case 'did': {
      const t = (v as DidValue).target;
      return [{ number: t.number, kind: t.type, field: 'target' }];
    }
    default:
      return [];
  }
}

/** Marker member of a references index that is complete (never matches a `<number>|` range). */
const REFS_VERSION = '#refs-v1';

interface EntitySpec {
  readonly resource: Resource;
  readonly kind: Kind;
  /** Number-space number ('' when the entity has none). */
  readonly number: string;
  /** Index member (id or number). */
  readonly member: string;
  readonly index: string;
  readonly key: string;
  readonly countPorts?: boolean;
  readonly limit?: { field: string; value: number };
}

interface FailContext {
  readonly tenantId: string;
  readonly resource?: string;
  readonly id?: string;
}

/**
 * Lua error replies → KumoErrors with named `details` (the api's error catalogue renders its
 * messages from them; the messages here are the English form for other callers).
 */
const an = (w: unknown): string => `${/^[aeiou]/i.test(String(w)) ? 'an' : 'a'} ${String(w)}`;

const ERR_MAP: Record<
  string,
  { code: `KUMO_ERR_${string}`; details: (d: string[], c: FailContext) => Record<string, unknown>; message: (d: Record<string, unknown>) => string }
> = {
  TENANT_NOT_FOUND: { code: 'KUMO_ERR_NOT_FOUND', details: (_d, c) => ({ resource: 'tenant', id: c.tenantId }), message: (d) => `tenant ${String(d.id)} not found` },
  TENANT_TERMINATED: { code: 'KUMO_ERR_TENANT_TERMINATED', details: (_d, c) => ({ tenantId: c.tenantId }), message: () => 'the tenant is terminated' },
  NOT_FOUND: { code: 'KUMO_ERR_NOT_FOUND', details: (_d, c) => ({ resource: c.resource, id: c.id }), message: (d) => `${String(d.resource)} ${String(d.id)} not found` },
  EXISTS: { code: 'KUMO_ERR_EXISTS', details: (_d, c) => ({ resource: c.resource, id: c.id }), message: (d) => `${String(d.resource)} ${String(d.id)} already exists` },
  NUMBER_TAKEN: {
    code: 'KUMO_ERR_NUMBER_TAKEN',
    details: (d, c) => ({ number: d[1] ?? c.id, usedBy: d[0] ?? 'number' }),
    message: (d) => `number ${String(d.number)} is already used by ${an(d.usedBy)}`,
  },
  PORT_LIMIT: { code: 'KUMO_ERR_PORT_LIMIT', details: (d) => ({ ports: Number(d[0]) }), message: (d) => `the contract allows ${String(d.ports)} extensions (ports)` },
  UNKNOWN_REFERENCE: {
    code: 'KUMO_ERR_UNKNOWN_REFERENCE',
    details: (d) => ({ field: d[2] ?? '', number: d[0] ?? '', expected: d[1] === 'any' ? 'extension or ring group' : (d[1] ?? '') }),
    message: (d) => `${String(d.field)}: ${String(d.number)} is not ${an(d.expected)} of this tenant`,
  },
  CONTRACT_LIMIT: {
    code: 'KUMO_ERR_CONTRACT_LIMIT',
    details: (d) => ({ field: d[0] ?? '', limit: Number(d[1]), value: Number(d[2]) }),
    message: (d) => `${String(d.value)} exceeds the contract's ${String(d.field)} (${String(d.limit)})`,
  },
  PORTS_BELOW_PROVISIONED: {
    code: 'KUMO_ERR_PORTS_BELOW_PROVISIONED',
    details: (d) => ({ provisioned: Number(d[0]) }),
    message: (d) => `ports cannot be lowered below the ${String(d.provisioned)} provisioned extensions`,
  },
  PLAN_CONFLICT: {
    code: 'KUMO_ERR_PLAN_CONFLICT',
    details: (d) => ({ rule: d[0] ?? '', number: d[1] ?? '' }),
    message: (d) => `the numbering plan's ${String(d.rule)} conflicts with existing number ${String(d.number)}`,
  },
  IN_USE: {
    code: 'KUMO_ERR_IN_USE',
    details: (d, c) => ({ resource: c.resource, id: c.id, referrers: d.map(parseReferrer) }),
    message: (d) =>
      `${String(d.resource)} ${String(d.id)} is still used by ${(d.referrers as Referrer[]).map((r) => `${r.resource} ${r.id} (${r.field})`).join(', ')}`,
  },
};

function fail(reply: LuaReply, ctx: FailContext): never {
  const [, what = 'UNKNOWN', ...rest] = reply;
  const m = ERR_MAP[what];
  if (!m) throw new KumoError('KUMO_ERR_INTERNAL', `unexpected store reply ${what}`);
  const details = m.details(rest, ctx);
  throw new KumoError(m.code, m.message(details), details);
}

const CAS_ATTEMPTS = 8;

/**
 * Write side of provisioning (used by the api only). Every rule that must hold under
 * concurrency (port limit, number collisions, ports ≥ provisioned, terminated is final)
 * is checked inside one Lua script on the tenant's slot; global uniqueness (SIP domain,
 * DID, gateway IP) uses HSETNX on the global index first and is undone if the tenant
 * write fails. Every successful change is appended to the audit stream.
 */
export class ProvisioningRepo extends DirectoryRepo {
  private readonly lua: ProvisioningScripts;
  readonly audit: AuditRepo;
  readonly apiKeys: ApiKeyRepo;

  readonly lifecycle: TenantDataLifecycle;

  constructor(
    redis: RedisClient,
    keys: KeySchema,
    private readonly now: () => Date = () => new Date(),
    retention: { retainBillingMs: number } = { retainBillingMs: DEFAULT_BILLING_RETENTION_MS },
  ) {
    super(redis, keys);
    this.lifecycle = new TenantDataLifecycle(redis, keys, retention, () => now().getTime());
    this.lua = provisioningScripts(redis);
    this.audit = new AuditRepo(redis, keys, now);
    this.apiKeys = new ApiKeyRepo(redis, keys, now);
  }

  private iso(): string {
    return this.now().toISOString();
  }

  // ---- tenants ---------------------------------------------------------------------------

  /** `listed: false` (the platform's probe account only): kept out of the tenant index, so no list, report or sweep sees it. */
  async createTenant(v: TenantValue, actor: Actor, opts: { readonly listed?: boolean } = {}): Promise<Tenant> {
    const k = this.keys;
    const claimed = await this.redis.hsetnx(k.global.sipDomains(), v.sipDomain, v.id);
    if (claimed === 0) {
      const owner = await this.redis.hget(k.global.sipDomains(), v.sipDomain);
      if (owner !== v.id) throw new KumoError('KUMO_ERR_DOMAIN_TAKEN', `SIP domain ${v.sipDomain} is used by another tenant`);
    }
    const at = this.iso();
    const t: Tenant = { ...v, createdAt: at, updatedAt: at };
    const fields = Object.entries(t).flatMap(([f, x]) => [f, String(x)]);
    const codes = featureCodeEntries(DEFAULT_NUMBERING_PLAN.featureCodes).map(([, c]) => c);
    // Indexed first (idempotent): a crash between the two writes leaves an index entry that
    // lists skip, never a tenant that lists cannot see.
    if (opts.listed !== false) await this.redis.zadd(k.global.tenants(), 0, v.id);
    const r = await this.lua.kumoCreateTenant(k.tenant.record(v.id), k.tenant.numbers(v.id), String(fields.length / 2), ...fields, ...codes);
    if (r[0] !== 'OK') {
      if (claimed === 1) await this.lua.kumoHdelIf(k.global.sipDomains(), v.sipDomain, v.id);
      fail(r, { tenantId: v.id, resource: 'tenant', id: v.id });
    }
    await this.audit.append(v.id, { actor, action: 'tenant.create', target: `tenant:${v.id}`, after: t });
    return t;
  }

  private async mustTenant(id: string): Promise<Tenant> {
    const t = await this.tenantById(id);
    if (t === null) throw new KumoError('KUMO_ERR_NOT_FOUND', `tenant ${id} not found`, { resource: 'tenant', id });
    return t;
  }

  async updateTenant(id: string, patch: TenantPatch, actor: Actor): Promise<Tenant> {
    const before = await this.mustTenant(id);
    const fields = Object.entries(patch)
      .filter(([, x]) => x !== undefined)
      .flatMap(([f, x]) => [f, String(x)]);
    fields.push('updatedAt', this.iso());
    const r = await this.lua.kumoUpdateTenant(this.keys.tenant.record(id), this.keys.tenant.extensions(id), 'patch', ...fields);
    if (r[0] !== 'OK') fail(r, { tenantId: id });
    const after = await this.mustTenant(id);
    await this.audit.append(id, { actor, action: 'tenant.update', target: `tenant:${id}`, before, after });
    return after;
  }

  /** suspend (data kept), resume, terminate (final; data deleted by `purgeTenant`). */
  async setTenantStatus(id: string, status: TenantStatus, actor: Actor): Promise<Tenant> {
    const before = await this.mustTenant(id);
    const r = await this.lua.kumoUpdateTenant(this.keys.tenant.record(id), this.keys.tenant.extensions(id), 'status', status, this.iso());
    if (r[0] !== 'OK') fail(r, { tenantId: id });
    const after = await this.mustTenant(id);
    const action = status === 'active' ? 'tenant.resume' : status === 'suspended' ? 'tenant.suspend' : 'tenant.terminate';
    await this.audit.append(id, { actor, action, target: `tenant:${id}`, before: { status: before.status }, after: { status } });
    if (status === 'terminated') await this.apiKeys.revokeTenant(id);
    return after;
  }

  /**
   * Contract termination (Article 38): deletes every key of a terminated tenant, its entries in
   * the global indexes and its CDRs, keeping only what the retention policy requires (see
   * `TenantDataLifecycle`). Only for `terminated` tenants (409 otherwise). Logged in the platform audit.
   */
  async purgeTenant(id: string, actor: Actor): Promise<PurgeResult> {
    const t = await this.mustTenant(id);
    if (t.status !== 'terminated') {
      throw new KumoError('KUMO_ERR_TENANT_NOT_TERMINATED', 'only a terminated tenant can be deleted', { tenantId: id, status: t.status });
    }
    await this.apiKeys.revokeTenant(id);
    // Gateway identities first: their per-host index sets are not under the tenant's hash tag.
    for (const trunk of await this.trunks(id)) await this.releaseSources(id, trunk.id, trunk.gateways);
    const r = await this.lifecycle.purge(t);
    await this.audit.append(null, {
      actor,
      action: 'tenant.purge',
      target: `tenant:${id}`,
      before: { id, sipDomain: t.sipDomain },
      after: { deletedKeys: r.deletedKeys, indexEntries: r.indexEntries, cdrEntries: r.cdrEntries, retention: r.retention?.id ?? null },
    });
    return r;
  }

  async setPlatformRestrictionLevel(level: RestrictionLevel, actor: Actor): Promise<RestrictionLevel> {
    const before = await this.platformRestrictionLevel();
    await this.redis.set(this.keys.global.restrictionLevel(), String(level));
    await this.audit.append(null, { actor, action: 'platform.restriction', target: 'platform', before: { level: before }, after: { level } });
    return level;
  }

  // ---- generic entity write ----------------------------------------------------------------

  private async put(
    tenantId: string,
    s: EntitySpec,
    mode: 'create' | 'update' | 'delete',
    json: string,
    expected: string,
    refs: readonly Ref[],
    oldRefs: readonly Ref[],
  ): Promise<LuaReply> {
    const tk = this.keys.tenant;
    const label = `${s.resource}:${s.member}`;
    return this.lua.kumoPutEntity(
      tk.record(tenantId),
      tk.numbers(tenantId),
      s.index,
      s.key,
      tk.refs(tenantId),
      s.kind,
      s.number,
      mode,
      json,
      expected,
      s.countPorts === true ? '1' : '0',
      s.limit?.field ?? '',
      String(s.limit?.value ?? 0),
      s.member,
      label,
      String(refs.length),
      ...refs.flatMap((r) => [r.number, r.kind, r.field]),
      ...oldRefs.map((r) => `${r.number}|${label}|${r.field}`),
    );
  }

  private ctx(tenantId: string, s: EntitySpec): FailContext {
    return { tenantId, resource: s.resource, id: s.member };
  }

  private async numbering(tenantId: string): Promise<NumberingOptions> {
    return this.numberingPlan(tenantId);
  }

  /**
   * Read-modify-write with compare-and-set; retried on concurrent change. `change` gets the
   * stored record and returns the new one (it may throw a validation error). A delete is
   * refused while the references index names the record.
   */
  private async cas<T>(tenantId: string, s: EntitySpec, mode: 'update' | 'delete', change: (cur: T) => T | Promise<T>): Promise<{ before: T; after: T }> {
    const numbering = await this.numbering(tenantId);
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const raw = await this.redis.get(s.key);
      if (raw === null) {
        await this.mustTenant(tenantId);
        fail(['ERR', 'NOT_FOUND'], this.ctx(tenantId, s));
      }
      const before = JSON.parse(raw) as T;
      const after = mode === 'update' ? await change(before) : before;
      const json = mode === 'update' ? JSON.stringify(after) : '';
      const refs = mode === 'update' ? refsOf(s.resource, after, numbering) : [];
      const r = await this.put(tenantId, s, mode, json, raw, refs, refsOf(s.resource, before, numbering));
      if (r[0] === 'OK') return { before, after };
      if (r[1] !== 'RETRY') fail(r, this.ctx(tenantId, s));
    }
    throw new KumoError('KUMO_ERR_CONCURRENT_UPDATE', 'the record changed concurrently too often; retry');
  }

  private update<T>(tenantId: string, s: EntitySpec, change: (cur: T) => T | Promise<T>): Promise<{ before: T; after: T }> {
    return this.cas(tenantId, s, 'update', change);
  }

  private async remove<T>(tenantId: string, s: EntitySpec): Promise<T> {
    return (await this.cas<T>(tenantId, s, 'delete', (cur) => cur)).before;
  }

  private async create(tenantId: string, s: EntitySpec, value: unknown): Promise<void> {
    const numbering = await this.numbering(tenantId);
    const r = await this.put(tenantId, s, 'create', JSON.stringify(value), '', refsOf(s.resource, value, numbering), []);
    if (r[0] !== 'OK') fail(r, this.ctx(tenantId, s));
  }

  private async checkNumber(tenantId: string, number: string, kind: 'extension' | 'ringGroup'): Promise<void> {
    const plan = await this.numberingPlan(tenantId);
    // Reserved first: 110 as an extension is "reserved" (409), not "must have 4 digits".
    const conflict = numberConflict(number, plan);
    if (conflict !== undefined) {
      throw new KumoError('KUMO_ERR_NUMBER_RESERVED', `number ${number} ${conflict}`, { number, reason: numberConflictReason(number, plan) });
    }
    const problem = numberProblem(number, plan, kind);
    if (problem !== undefined) {
      throw new KumoError('KUMO_ERR_VALIDATION', `number ${number} ${problem}`, { problems: [{ field: 'number', message: problem }] });
    }
  }

  /** Who refers to a number of the tenant (forwarding, groups, overflow, DIDs), in index order. */
  async referrersOf(tenantId: string, number: string, limit = 1000): Promise<Referrer[]> {
    const key = this.keys.tenant.refs(tenantId);
    const members = await this.redis.zrangebylex(key, `[${number}|`, `[${number}|\xff`, 'LIMIT', 0, limit);
    return members.map(parseReferrer);
  }

  /**
   * Rebuilds a tenant's references index from its records (for data written before the index
   * existed). Built aside and swapped in with RENAME (same slot); marked with `REFS_VERSION`.
   * Returns the number of references.
   */
  async rebuildReferences(tenantId: string): Promise<number> {
    const numbering = await this.numbering(tenantId);
    const members: string[] = [];
    const add = (resource: Resource, id: string, v: unknown): void => {
      for (const r of refsOf(resource, v, numbering)) members.push(`${r.number}|${resource}:${id}|${r.field}`);
    };
    const walk = async <T>(list: (q: { after?: string; limit: number }) => Promise<{ items: readonly T[]; next: string | null }>, each: (v: T) => void): Promise<void> => {
      let after: string | undefined;
      for (;;) {
        const p = await list({ ...(after !== undefined ? { after } : {}), limit: 1000 });
        p.items.forEach(each);
        if (p.next === null) return;
        after = p.next;
      }
    };
    await walk((q) => this.listExtensions(tenantId, q), (e) => add('extension', e.number, e));
    await walk((q) => this.listRingGroups(tenantId, q), (g) => add('ringGroup', g.number, g));
    await walk((q) => this.listDids(tenantId, q), (d) => add('did', d.number, d));
    for (const g of await this.pickupGroups(tenantId)) add('pickupGroup', g.id, g);
    const key = this.keys.tenant.refs(tenantId);
    const tmp = `${key}:rebuild`;
    await this.redis.del(tmp);
    for (let i = 0; i < members.length; i += 1000) await this.redis.zadd(tmp, ...members.slice(i, i + 1000).flatMap((m) => ['0', m]));
    await this.redis.zadd(tmp, '0', REFS_VERSION);
    await this.redis.rename(tmp, key);
    return members.length;
  }

  /** Rebuilds the references index of every tenant whose index predates it (at API start). */
  async ensureReferences(): Promise<string[]> {
    const rebuilt: string[] = [];
    let after: string | undefined;
    for (;;) {
      const p = await this.listTenants({ ...(after !== undefined ? { after } : {}), limit: 1000 });
      for (const t of p.items) {
        if ((await this.redis.zscore(this.keys.tenant.refs(t.id), REFS_VERSION)) !== null) continue;
        await this.rebuildReferences(t.id);
        rebuilt.push(t.id);
      }
      if (p.next === null) return rebuilt;
      after = p.next;
    }
  }

  /**
   * Refuses forwarding / overflow that call routing would cut (see `forwardingProblem` in
   * domain/routing): loads what the item leads to, up to the routing depth, and checks.
   */
  private async checkForwardingChains(tenantId: string, item: ExtensionView | RingGroupView): Promise<void> {
    const numbering = await this.numbering(tenantId);
    const views = new Map<string, ExtensionView | RingGroupView>([[item.number, item]]);
    let frontier = forwardingHops(item, numbering).map((h) => h.to);
    for (let depth = 0; depth <= MAX_FORWARD_DEPTH && frontier.length > 0; depth++) {
      const todo = [...new Set(frontier)].filter((n) => !views.has(n));
      const recs = await Promise.all(todo.map(async (n) => (await this.extension(tenantId, n)) ?? (await this.ringGroup(tenantId, n))));
      frontier = [];
      for (const r of recs) {
        if (r === null) continue;
        views.set(r.number, r);
        frontier.push(...forwardingHops(r, numbering).map((h) => h.to));
      }
    }
    const p = forwardingProblem(item.number, (n) => views.get(n), MAX_FORWARD_DEPTH, numbering, await this.longestLead(tenantId, item.number));
    if (p !== undefined) {
      const what = p.kind === 'loop' ? 'unconditional forwarding loops' : `more than ${MAX_FORWARD_DEPTH} forwarding hops`;
      throw new KumoError('KUMO_ERR_FORWARDING_LOOP', `${p.field}: ${p.chain.join(' → ')}: ${what}`, {
        field: p.field,
        chain: p.chain,
        maxDepth: MAX_FORWARD_DEPTH,
      });
    }
  }

  /**
   * The longest chain of forwarding / overflow hops that leads to `number` (from the
   * references index, walking backwards up to the routing depth), without `number`.
   */
  private async longestLead(tenantId: string, number: string): Promise<string[]> {
    let best: string[] = [];
    const back = async (n: string, chain: string[]): Promise<void> => {
      if (chain.length > best.length) best = chain;
      if (chain.length > MAX_FORWARD_DEPTH) return;
      const from = (await this.referrersOf(tenantId, n, 100)).filter(
        (r) => (r.field.startsWith('forwarding/') || r.field === 'overflow') && r.id !== number && !chain.includes(r.id),
      );
      for (const r of from) await back(r.id, [r.id, ...chain]);
    };
    await back(number, []);
    return best;
  }

  /**
   * Delete policy of a number (extension or ring group): removed from ring group member lists
   * (unless it is the last member) and pickup groups — what an admin removing a person expects;
   * refused (409 KUMO_ERR_IN_USE, listing them) while forwarding, an overflow, a DID or a ring
   * group it is the last member of points to it — calls would go nowhere.
   */
  private async releaseMemberships(tenantId: string, resource: Resource, number: string, actor: Actor): Promise<void> {
    const refs = await this.referrersOf(tenantId, number);
    const cascade: Referrer[] = [];
    const blocking: Referrer[] = [];
    for (const r of refs) {
      if (r.field !== 'members') blocking.push(r);
      else if (r.resource === 'pickupGroup') cascade.push(r);
      else if (r.resource === 'ringGroup') {
        const g = await this.ringGroup(tenantId, r.id);
        if (g !== null && g.members.length <= 1) blocking.push(r);
        else cascade.push(r);
      } else blocking.push(r);
    }
    if (blocking.length > 0) {
      throw new KumoError('KUMO_ERR_IN_USE', `${resource} ${number} is still used`, { resource, id: number, referrers: blocking });
    }
    for (const r of cascade) {
      if (r.resource === 'ringGroup') {
        const { before, after } = await this.update<RingGroup>(tenantId, this.rgSpec(tenantId, r.id), (cur) => {
          const members = cur.members.filter((m) => m.extension !== number);
          if (members.length === 0) throw new KumoError('KUMO_ERR_IN_USE', `${resource} ${number} is still used`, { resource, id: number, referrers: [r] });
          return { ...cur, members, updatedAt: this.iso() };
        });
        await this.audit.append(tenantId, { actor, action: 'ringGroup.update', target: `ringGroup:${r.id}`, before, after });
      } else {
        const { before, after } = await this.update<PickupGroup>(tenantId, this.pgSpec(tenantId, r.id), (cur) => ({
          ...cur,
          members: cur.members.filter((m) => m !== number),
          updatedAt: this.iso(),
        }));
        await this.audit.append(tenantId, { actor, action: 'pickupGroup.update', target: `pickupGroup:${r.id}`, before, after });
      }
    }
  }

  // ---- extensions ------------------------------------------------------------------------

  private extSpec(tenantId: string, number: string, countPorts = false): EntitySpec {
    const tk = this.keys.tenant;
    return { resource: 'extension', kind: 'extension', number, member: number, index: tk.extensions(tenantId), key: tk.extension(tenantId, number), countPorts };
  }

  async createExtension(tenantId: string, v: ExtensionValue, actor: Actor): Promise<ExtensionRecord> {
    const t = await this.mustTenant(tenantId);
    await this.checkNumber(tenantId, v.number, 'extension');
    const { password, ...rest } = v;
    if (password === undefined) {
      throw new KumoError('KUMO_ERR_VALIDATION', 'password is required', { problems: [{ field: 'password', message: 'is required' }] });
    }
    await this.checkForwardingChains(tenantId, rest);
    const at = this.iso();
    const rec: ExtensionRecord = { ...rest, ...ha1Of(v.number, t.sipDomain, password), createdAt: at, updatedAt: at };
    await this.create(tenantId, this.extSpec(tenantId, v.number, true), rec);
    await this.audit.append(tenantId, { actor, action: 'extension.create', target: `extension:${v.number}`, after: rec });
    return rec;
  }

  /**
   * Replaces an extension with what `build` makes of the stored one (PUT: the body; PATCH:
   * the body merged into it). A value without password keeps the stored digests.
   */
  async replaceExtension(tenantId: string, number: string, build: (cur: ExtensionRecord) => ExtensionValue, actor: Actor): Promise<ExtensionRecord> {
    const t = await this.mustTenant(tenantId);
    let changedPassword = false;
    const { before, after } = await this.update<ExtensionRecord>(tenantId, this.extSpec(tenantId, number), async (cur) => {
      const { password, ...v } = build(cur);
      await this.checkForwardingChains(tenantId, { ...v, number });
      changedPassword = password !== undefined;
      const digests = password !== undefined ? ha1Of(number, t.sipDomain, password) : { ha1Md5: cur.ha1Md5, ha1Sha256: cur.ha1Sha256 };
      return { ...v, number, ...digests, createdAt: cur.createdAt, updatedAt: this.iso() };
    });
    await this.audit.append(tenantId, {
      actor,
      action: changedPassword ? 'extension.update+password' : 'extension.update',
      target: `extension:${number}`,
      before,
      after,
    });
    return after;
  }

  /** Deletes an extension under the delete policy of `releaseMemberships`. */
  async deleteExtension(tenantId: string, number: string, actor: Actor): Promise<void> {
    if ((await this.redis.exists(this.keys.tenant.extension(tenantId, number))) === 1) await this.releaseMemberships(tenantId, 'extension', number, actor);
    const before = await this.remove<ExtensionRecord>(tenantId, this.extSpec(tenantId, number));
    await this.audit.append(tenantId, { actor, action: 'extension.delete', target: `extension:${number}`, before });
  }

  // ---- ring groups ----------------------------------------------------------------------

  private rgSpec(tenantId: string, number: string): EntitySpec {
    const tk = this.keys.tenant;
    return { resource: 'ringGroup', kind: 'ringGroup', number, member: number, index: tk.ringGroups(tenantId), key: tk.ringGroup(tenantId, number) };
  }

  async createRingGroup(tenantId: string, v: RingGroupValue, actor: Actor): Promise<RingGroup> {
    await this.mustTenant(tenantId);
    await this.checkNumber(tenantId, v.number, 'ringGroup');
    await this.checkForwardingChains(tenantId, v);
    const at = this.iso();
    const rec: RingGroup = { ...v, createdAt: at, updatedAt: at };
    await this.create(tenantId, this.rgSpec(tenantId, v.number), rec);
    await this.audit.append(tenantId, { actor, action: 'ringGroup.create', target: `ringGroup:${v.number}`, after: rec });
    return rec;
  }

  /** Replaces a ring group with what `build` makes of the stored one (PUT / PATCH). */
  async replaceRingGroup(tenantId: string, number: string, build: (cur: RingGroup) => RingGroupValue, actor: Actor): Promise<RingGroup> {
    const { before, after } = await this.update<RingGroup>(tenantId, this.rgSpec(tenantId, number), async (cur) => {
      const v = build(cur);
      await this.checkForwardingChains(tenantId, v);
      return { ...v, number, createdAt: cur.createdAt, updatedAt: this.iso() };
    });
    await this.audit.append(tenantId, { actor, action: 'ringGroup.update', target: `ringGroup:${number}`, before, after });
    return after;
  }

  async deleteRingGroup(tenantId: string, number: string, actor: Actor): Promise<void> {
    if ((await this.redis.exists(this.keys.tenant.ringGroup(tenantId, number))) === 1) await this.releaseMemberships(tenantId, 'ringGroup', number, actor);
    const before = await this.remove<RingGroup>(tenantId, this.rgSpec(tenantId, number));
    await this.audit.append(tenantId, { actor, action: 'ringGroup.delete', target: `ringGroup:${number}`, before });
  }

  // ---- pickup groups ----------------------------------------------------------------------

  private pgSpec(tenantId: string, id: string): EntitySpec {
    const tk = this.keys.tenant;
    return { resource: 'pickupGroup', kind: '', number: '', member: id, index: tk.pickupGroups(tenantId), key: tk.pickupGroup(tenantId, id) };
  }

  async createPickupGroup(tenantId: string, v: PickupGroupInput, actor: Actor): Promise<PickupGroup> {
    const at = this.iso();
    const rec: PickupGroup = { ...v, createdAt: at, updatedAt: at };
    await this.create(tenantId, this.pgSpec(tenantId, v.id), rec);
    await this.audit.append(tenantId, { actor, action: 'pickupGroup.create', target: `pickupGroup:${v.id}`, after: rec });
    return rec;
  }

  /** Replaces a pickup group with what `build` makes of the stored one (PUT / PATCH). */
  async replacePickupGroup(tenantId: string, id: string, build: (cur: PickupGroup) => PickupGroupInput, actor: Actor): Promise<PickupGroup> {
    const { before, after } = await this.update<PickupGroup>(tenantId, this.pgSpec(tenantId, id), (cur) => ({
      ...build(cur),
      id,
      createdAt: cur.createdAt,
      updatedAt: this.iso(),
    }));
    await this.audit.append(tenantId, { actor, action: 'pickupGroup.update', target: `pickupGroup:${id}`, before, after });
    return after;
  }

  async deletePickupGroup(tenantId: string, id: string, actor: Actor): Promise<void> {
    const before = await this.remove<PickupGroup>(tenantId, this.pgSpec(tenantId, id));
    await this.audit.append(tenantId, { actor, action: 'pickupGroup.delete', target: `pickupGroup:${id}`, before });
  }

  // ---- trunks ---------------------------------------------------------------------------

  private trunkSpec(tenantId: string, id: string, channelLimit?: number): EntitySpec {
    const tk = this.keys.tenant;
    return {
      resource: 'trunk',
      kind: '',
      number: '',
      member: id,
      index: tk.trunks(tenantId),
      key: tk.trunk(tenantId, id),
      ...(channelLimit !== undefined ? { limit: { field: 'trunkChannels', value: channelLimit } } : {}),
    };
  }

  /**
   * Claims the gateways of a trunk in the global source index, by identity (transport, IP, port):
   * two trunks may share a carrier IP on different ports or transports; 409 when another trunk has
   * the same gateway.
   */
  private async claimSources(tenantId: string, trunkId: string, gateways: readonly Gateway[]): Promise<Gateway[]> {
    const ref = JSON.stringify({ tenantId, trunkId });
    const claimed: Gateway[] = [];
    for (const g of uniqueIpGateways(gateways)) {
      const id = gatewayIdentity(g);
      const ok = await this.redis.hsetnx(this.keys.global.trunkSources(), id, ref);
      if (ok === 1 || (await this.redis.hget(this.keys.global.trunkSources(), id)) === ref) {
        if (ok === 1) claimed.push(g);
        await this.redis.sadd(this.keys.global.trunkSourcesAt(g.host), id);
        // After the write: the sip workers' cached lookups of this address are stale from here.
        await this.redis.set(this.keys.global.trunkSourcesVersion(), newIndexVersion());
        continue;
      }
      await this.releaseSources(tenantId, trunkId, claimed);
      throw new KumoError('KUMO_ERR_GATEWAY_TAKEN', `gateway ${g.host}:${g.port} (${g.transport}) already belongs to another trunk`, {
        host: g.host,
        port: g.port,
        transport: g.transport,
      });
    }
    return claimed;
  }

  private async releaseSources(tenantId: string, trunkId: string, gateways: readonly Gateway[]): Promise<void> {
    const ref = JSON.stringify({ tenantId, trunkId });
    for (const g of uniqueIpGateways(gateways)) {
      const id = gatewayIdentity(g);
      if ((await this.lua.kumoHdelIf(this.keys.global.trunkSources(), id, ref)) === 1) await this.redis.srem(this.keys.global.trunkSourcesAt(g.host), id);
    }
    if (gateways.length > 0) await this.redis.set(this.keys.global.trunkSourcesVersion(), newIndexVersion());
  }

  /** The registration password sealed with the secret key (when one is configured), as stored. */
  private sealTrunk(t: TrunkRecord): TrunkRecord {
    const r = t.registration;
    if (!r || !this.secrets || isSealed(r.password)) return t;
    return { ...t, registration: { ...r, password: this.secrets.seal(r.password) } };
  }

  async createTrunk(tenantId: string, v: TrunkValue, actor: Actor): Promise<TrunkRecord> {
    await this.mustTenant(tenantId);
    const claimed = await this.claimSources(tenantId, v.id, v.gateways);
    const at = this.iso();
    const rec: TrunkRecord = { ...v, createdAt: at, updatedAt: at };
    try {
      await this.create(tenantId, this.trunkSpec(tenantId, v.id, v.channelLimit), this.sealTrunk(rec));
    } catch (e) {
      await this.releaseSources(tenantId, v.id, claimed);
      throw e;
    }
    await this.audit.append(tenantId, { actor, action: 'trunk.create', target: `trunk:${v.id}`, after: rec });
    return rec;
  }

  /** Replaces a trunk with what `build` makes of the stored one (PUT / PATCH). */
  async replaceTrunk(tenantId: string, id: string, build: (cur: TrunkRecord) => TrunkValue, actor: Actor): Promise<TrunkRecord> {
    const cur0 = await this.trunk(tenantId, id);
    if (cur0 === null) {
      await this.mustTenant(tenantId);
      fail(['ERR', 'NOT_FOUND'], { tenantId, resource: 'trunk', id });
    }
    const first = build(cur0);
    const claimed = await this.claimSources(tenantId, id, first.gateways);
    let res: { before: TrunkRecord; after: TrunkRecord };
    try {
      res = await this.update<TrunkRecord>(tenantId, this.trunkSpec(tenantId, id, first.channelLimit), (cur) =>
        this.sealTrunk({
          ...build(this.openTrunk(cur) as TrunkRecord),
          id,
          createdAt: cur.createdAt,
          updatedAt: this.iso(),
        }),
      );
    } catch (e) {
      await this.releaseSources(tenantId, id, claimed);
      throw e;
    }
    const keep = new Set(res.after.gateways.map(gatewayIdentity));
    await this.releaseSources(tenantId, id, res.before.gateways.filter((g) => !keep.has(gatewayIdentity(g))));
    await this.audit.append(tenantId, { actor, action: 'trunk.update', target: `trunk:${id}`, before: res.before, after: res.after });
    return this.openTrunk(res.after) as TrunkRecord;
  }

  async deleteTrunk(tenantId: string, id: string, actor: Actor): Promise<void> {
    const before = await this.remove<TrunkRecord>(tenantId, this.trunkSpec(tenantId, id));
    await this.releaseSources(tenantId, id, before.gateways);
    await this.audit.append(tenantId, { actor, action: 'trunk.delete', target: `trunk:${id}`, before });
  }

  // ---- DIDs ------------------------------------------------------------------------------

  private didSpec(tenantId: string, number: string): EntitySpec {
    const tk = this.keys.tenant;
    return { resource: 'did', kind: '', number: '', member: number, index: tk.dids(tenantId), key: tk.did(tenantId, number) };
  }

  async createDid(tenantId: string, v: DidValue, actor: Actor): Promise<Did> {
    await this.mustTenant(tenantId);
    const g = this.keys.global.dids();
    const claimed = await this.redis.hsetnx(g, v.number, tenantId);
    if (claimed === 0 && (await this.redis.hget(g, v.number)) !== tenantId) {
      throw new KumoError('KUMO_ERR_DID_TAKEN', `DID ${v.number} belongs to another tenant`, { number: v.number });
    }
    const at = this.iso();
    const rec: Did = { ...v, createdAt: at, updatedAt: at };
    try {
      await this.create(tenantId, this.didSpec(tenantId, v.number), rec);
    } catch (e) {
      if (claimed === 1) await this.lua.kumoHdelIf(g, v.number, tenantId);
      throw e;
    }
    await this.audit.append(tenantId, { actor, action: 'did.create', target: `did:${v.number}`, after: rec });
    return rec;
  }

  /** Replaces a DID with what `build` makes of the stored one (PUT / PATCH). */
  async replaceDid(tenantId: string, number: string, build: (cur: Did) => DidValue, actor: Actor): Promise<Did> {
    const { before, after } = await this.update<Did>(tenantId, this.didSpec(tenantId, number), (cur) => ({
      ...build(cur),
      number,
      createdAt: cur.createdAt,
      updatedAt: this.iso(),
    }));
    await this.audit.append(tenantId, { actor, action: 'did.update', target: `did:${number}`, before, after });
    return after;
  }

  async deleteDid(tenantId: string, number: string, actor: Actor): Promise<void> {
    const before = await this.remove<Did>(tenantId, this.didSpec(tenantId, number));
    await this.lua.kumoHdelIf(this.keys.global.dids(), number, tenantId);
    await this.audit.append(tenantId, { actor, action: 'did.delete', target: `did:${number}`, before });
  }

  // ---- numbering plan ------------------------------------------------------------------------

  async setNumberingPlan(tenantId: string, plan: NumberingPlan, actor: Actor): Promise<NumberingPlan> {
    const before = await this.numberingPlan(tenantId);
    const oldCodes = featureCodeEntries(before.featureCodes).map(([, c]) => c);
    const newCodes = featureCodeEntries(plan.featureCodes).map(([, c]) => c);
    const prefixes = [plan.outsideLinePrefix, plan.featureCodes.directedPickup].filter((p) => /^[0-9]+$/.test(p));
    const tk = this.keys.tenant;
    const r = await this.lua.kumoSetPlan(
      tk.record(tenantId),
      tk.numbers(tenantId),
      tk.numberingPlan(tenantId),
      tk.extensions(tenantId),
      tk.ringGroups(tenantId),
      JSON.stringify(plan),
      String(plan.extensionLength),
      String(oldCodes.length),
      ...oldCodes,
      String(newCodes.length),
      ...newCodes,
      ...prefixes,
    );
    if (r[0] !== 'OK') fail(r, { tenantId });
    await this.audit.append(tenantId, { actor, action: 'numberingPlan.update', target: 'numberingPlan', before, after: plan });
    return plan;
  }
}
