import {
  DEFAULT_NUMBERING_PLAN,
  canonicalHost,
  gatewayIdentity,
  isDigestPolicy,
  isIpLiteral,
  isTenantStatus,
  normalizeE164,
  type Did,
  type ExtensionRecord,
  type Gateway,
  type NumberKind,
  type NumberingPlan,
  type PickupGroup,
  type RestrictionLevel,
  type RingGroup,
  type Tenant,
  type TrunkRecord,
} from '@kumo/domain';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';
import { isSealed, type SecretBox } from './secrets.js';

/** One page of a list: `next` is the cursor for the following page, null at the end. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next: string | null;
}

export interface PageQuery {
  /** Exclusive cursor: the last id/number of the previous page. */
  readonly after?: string | undefined;
  /** 1–1000, default 100. */
  readonly limit?: number | undefined;
}

export interface TrunkMatch {
  readonly tenantId: string;
  readonly trunk: TrunkRecord;
}

/** One entry of the trunk-source index at an address (`gatewayRefsAt`). */
export interface GatewayRef {
  readonly tenantId: string;
  readonly trunkId: string;
  /** The gateway's identity at that address; absent for a legacy entry (every gateway of the trunk there). */
  readonly gateway?: Pick<Gateway, 'port' | 'transport'>;
}

/** A trunk gateway a request may have come from (`trunksAtSource`). */
export interface GatewayMatch extends TrunkMatch {
  readonly gateway: Pick<Gateway, 'host' | 'port' | 'transport'>;
  /** The source port is the gateway's port (for UDP the carrier's signalling port: nobody else can send from it). */
  readonly exactPort: boolean;
}

/** A gateway's identity in the source index: transport, IP literal, port (one rule, in the domain). */
export { gatewayIdentity };

/** The gateways given as IP literals (only those identify inbound requests), each identity once. */
export function uniqueIpGateways<G extends Pick<Gateway, 'host' | 'port' | 'transport'>>(gateways: readonly G[]): G[] {
  const seen = new Set<string>();
  return gateways.filter((g) => {
    const id = gatewayIdentity(g);
    if (!isIpLiteral(g.host) || seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function sourceHost(ip: string): string {
  const host = canonicalHost(ip);
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}

export interface DidMatch {
  readonly tenantId: string;
  readonly did: Did;
}

/** Parses the tenant hash written by `ProvisioningRepo`; null when absent. */
export function tenantFromHash(h: Record<string, string>): Tenant | null {
  if (h.id === undefined || h.sipDomain === undefined) return null;
  const status = h.status ?? 'active';
  return {
    id: h.id,
    name: h.name ?? '',
    sipDomain: h.sipDomain,
    ports: Number(h.ports ?? 0),
    trunkChannels: Number(h.trunkChannels ?? 0),
    callsPerSecond: Number(h.callsPerSecond ?? 0),
    status: isTenantStatus(status) ? status : 'active',
    restrictionLevel: Math.min(3, Math.max(0, Number(h.restrictionLevel ?? 0))) as RestrictionLevel,
    notes: h.notes ?? '',
    ...(isDigestPolicy(h.digestAlgorithms) ? { digestAlgorithms: h.digestAlgorithms } : {}),
    // '0' (a PATCH back to the platform's maximum) reads as unset.
    ...(Number(h.maxCallSeconds) > 0 ? { maxCallSeconds: Number(h.maxCallSeconds) } : {}),
    createdAt: h.createdAt ?? '',
    updatedAt: h.updatedAt ?? '',
  };
}

function parse<T>(s: string | null | undefined): T | null {
  if (s === null || s === undefined) return null;
  return JSON.parse(s) as T;
}

/** ZRANGEBYLEX bounds for an exclusive cursor. */
function lexFrom(after: string | undefined): string {
  return after === undefined || after === '' ? '-' : `(${after}`;
}

function pageLimit(q: PageQuery): number {
  const l = q.limit ?? 100;
  return Math.min(1000, Math.max(1, Math.trunc(l)));
}

/**
 * Read side of the provisioning data, for every process (sip registrar and call control,
 * admission, billing, the api itself). Every method is one or two round trips, reads only
 * indexes and records (no KEYS/SCAN), and returns `null` for "not there".
 *
 * ```ts
 * const dir = new DirectoryRepo(redis, keySchema(prefix));
 * const t = await dir.tenantByDomain('demo.kumo.test');
 * const ext = t && (await dir.extension(t.id, '1001')); // ext.ha1Md5 for digest auth
 * ```
 */
export class DirectoryRepo {
  /** Opens encrypted secrets on reading (trunk registration passwords); see `useSecrets`. */
  protected secrets: SecretBox | undefined;

  constructor(
    protected readonly redis: RedisClient,
    protected readonly keys: KeySchema,
  ) {}

  /**
   * Seals secrets on writing and opens them on reading with `box` (KUMO_SECRET_KEY). Without a box,
   * secrets are written in clear and sealed ones are returned as stored. Returns this repo.
   */
  useSecrets(box: SecretBox | undefined): this {
    this.secrets = box;
    return this;
  }

  /** A trunk as stored → as used (registration password opened). */
  protected openTrunk(t: TrunkRecord | null): TrunkRecord | null {
    const r = t?.registration;
    if (!t || !r || !this.secrets || !isSealed(r.password)) return t;
    return { ...t, registration: { ...r, password: this.secrets.open(r.password) } };
  }

  // ---- tenants -------------------------------------------------------------------------

  async tenantById(tenantId: string): Promise<Tenant | null> {
    return tenantFromHash(await this.redis.hgetall(this.keys.tenant.record(tenantId)));
  }

  /** SIP domain / digest realm → tenant (case-insensitive). */
  async tenantByDomain(domain: string): Promise<Tenant | null> {
    const id = await this.redis.hget(this.keys.global.sipDomains(), domain.trim().toLowerCase());
    return id === null ? null : this.tenantById(id);
  }

  /**
   * The tenant id this process last found for a SIP domain, without a round trip, or undefined. Only a
   * hint for reads that may go out early (the authentication step's): `tenantByDomain` is the authority.
   */
  knownTenantIdOf(_domain: string): string | undefined {
    return undefined;
  }

  /**
   * An extension record this process already holds (a cache), without a round trip, or undefined. Only a
   * hint, like `knownTenantIdOf`: what the authentication step may check early; `extension` is the authority.
   */
  cachedExtension(_tenantId: string, _number: string): Promise<ExtensionRecord | null> | undefined {
    return undefined;
  }

  async listTenants(q: PageQuery = {}): Promise<Page<Tenant>> {
    const limit = pageLimit(q);
    const ids = await this.redis.zrangebylex(this.keys.global.tenants(), lexFrom(q.after), '+', 'LIMIT', 0, limit);
    const items = (await Promise.all(ids.map((id) => this.tenantById(id)))).filter((t): t is Tenant => t !== null);
    return { items, next: ids.length === limit ? (ids[ids.length - 1] ?? null) : null };
  }

  /** Platform-wide restriction level (0 when never set). */
  async platformRestrictionLevel(): Promise<RestrictionLevel> {
    const v = Number((await this.redis.get(this.keys.global.restrictionLevel())) ?? 0);
    return (Number.isInteger(v) && v >= 0 && v <= 3 ? v : 0) as RestrictionLevel;
  }

  // ---- number space ----------------------------------------------------------------------

  /** What a number is in the tenant: an extension, a ring group, a feature code, or null. */
  async numberKind(tenantId: string, number: string): Promise<NumberKind | null> {
    return (await this.redis.hget(this.keys.tenant.numbers(tenantId), number)) as NumberKind | null;
  }

  async numberingPlan(tenantId: string): Promise<NumberingPlan> {
    return parse<NumberingPlan>(await this.redis.get(this.keys.tenant.numberingPlan(tenantId))) ?? DEFAULT_NUMBERING_PLAN;
  }

  // ---- extensions ------------------------------------------------------------------------

  /** The extension including its HA1 values (`ha1Md5`, `ha1Sha256`) for digest authentication. */
  async extension(tenantId: string, number: string): Promise<ExtensionRecord | null> {
    return parse<ExtensionRecord>(await this.redis.get(this.keys.tenant.extension(tenantId, number)));
  }

  async listExtensions(tenantId: string, q: PageQuery = {}): Promise<Page<ExtensionRecord>> {
    return this.page(tenantId, this.keys.tenant.extensions(tenantId), (n) => this.keys.tenant.extension(tenantId, n), q);
  }

  async countExtensions(tenantId: string): Promise<number> {
    return this.redis.zcard(this.keys.tenant.extensions(tenantId));
  }

  // ---- groups ----------------------------------------------------------------------------

  async ringGroup(tenantId: string, number: string): Promise<RingGroup | null> {
    return parse<RingGroup>(await this.redis.get(this.keys.tenant.ringGroup(tenantId, number)));
  }

  async listRingGroups(tenantId: string, q: PageQuery = {}): Promise<Page<RingGroup>> {
    return this.page(tenantId, this.keys.tenant.ringGroups(tenantId), (n) => this.keys.tenant.ringGroup(tenantId, n), q);
  }

  async pickupGroup(tenantId: string, groupId: string): Promise<PickupGroup | null> {
    return parse<PickupGroup>(await this.redis.get(this.keys.tenant.pickupGroup(tenantId, groupId)));
  }

  /** Every pickup group of the tenant (small: at most a few hundred). */
  async pickupGroups(tenantId: string): Promise<PickupGroup[]> {
    return this.all<PickupGroup>(this.keys.tenant.pickupGroups(tenantId), (id) => this.keys.tenant.pickupGroup(tenantId, id));
  }

  /** The pickup groups an extension belongs to. */
  async pickupGroupsOf(tenantId: string, extension: string): Promise<PickupGroup[]> {
    return (await this.pickupGroups(tenantId)).filter((g) => g.members.includes(extension));
  }

  async listPickupGroups(tenantId: string, q: PageQuery = {}): Promise<Page<PickupGroup>> {
    return this.page(tenantId, this.keys.tenant.pickupGroups(tenantId), (n) => this.keys.tenant.pickupGroup(tenantId, n), q);
  }

  // ---- trunks ----------------------------------------------------------------------------

  async trunk(tenantId: string, trunkId: string): Promise<TrunkRecord | null> {
    return this.openTrunk(parse<TrunkRecord>(await this.redis.get(this.keys.tenant.trunk(tenantId, trunkId))));
  }

  /** Every trunk of the tenant (with registration credentials), in id order. */
  async trunks(tenantId: string): Promise<TrunkRecord[]> {
    const all = await this.all<TrunkRecord>(this.keys.tenant.trunks(tenantId), (id) => this.keys.tenant.trunk(tenantId, id));
    return all.map((t) => this.openTrunk(t) as TrunkRecord);
  }

  async listTrunks(tenantId: string, q: PageQuery = {}): Promise<Page<TrunkRecord>> {
    return this.page(tenantId, this.keys.tenant.trunks(tenantId), (n) => this.keys.tenant.trunk(tenantId, n), q);
  }

  /**
   * The first trunk (in identity order) with a gateway at this IP, any port or transport. Gateways
   * given as host names are not indexed. IPv4-mapped IPv6 (`::ffff:192.0.2.1`) is matched as IPv4.
   * The call path uses `trunksAtSource`, which also weighs port and transport.
   */
  async trunkBySourceAddress(ip: string): Promise<TrunkMatch | null> {
    const all = await this.gatewaysAt(sourceHost(ip));
    return all[0] ?? null;
  }

  /**
   * Inbound trunk identification by gateway identity: the trunks with a gateway at the source IP on
   * the transport the request came over. A gateway whose port is the source port is an exact match
   * (listed first); over TCP/TLS the source port is the carrier's ephemeral one, so every gateway at
   * the address on that transport is a candidate, and the caller decides by the called number.
   */
  async trunksAtSource(ip: string, port: number, transport: string): Promise<GatewayMatch[]> {
    const t = transport.toLowerCase();
    const all = (await this.gatewaysAt(sourceHost(ip))).filter((m) => m.gateway.transport === t);
    const exact = all.filter((m) => m.gateway.port === port).map((m) => ({ ...m, exactPort: true }));
    return [...exact, ...all.filter((m) => m.gateway.port !== port)];
  }

  private async gatewaysAt(host: string): Promise<GatewayMatch[]> {
    const refs = await this.gatewayRefsAt(host);
    if (refs.length === 0) return [];
    const out: GatewayMatch[] = [];
    const trunks = new Map<string, Promise<TrunkRecord | null>>();
    for (const ref of refs) {
      const k = `${ref.tenantId}/${ref.trunkId}`;
      if (!trunks.has(k)) trunks.set(k, this.trunk(ref.tenantId, ref.trunkId));
      const trunk = await trunks.get(k);
      if (!trunk) continue;
      if (ref.gateway) out.push({ tenantId: ref.tenantId, trunk, gateway: { host, ...ref.gateway }, exactPort: false });
      // Index written before gateways had an identity (field = IP only): every gateway of that trunk at this IP.
      else for (const g of trunk.gateways) if (g.host === host) out.push({ tenantId: ref.tenantId, trunk, gateway: g, exactPort: false });
    }
    return out;
  }

  /**
   * The trunk-source index at one IP literal: the trunks with a gateway there, by identity (in identity
   * order), or the legacy entry (no `gateway`: every gateway of that trunk at this IP).
   */
  protected async gatewayRefsAt(host: string): Promise<readonly GatewayRef[]> {
    // Both indexes in one round trip: most requests come from phones, at no gateway's address.
    const [members, legacyRef] = await Promise.all([this.redis.smembers(this.keys.global.trunkSourcesAt(host)), this.redis.hget(this.keys.global.trunkSources(), host)]);
    const ids = members.sort();
    if (ids.length === 0) {
      const legacy = parse<{ tenantId: string; trunkId: string }>(legacyRef);
      return legacy ? [{ tenantId: legacy.tenantId, trunkId: legacy.trunkId }] : [];
    }
    const refs = await this.redis.hmget(this.keys.global.trunkSources(), ...ids);
    const out: GatewayRef[] = [];
    for (let i = 0; i < ids.length; i++) {
      const ref = parse<{ tenantId: string; trunkId: string }>(refs[i] ?? null);
      const [transport = '', , port = ''] = (ids[i] as string).split('|');
      if (ref !== null) out.push({ tenantId: ref.tenantId, trunkId: ref.trunkId, gateway: { port: Number(port), transport: transport as Gateway['transport'] } });
    }
    return out;
  }

  // ---- DIDs ------------------------------------------------------------------------------

  /**
   * An inbound called number → tenant and DID. Accepts E.164 (`+81312345678`), national
   * (`0312345678`) and E.164 without `+` (`81312345678`).
   */
  async didLookup(number: string): Promise<DidMatch | null> {
    const e164 = didKeyOf(number);
    if (e164 === undefined) return null;
    const tenantId = await this.redis.hget(this.keys.global.dids(), e164);
    if (tenantId === null) return null;
    const did = parse<Did>(await this.redis.get(this.keys.tenant.did(tenantId, e164)));
    return did === null ? null : { tenantId, did };
  }

  async did(tenantId: string, number: string): Promise<Did | null> {
    const e164 = didKeyOf(number);
    return e164 === undefined ? null : parse<Did>(await this.redis.get(this.keys.tenant.did(tenantId, e164)));
  }

  async listDids(tenantId: string, q: PageQuery = {}): Promise<Page<Did>> {
    return this.page(tenantId, this.keys.tenant.dids(tenantId), (n) => this.keys.tenant.did(tenantId, n), q);
  }

  // ---- helpers ---------------------------------------------------------------------------

  protected async page<T>(_tenantId: string, index: string, keyOf: (member: string) => string, q: PageQuery): Promise<Page<T>> {
    const limit = pageLimit(q);
    const members = await this.redis.zrangebylex(index, lexFrom(q.after), '+', 'LIMIT', 0, limit);
    if (members.length === 0) return { items: [], next: null };
    const raw = await this.redis.mget(members.map(keyOf));
    const items = raw.map((s) => parse<T>(s)).filter((x): x is T => x !== null);
    return { items, next: members.length === limit ? (members[members.length - 1] ?? null) : null };
  }

  protected async all<T>(index: string, keyOf: (member: string) => string): Promise<T[]> {
    const members = await this.redis.zrange(index, 0, -1);
    if (members.length === 0) return [];
    const raw = await this.redis.mget(members.map(keyOf));
    return raw.map((s) => parse<T>(s)).filter((x): x is T => x !== null);
  }
}

/** The E.164 form used as the DID key, or undefined when `number` is not a public number. */
export function didKeyOf(number: string): string | undefined {
  const n = normalizeE164(number);
  if (n !== undefined) return n;
  const digits = number.trim().replace(/[\s\-()]/g, '');
  return /^[1-9][0-9]{6,14}$/.test(digits) ? `+${digits}` : undefined;
}
