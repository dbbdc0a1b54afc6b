import { createHash } from 'node:crypto';
import {
  DEFAULT_NUMBERING_PLAN,
  digestA1Input,
  featureCodeEntries,
  numberConflict,
  numberProblem,
  type Did,
  type DidValue,
  type ExtensionPatch,
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
import type { KeySchema } from '../keys.js';
import { ApiKeyRepo } from './apikeys.js';
import { gatewayIdentity, uniqueIpGateways } from './directory.js';
import { AuditRepo, type Actor } from './audit.js';
import { DirectoryRepo } from './directory.js';
import { DEFAULT_BILLING_RETENTION_MS, TenantDataLifecycle, type PurgeResult } from '../lifecycle/tenant-data.js';
import { provisioningScripts, type LuaReply, type ProvisioningScripts } from './lua.js';

/** HA1 values for digest auth: hex MD5 and SHA-256 of `user:realm:password`. */
export function ha1Of(user: string, realm: string, password: string): { ha1Md5: string; ha1Sha256: string } {
  const a1 = digestA1Input(user, realm, password);
  return {
    ha1Md5: createHash('md5').update(a1, 'utf8').digest('hex'),
    ha1Sha256: createHash('sha256').update(a1, 'utf8').digest('hex'),
  };
}

type Kind = 'extension' | 'ringGroup' | '';

interface EntitySpec {
  readonly kind: Kind;
  /** Number-space number ('' when the entity has none). */
  readonly number: string;
  /** Index member (id or number). */
  readonly member: string;
  readonly index: string;
  readonly key: string;
  readonly countPorts?: boolean;
  readonly limit?: { field: string; value: number };
  readonly refs?: readonly (readonly [string, 'extension' | 'ringGroup'])[];
}

const ERR_MAP: Record<string, { code: `KUMO_ERR_${string}`; message: (d: string[]) => string }> = {
  TENANT_NOT_FOUND: { code: 'KUMO_ERR_NOT_FOUND', message: () => 'tenant not found' },
  TENANT_TERMINATED: { code: 'KUMO_ERR_TENANT_TERMINATED', message: () => 'the tenant is terminated' },
  NOT_FOUND: { code: 'KUMO_ERR_NOT_FOUND', message: () => 'not found' },
  EXISTS: { code: 'KUMO_ERR_EXISTS', message: () => 'already exists' },
  NUMBER_TAKEN: { code: 'KUMO_ERR_NUMBER_TAKEN', message: (d) => `the number is already used by a ${d[0] ?? 'number'}` },
  PORT_LIMIT: { code: 'KUMO_ERR_PORT_LIMIT', message: (d) => `the contract allows ${d[0] ?? '?'} extensions (ports)` },
  UNKNOWN_REFERENCE: { code: 'KUMO_ERR_UNKNOWN_REFERENCE', message: (d) => `${d[0] ?? '?'} is not a ${d[1] ?? 'known number'}` },
  CONTRACT_LIMIT: { code: 'KUMO_ERR_CONTRACT_LIMIT', message: (d) => `exceeds the contract's ${d[0] ?? ''} (${d[1] ?? '?'})` },
  PORTS_BELOW_PROVISIONED: {
    code: 'KUMO_ERR_PORTS_BELOW_PROVISIONED',
    message: (d) => `ports cannot be lowered below the ${d[0] ?? '?'} provisioned extensions`,
  },
  PLAN_CONFLICT: { code: 'KUMO_ERR_PLAN_CONFLICT', message: (d) => `the numbering plan conflicts with existing number ${d[1] ?? ''} (${d[0] ?? ''})` },
};

function fail(reply: LuaReply, extra: Record<string, unknown> = {}): never {
  const [, what = 'UNKNOWN', ...rest] = reply;
  const m = ERR_MAP[what];
  if (!m) throw new KumoError('KUMO_ERR_INTERNAL', `unexpected store reply ${what}`);
  throw new KumoError(m.code, m.message(rest), { ...extra, ...(rest.length > 0 ? { reason: rest } : {}) });
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

  async createTenant(v: TenantValue, actor: Actor): Promise<Tenant> {
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
    await this.redis.zadd(k.global.tenants(), 0, v.id);
    const r = await this.lua.kumoCreateTenant(k.tenant.record(v.id), k.tenant.numbers(v.id), String(fields.length / 2), ...fields, ...codes);
    if (r[0] !== 'OK') {
      if (claimed === 1) await this.lua.kumoHdelIf(k.global.sipDomains(), v.sipDomain, v.id);
      fail(r, { tenantId: v.id });
    }
    await this.audit.append(v.id, { actor, action: 'tenant.create', target: `tenant:${v.id}`, after: t });
    return t;
  }

  private async mustTenant(id: string): Promise<Tenant> {
    const t = await this.tenantById(id);
    if (t === null) throw new KumoError('KUMO_ERR_NOT_FOUND', 'tenant not found', { tenantId: id });
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

  private async put(tenantId: string, s: EntitySpec, mode: 'create' | 'update' | 'delete', json = '', expected = ''): Promise<LuaReply> {
    const refs = (s.refs ?? []).flatMap(([n, kind]) => [n, kind]);
    return this.lua.kumoPutEntity(
      this.keys.tenant.record(tenantId),
      this.keys.tenant.numbers(tenantId),
      s.index,
      s.key,
      s.kind,
      s.number,
      mode,
      json,
      expected,
      s.countPorts === true ? '1' : '0',
      s.limit?.field ?? '',
      String(s.limit?.value ?? 0),
      s.member,
      ...refs,
    );
  }

  /** Read-modify-write with compare-and-set; retried on concurrent change. */
  private async update<T>(tenantId: string, s: EntitySpec, change: (cur: T) => T | Promise<T>): Promise<{ before: T; after: T }> {
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const raw = await this.redis.get(s.key);
      if (raw === null) {
        await this.mustTenant(tenantId);
        throw new KumoError('KUMO_ERR_NOT_FOUND', 'not found', { target: s.member });
      }
      const before = JSON.parse(raw) as T;
      const after = await change(before);
      const r = await this.put(tenantId, s, 'update', JSON.stringify(after), raw);
      if (r[0] === 'OK') return { before, after };
      if (r[1] !== 'RETRY') fail(r, { tenantId });
    }
    throw new KumoError('KUMO_ERR_CONCURRENT_UPDATE', 'the record changed concurrently too often; retry');
  }

  private async remove<T>(tenantId: string, s: EntitySpec): Promise<T> {
    const r = await this.put(tenantId, s, 'delete');
    if (r[0] !== 'OK') fail(r, { tenantId });
    return JSON.parse(r[1] ?? 'null') as T;
  }

  private async create(tenantId: string, s: EntitySpec, value: unknown): Promise<void> {
    const r = await this.put(tenantId, s, 'create', JSON.stringify(value));
    if (r[0] !== 'OK') fail(r, { tenantId });
  }

  private async checkNumber(tenantId: string, number: string, kind: 'extension' | 'ringGroup'): Promise<void> {
    const plan = await this.numberingPlan(tenantId);
    const problem = numberProblem(number, plan, kind);
    if (problem !== undefined) {
      throw new KumoError('KUMO_ERR_VALIDATION', `number ${number} ${problem}`, { problems: [{ field: 'number', message: problem }] });
    }
    const conflict = numberConflict(number, plan);
    if (conflict !== undefined) {
      throw new KumoError('KUMO_ERR_NUMBER_RESERVED', `number ${number} ${conflict}`, { number });
    }
  }

  // ---- extensions ------------------------------------------------------------------------

  private extSpec(tenantId: string, number: string, countPorts = false): EntitySpec {
    const tk = this.keys.tenant;
    return { kind: 'extension', number, member: number, index: tk.extensions(tenantId), key: tk.extension(tenantId, number), countPorts };
  }

  async createExtension(tenantId: string, v: ExtensionValue, actor: Actor): Promise<ExtensionRecord> {
    const t = await this.mustTenant(tenantId);
    await this.checkNumber(tenantId, v.number, 'extension');
    const at = this.iso();
    const { password, ...rest } = v;
    const rec: ExtensionRecord = { ...rest, ...ha1Of(v.number, t.sipDomain, password), createdAt: at, updatedAt: at };
    await this.create(tenantId, this.extSpec(tenantId, v.number, true), rec);
    await this.audit.append(tenantId, { actor, action: 'extension.create', target: `extension:${v.number}`, after: rec });
    return rec;
  }

  async updateExtension(tenantId: string, number: string, patch: ExtensionPatch, actor: Actor): Promise<ExtensionRecord> {
    const t = await this.mustTenant(tenantId);
    const { before, after } = await this.update<ExtensionRecord>(tenantId, this.extSpec(tenantId, number), (cur) => {
      const { password, outboundCallerId, ...rest } = patch;
      const next: Record<string, unknown> = { ...cur, ...rest, updatedAt: this.iso() };
      if (outboundCallerId !== undefined) {
        if (outboundCallerId === '') delete next.outboundCallerId;
        else next.outboundCallerId = outboundCallerId;
      }
      if (password !== undefined) Object.assign(next, ha1Of(number, t.sipDomain, password));
      return next as unknown as ExtensionRecord;
    });
    await this.audit.append(tenantId, {
      actor,
      action: patch.password !== undefined ? 'extension.update+password' : 'extension.update',
      target: `extension:${number}`,
      before,
      after,
    });
    return after;
  }

  async deleteExtension(tenantId: string, number: string, actor: Actor): Promise<void> {
    const before = await this.remove<ExtensionRecord>(tenantId, this.extSpec(tenantId, number));
    await this.audit.append(tenantId, { actor, action: 'extension.delete', target: `extension:${number}`, before });
  }

  // ---- ring groups ----------------------------------------------------------------------

  private rgSpec(tenantId: string, v: Pick<RingGroupValue, 'number'> & Partial<RingGroupValue>): EntitySpec {
    const tk = this.keys.tenant;
    return {
      kind: 'ringGroup',
      number: v.number,
      member: v.number,
      index: tk.ringGroups(tenantId),
      key: tk.ringGroup(tenantId, v.number),
      refs: (v.members ?? []).map((m) => [m.extension, 'extension'] as const),
    };
  }

  async createRingGroup(tenantId: string, v: RingGroupValue, actor: Actor): Promise<RingGroup> {
    await this.mustTenant(tenantId);
    await this.checkNumber(tenantId, v.number, 'ringGroup');
    const at = this.iso();
    const rec: RingGroup = { ...v, createdAt: at, updatedAt: at };
    await this.create(tenantId, this.rgSpec(tenantId, v), rec);
    await this.audit.append(tenantId, { actor, action: 'ringGroup.create', target: `ringGroup:${v.number}`, after: rec });
    return rec;
  }

  async replaceRingGroup(tenantId: string, v: RingGroupValue, actor: Actor): Promise<RingGroup> {
    const { before, after } = await this.update<RingGroup>(tenantId, this.rgSpec(tenantId, v), (cur) => ({
      ...v,
      createdAt: cur.createdAt,
      updatedAt: this.iso(),
    }));
    await this.audit.append(tenantId, { actor, action: 'ringGroup.update', target: `ringGroup:${v.number}`, before, after });
    return after;
  }

  async deleteRingGroup(tenantId: string, number: string, actor: Actor): Promise<void> {
    const before = await this.remove<RingGroup>(tenantId, this.rgSpec(tenantId, { number }));
    await this.audit.append(tenantId, { actor, action: 'ringGroup.delete', target: `ringGroup:${number}`, before });
  }

  // ---- pickup groups ----------------------------------------------------------------------

  private pgSpec(tenantId: string, v: Pick<PickupGroupInput, 'id'> & Partial<PickupGroupInput>): EntitySpec {
    const tk = this.keys.tenant;
    return {
      kind: '',
      number: '',
      member: v.id,
      index: tk.pickupGroups(tenantId),
      key: tk.pickupGroup(tenantId, v.id),
      refs: (v.members ?? []).map((m) => [m, 'extension'] as const),
    };
  }

  async createPickupGroup(tenantId: string, v: PickupGroupInput, actor: Actor): Promise<PickupGroup> {
    const at = this.iso();
    const rec: PickupGroup = { ...v, createdAt: at, updatedAt: at };
    await this.create(tenantId, this.pgSpec(tenantId, v), rec);
    await this.audit.append(tenantId, { actor, action: 'pickupGroup.create', target: `pickupGroup:${v.id}`, after: rec });
    return rec;
  }

  async replacePickupGroup(tenantId: string, v: PickupGroupInput, actor: Actor): Promise<PickupGroup> {
    const { before, after } = await this.update<PickupGroup>(tenantId, this.pgSpec(tenantId, v), (cur) => ({
      ...v,
      createdAt: cur.createdAt,
      updatedAt: this.iso(),
    }));
    await this.audit.append(tenantId, { actor, action: 'pickupGroup.update', target: `pickupGroup:${v.id}`, before, after });
    return after;
  }

  async deletePickupGroup(tenantId: string, id: string, actor: Actor): Promise<void> {
    const before = await this.remove<PickupGroup>(tenantId, this.pgSpec(tenantId, { id }));
    await this.audit.append(tenantId, { actor, action: 'pickupGroup.delete', target: `pickupGroup:${id}`, before });
  }

  // ---- trunks ---------------------------------------------------------------------------

  private trunkSpec(tenantId: string, id: string, channelLimit?: number): EntitySpec {
    const tk = this.keys.tenant;
    return {
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
  }

  async createTrunk(tenantId: string, v: TrunkValue, actor: Actor): Promise<TrunkRecord> {
    await this.mustTenant(tenantId);
    const claimed = await this.claimSources(tenantId, v.id, v.gateways);
    const at = this.iso();
    const rec: TrunkRecord = { ...v, createdAt: at, updatedAt: at };
    try {
      await this.create(tenantId, this.trunkSpec(tenantId, v.id, v.channelLimit), rec);
    } catch (e) {
      await this.releaseSources(tenantId, v.id, claimed);
      throw e;
    }
    await this.audit.append(tenantId, { actor, action: 'trunk.create', target: `trunk:${v.id}`, after: rec });
    return rec;
  }

  /** Replaces a trunk. A registration without password keeps the stored password. */
  async replaceTrunk(tenantId: string, v: TrunkValue, actor: Actor): Promise<TrunkRecord> {
    const claimed = await this.claimSources(tenantId, v.id, v.gateways);
    let res: { before: TrunkRecord; after: TrunkRecord };
    try {
      res = await this.update<TrunkRecord>(tenantId, this.trunkSpec(tenantId, v.id, v.channelLimit), (cur) => ({
        ...v,
        createdAt: cur.createdAt,
        updatedAt: this.iso(),
      }));
    } catch (e) {
      await this.releaseSources(tenantId, v.id, claimed);
      throw e;
    }
    const keep = new Set(v.gateways.map(gatewayIdentity));
    await this.releaseSources(tenantId, v.id, res.before.gateways.filter((g) => !keep.has(gatewayIdentity(g))));
    await this.audit.append(tenantId, { actor, action: 'trunk.update', target: `trunk:${v.id}`, before: res.before, after: res.after });
    return res.after;
  }

  async deleteTrunk(tenantId: string, id: string, actor: Actor): Promise<void> {
    const before = await this.remove<TrunkRecord>(tenantId, this.trunkSpec(tenantId, id));
    await this.releaseSources(tenantId, id, before.gateways);
    await this.audit.append(tenantId, { actor, action: 'trunk.delete', target: `trunk:${id}`, before });
  }

  // ---- DIDs ------------------------------------------------------------------------------

  private didSpec(tenantId: string, number: string, target?: DidValue['target']): EntitySpec {
    const tk = this.keys.tenant;
    return {
      kind: '',
      number: '',
      member: number,
      index: tk.dids(tenantId),
      key: tk.did(tenantId, number),
      ...(target !== undefined ? { refs: [[target.number, target.type]] as const } : {}),
    };
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
      await this.create(tenantId, this.didSpec(tenantId, v.number, v.target), rec);
    } catch (e) {
      if (claimed === 1) await this.lua.kumoHdelIf(g, v.number, tenantId);
      throw e;
    }
    await this.audit.append(tenantId, { actor, action: 'did.create', target: `did:${v.number}`, after: rec });
    return rec;
  }

  async replaceDid(tenantId: string, v: DidValue, actor: Actor): Promise<Did> {
    const { before, after } = await this.update<Did>(tenantId, this.didSpec(tenantId, v.number, v.target), (cur) => ({
      ...v,
      createdAt: cur.createdAt,
      updatedAt: this.iso(),
    }));
    await this.audit.append(tenantId, { actor, action: 'did.update', target: `did:${v.number}`, before, after });
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
