import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';
import { LuaScript } from '../script.js';
import { AUTH_STATE_LUA, BINDINGS_OF_LUA, FAIL_LUA, NONCE_COUNT_LUA, REGISTER_LUA } from './lua.js';

/** One registered contact of an extension (RFC 3261 §10 binding). */
export interface Binding {
  /** Stable id within the extension: from +sip.instance/reg-id when present, else the contact URI. */
  readonly id: string;
  /** Contact URI as the device sent it (without header parameters). */
  readonly contact: string;
  /** Where the REGISTER really came from; call control sends requests here (NAT). */
  readonly source: { readonly address: string; readonly port: number; readonly transport: string };
  readonly userAgent?: string;
  /** RFC 5626 `+sip.instance` (e.g. `<urn:uuid:…>`) and `reg-id`. */
  readonly instanceId?: string;
  readonly regId?: number;
  /** Contact `q` parameter, when given. */
  readonly q?: number;
  /** RFC 3327 Path of a REGISTER that came through a trusted edge proxy: requests to this contact take it as their Route set. */
  readonly path?: readonly string[];
  readonly expiresAt: number;
  readonly updatedAt: number;
  readonly callId: string;
  readonly cseq: number;
}

/** What the registrar asks for one contact of a REGISTER. */
export interface BindingUpdate {
  readonly id: string;
  /** Seconds; 0 removes the binding. */
  readonly expires: number;
  readonly contact: string;
  readonly source: Binding['source'];
  readonly userAgent?: string;
  readonly instanceId?: string;
  readonly regId?: number;
  readonly q?: number;
  readonly path?: readonly string[];
}

export type RegisterResult =
  | { readonly kind: 'ok'; readonly now: number; readonly bindings: readonly Binding[]; readonly evicted: number }
  | { readonly kind: 'too-many'; readonly max: number }
  | { readonly kind: 'out-of-order' };

export interface RegisterRequest {
  readonly tenantId: string;
  readonly extension: string;
  readonly callId: string;
  readonly cseq: number;
  readonly maxContacts: number;
  readonly policy: 'replace-oldest' | 'reject';
  /** `update` applies `updates`; `wildcard` removes every binding (Contact: *); `query` changes nothing. */
  readonly mode: 'update' | 'wildcard' | 'query';
  readonly updates: readonly BindingUpdate[];
}

export interface RegistrationListEntry {
  readonly extension: string;
  readonly bindings: readonly Binding[];
}

const registerScript = new LuaScript(REGISTER_LUA);
const failScript = new LuaScript(FAIL_LUA);
const nonceCountScript = new LuaScript(NONCE_COUNT_LUA);
const authStateScript = new LuaScript(AUTH_STATE_LUA);
const bindingsOfScript = new LuaScript(BINDINGS_OF_LUA);

/** Call-IDs never contain `|` (RFC 3261 `word`), but a hostile one must not break the record format. */
function safeCallId(s: string): string {
  return s.replace(/\|/g, '_').slice(0, 200);
}

interface StoredJson {
  c: string;
  a: string;
  p: number;
  t: string;
  ua?: string;
  i?: string;
  r?: number;
  q?: number;
  pa?: string[];
}

function encode(u: BindingUpdate): string {
  const j: StoredJson = { c: u.contact, a: u.source.address, p: u.source.port, t: u.source.transport };
  if (u.userAgent !== undefined) j.ua = u.userAgent.slice(0, 128);
  if (u.instanceId !== undefined) j.i = u.instanceId;
  if (u.regId !== undefined) j.r = u.regId;
  if (u.q !== undefined) j.q = u.q;
  if (u.path !== undefined && u.path.length > 0) j.pa = [...u.path];
  return JSON.stringify(j);
}

/** The unexpired bindings among stored (id, value) pairs, highest q first, then the most recently refreshed. */
function liveBindings(entries: readonly [string, string][], nowMs: number): Binding[] {
  const out: Binding[] = [];
  for (const [id, v] of entries) {
    const b = decodeBinding(id, v);
    if (b && b.expiresAt > nowMs) out.push(b);
  }
  return out.sort((a, b) => (b.q ?? 0) - (a.q ?? 0) || b.updatedAt - a.updatedAt);
}

/** Decodes one stored binding; undefined when malformed. */
export function decodeBinding(id: string, v: string): Binding | undefined {
  const m = /^(\d+)\|(\d+)\|(\d+)\|([^|]*)\|(.*)$/s.exec(v);
  if (!m) return undefined;
  try {
    const j = JSON.parse(m[5] as string) as StoredJson;
    return {
      id,
      contact: j.c,
      source: { address: j.a, port: j.p, transport: j.t },
      ...(j.ua !== undefined ? { userAgent: j.ua } : {}),
      ...(j.i !== undefined ? { instanceId: j.i } : {}),
      ...(j.r !== undefined ? { regId: j.r } : {}),
      ...(j.q !== undefined ? { q: j.q } : {}),
      ...(Array.isArray(j.pa) ? { path: j.pa } : {}),
      expiresAt: Number(m[1]),
      updatedAt: Number(m[2]),
      cseq: Number(m[3]),
      callId: m[4] as string,
    };
  } catch {
    return undefined;
  }
}

/**
 * The location service: bindings per extension with TTL, a per-tenant index for listing and counting,
 * one Lua script per REGISTER. Everything of one tenant lives in its hash-tag slot.
 */
export class LocationStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {}

  /** Applies one REGISTER atomically and returns every live binding afterwards. */
  async register(r: RegisterRequest): Promise<RegisterResult> {
    const args: (string | number)[] = [
      r.extension,
      safeCallId(r.callId),
      r.cseq,
      r.maxContacts,
      r.policy,
      r.mode,
      r.mode === 'update' ? r.updates.length : 0,
    ];
    if (r.mode === 'update') for (const u of r.updates) args.push(u.id, Math.max(0, Math.floor(u.expires)), encode(u));
    const res = (await registerScript.run(
      this.redis,
      [this.keys.tenant.regBindings(r.tenantId, r.extension), this.keys.tenant.regIndex(r.tenantId)],
      args,
    )) as string[];
    if (res[0] === 'TOO_MANY') return { kind: 'too-many', max: Number(res[1]) };
    if (res[0] === 'OUT_OF_ORDER') return { kind: 'out-of-order' };
    const bindings: Binding[] = [];
    for (let i = 3; i + 1 < res.length; i += 2) {
      const b = decodeBinding(res[i] as string, res[i + 1] as string);
      if (b) bindings.push(b);
    }
    bindings.sort((a, b) => a.updatedAt - b.updatedAt || a.id.localeCompare(b.id));
    return { kind: 'ok', now: Number(res[1]), evicted: Number(res[2]), bindings };
  }

  /** Live bindings of one extension (for call control: where to send an INVITE). */
  async contactsFor(tenantId: string, extension: string, nowMs = Date.now()): Promise<Binding[]> {
    const raw = await this.redis.hgetall(this.keys.tenant.regBindings(tenantId, extension));
    return liveBindings(Object.entries(raw), nowMs);
  }

  /** `contactsFor` of several extensions of one tenant, in one command (a script over their hashes, one slot). */
  async contactsOf(tenantId: string, extensions: readonly string[], nowMs = Date.now()): Promise<Binding[][]> {
    if (extensions.length === 0) return [];
    if (extensions.length === 1) return [await this.contactsFor(tenantId, extensions[0] as string, nowMs)];
    const raw = (await bindingsOfScript.run(
      this.redis,
      extensions.map((e) => this.keys.tenant.regBindings(tenantId, e)),
      [],
    )) as string[][];
    return extensions.map((_e, i) => {
      const flat = raw[i] ?? [];
      const entries: [string, string][] = [];
      for (let j = 0; j + 1 < flat.length; j += 2) entries.push([flat[j] as string, flat[j + 1] as string]);
      return liveBindings(entries, nowMs);
    });
  }

  /** Removes some (ids) or all bindings of an extension, e.g. an admin's force-unregister. Returns how many were live. */
  async unregister(tenantId: string, extension: string, ids?: readonly string[]): Promise<number> {
    const before = await this.contactsFor(tenantId, extension);
    const target = ids ? before.filter((b) => ids.includes(b.id)) : before;
    if (target.length === 0) return 0;
    const res = await this.register({
      tenantId,
      extension,
      callId: '',
      cseq: 0,
      maxContacts: Number.MAX_SAFE_INTEGER,
      policy: 'replace-oldest',
      mode: ids ? 'update' : 'wildcard',
      updates: target.map((b) => ({ id: b.id, expires: 0, contact: b.contact, source: b.source })),
    });
    return res.kind === 'ok' ? target.length : 0;
  }

  /** Live bindings in a tenant (each device counts). */
  async countBindings(tenantId: string, nowMs = Date.now()): Promise<number> {
    return this.redis.zcount(this.keys.tenant.regIndex(tenantId), `(${nowMs}`, '+inf');
  }

  /** Live registrations of a tenant grouped by extension, in extension order, paged by extension. */
  async listTenant(
    tenantId: string,
    o: { limit?: number; after?: string; nowMs?: number } = {},
  ): Promise<{ entries: RegistrationListEntry[]; next?: string }> {
    const now = o.nowMs ?? Date.now();
    const limit = Math.min(Math.max(o.limit ?? 100, 1), 1000);
    const members = await this.redis.zrangebyscore(this.keys.tenant.regIndex(tenantId), `(${now}`, '+inf');
    const exts = [...new Set(members.map((m) => m.split(' ')[0] as string))]
      .filter((e) => o.after === undefined || e > o.after)
      .sort();
    const page = exts.slice(0, limit);
    const entries = await Promise.all(
      page.map(async (extension) => ({ extension, bindings: await this.contactsFor(tenantId, extension, now) })),
    );
    const more = exts.length > limit;
    return { entries: entries.filter((e) => e.bindings.length > 0), ...(more ? { next: page[page.length - 1] as string } : {}) };
  }
}

export type FailureScope =
  | { readonly kind: 'ip'; readonly ip: string }
  | { readonly kind: 'aor'; readonly tenantId: string; readonly extension: string }
  | { readonly kind: 'pair'; readonly tenantId: string; readonly extension: string; readonly ip: string };

/** Brute-force guard state: failures in a sliding window and blocks with TTL, kept in Redis (they survive restarts). */
export class AuthGuardStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {}

  private keysOf(s: FailureScope): [string, string] {
    switch (s.kind) {
      case 'ip':
        return [this.keys.global.regFailsIp(s.ip), this.keys.global.regBlockIp(s.ip)];
      case 'aor':
        return [this.keys.tenant.regFailsAor(s.tenantId, s.extension), this.keys.tenant.regBlockAor(s.tenantId, s.extension)];
      case 'pair':
        return [this.keys.tenant.regFailsPair(s.tenantId, s.extension, s.ip), this.keys.tenant.regBlockPair(s.tenantId, s.extension, s.ip)];
    }
  }

  /** Records one failure; `blocked` is true when this failure started a block. */
  async recordFailure(
    s: FailureScope,
    o: { windowMs: number; threshold: number; blockMs: number },
  ): Promise<{ count: number; blocked: boolean }> {
    const [fails, block] = this.keysOf(s);
    const member = `${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
    const r = (await failScript.run(this.redis, [fails, block], [o.windowMs, o.threshold, o.blockMs, member])) as [number, number];
    return { count: Number(r[0]), blocked: Number(r[1]) === 1 };
  }

  async isBlocked(s: FailureScope): Promise<boolean> {
    return (await this.redis.exists(this.keysOf(s)[1])) === 1;
  }

  async unblock(s: FailureScope): Promise<void> {
    await this.redis.del(...this.keysOf(s));
  }

  /**
   * Which of the scopes are blocked now. A tenant's block keys (extension, extension + address) share its slot
   * and are read with one MGET; the address's block key lives in another slot and is read concurrently.
   */
  async blocked(scopes: readonly FailureScope[]): Promise<boolean[]> {
    const byTenant = new Map<string, number[]>();
    scopes.forEach((s, i) => {
      if (s.kind !== 'ip') byTenant.set(s.tenantId, [...(byTenant.get(s.tenantId) ?? []), i]);
    });
    const out = scopes.map(() => false);
    await Promise.all([
      ...scopes.map(async (s, i) => {
        if (s.kind === 'ip') out[i] = (await this.redis.exists(this.keysOf(s)[1])) === 1;
      }),
      ...[...byTenant.values()].map(async (idx) => {
        const values = await this.redis.mget(...idx.map((i) => this.keysOf(scopes[i] as FailureScope)[1]));
        idx.forEach((i, j) => (out[i] = values[j] !== null && values[j] !== undefined));
      }),
    ]);
    return out;
  }

  /**
   * What authenticating one request reads: the blocks of the source address, the extension and the pair, and the
   * device's digest state — the address's EXISTS and one script in the tenant's slot (two commands, one round trip).
   */
  async authState(tenantId: string, extension: string, ip: string, device: string): Promise<{ ip: boolean; aor: boolean; pair: boolean; device: { learned?: string; pending?: string } }> {
    const k = this.keys.tenant;
    const tenantKeys = [k.regBlockAor(tenantId, extension), k.regBlockPair(tenantId, extension, ip), k.authDevice(tenantId, device)];
    // One Redis: the address's block is read by the same script (one command, not two). A Cluster keeps it in another slot.
    type State = [number, number, string | null, string | null, number];
    const [ipBlocked, r] = this.redis.isCluster
      ? await Promise.all([this.redis.exists(this.keys.global.regBlockIp(ip)), authStateScript.run(this.redis, tenantKeys, []) as Promise<State>])
      : await (authStateScript.run(this.redis, [...tenantKeys, this.keys.global.regBlockIp(ip)], []) as Promise<State>).then((x) => [x[4], x] as const);
    const [aor, pair, learned, pending] = r;
    return {
      ip: ipBlocked === 1,
      aor: aor === 1,
      pair: pair === 1,
      device: { ...(learned !== null && learned !== undefined ? { learned } : {}), ...(pending !== null && pending !== undefined ? { pending } : {}) },
    };
  }

  /** Remembers a device that authenticated a REGISTER: by source address and, when it gave one, its instance id. */
  async trustDevice(tenantId: string, extension: string, device: { ip: string; instanceId?: string | undefined }, ttlMs: number, nowMs = Date.now()): Promise<void> {
    const key = this.keys.tenant.regTrusted(tenantId, extension);
    const fields: Record<string, string> = { [`ip:${device.ip}`]: String(nowMs) };
    if (device.instanceId !== undefined) fields[`i:${device.instanceId}`] = String(nowMs);
    await this.redis.pipeline().hset(key, fields).pexpire(key, ttlMs).exec();
  }

  /** True when the source address (or instance id) authenticated a REGISTER of the extension within `ttlMs`. */
  async isTrusted(tenantId: string, extension: string, device: { ip: string; instanceId?: string | undefined }, ttlMs: number, nowMs = Date.now()): Promise<boolean> {
    const key = this.keys.tenant.regTrusted(tenantId, extension);
    const fields = [`ip:${device.ip}`, ...(device.instanceId !== undefined ? [`i:${device.instanceId}`] : [])];
    const r = await this.redis.hmget(key, ...fields);
    return r.some((v) => v !== null && nowMs - Number(v) <= ttlMs);
  }

  /** What one device showed of its digest abilities (see auth/policy.ts); empty when nothing is known. */
  async deviceState(tenantId: string, device: string): Promise<{ learned?: string; pending?: string }> {
    const r = await this.redis.hmget(this.keys.tenant.authDevice(tenantId, device), 'learned', 'pending');
    return { ...(r[0] !== null && r[0] !== undefined ? { learned: r[0] } : {}), ...(r[1] !== null && r[1] !== undefined ? { pending: r[1] } : {}) };
  }

  /** Sets (value) or clears (undefined) fields of a device's state; the record lives `ttlMs` after its last change. */
  async setDeviceState(tenantId: string, device: string, fields: { learned?: string | null; pending?: string | null }, ttlMs: number): Promise<void> {
    const key = this.keys.tenant.authDevice(tenantId, device);
    const p = this.redis.pipeline();
    const set: Record<string, string> = {};
    const del: string[] = [];
    for (const [k, v] of Object.entries(fields)) {
      if (v === null) del.push(k);
      else if (v !== undefined) set[k] = v;
    }
    if (Object.keys(set).length > 0) p.hset(key, set);
    if (del.length > 0) p.hdel(key, ...del);
    p.pexpire(key, ttlMs);
    await p.exec();
  }

  /** Replay guard: true when `nc` is higher than every earlier one for this nonce (and records it). */
  async acceptNonceCount(nonce: string, nc: number, ttlMs: number): Promise<boolean> {
    const r = await nonceCountScript.run(this.redis, [this.keys.global.regNonceCount(nonce)], [nc, ttlMs]);
    return Number(r) === 1;
  }
}
