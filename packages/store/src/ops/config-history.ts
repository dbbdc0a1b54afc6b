/**
 * Configuration history (構成管理) storage: each change to a tenant's configuration is a version with
 * who, when, the request that made it and the entity changes (before and after values), so any
 * earlier state can be reconstructed (docs/operations.md, "Configuration history").
 */
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

export const CONFIG_SECTIONS = ['tenant', 'numberingPlan', 'extensions', 'ringGroups', 'pickupGroups', 'trunks', 'dids'] as const;
export type ConfigSection = (typeof CONFIG_SECTIONS)[number];

export interface ConfigChange {
  readonly section: ConfigSection;
  /** Entity key inside the section (extension number, trunk id…); '' for single-valued sections. */
  readonly key: string;
  readonly op: 'add' | 'remove' | 'change';
  readonly before: unknown;
  readonly after: unknown;
  /** Changed fields as dot paths (`forwarding.busy`), for a readable diff. */
  readonly fields: readonly { readonly path: string; readonly before: unknown; readonly after: unknown }[];
}

export interface ConfigVersion {
  readonly version: number;
  readonly at: number;
  readonly by: string;
  /** `PATCH /v1/tenants/acme/extensions/201`, or `restore of version 12`. */
  readonly request: string;
  /** True for the first record of a section: the state found, not a change made. */
  readonly baseline: boolean;
  readonly changes: readonly ConfigChange[];
}

const flatten = (v: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> => {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(x, prefix === '' ? k : `${prefix}.${k}`, out);
  } else out.set(prefix, v);
  return out;
};

/** Field-level differences of two entity values (arrays compare whole). */
export function fieldDiff(before: unknown, after: unknown): ConfigChange['fields'] {
  const a = flatten(before ?? {});
  const b = flatten(after ?? {});
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths
    .filter((p) => JSON.stringify(a.get(p)) !== JSON.stringify(b.get(p)))
    .map((p) => ({ path: p, before: a.get(p) ?? null, after: b.get(p) ?? null }));
}

/** One readable line per change: `extensions 201: displayName "A" → "B"`. */
export function describeChange(c: ConfigChange): string {
  const what = c.key === '' ? c.section : `${c.section} ${c.key}`;
  if (c.op === 'add') return `${what}: added`;
  if (c.op === 'remove') return `${what}: removed`;
  return `${what}: ${c.fields.map((f) => `${f.path} ${JSON.stringify(f.before)} → ${JSON.stringify(f.after)}`).join('; ')}`;
}

export class ConfigHistoryStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {}

  /** The recorded state of some entities (`<section>/<key>` → value). */
  async recorded(tenantId: string, fields: readonly string[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    if (fields.length === 0) return out;
    const vals = await this.redis.hmget(this.keys.tenant.opsCfgCurrent(tenantId), ...fields);
    fields.forEach((f, i) => {
      const v = vals[i];
      if (v !== null && v !== undefined) out.set(f, JSON.parse(v));
    });
    return out;
  }

  /** Every recorded entity of a section. */
  async recordedSection(tenantId: string, section: ConfigSection): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys.tenant.opsCfgCurrent(tenantId), cursor, 'MATCH', `${section}/*`, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i] as string, JSON.parse(flat[i + 1] as string));
    } while (cursor !== '0');
    return out;
  }

  async hasSection(tenantId: string, section: ConfigSection): Promise<boolean> {
    return (await this.redis.hexists(this.keys.tenant.opsCfgCurrent(tenantId), `${section}/.`)) === 1;
  }

  /** Writes a version and moves the recorded state forward. */
  async append(tenantId: string, v: Omit<ConfigVersion, 'version'>, sectionsSeen: readonly ConfigSection[]): Promise<ConfigVersion> {
    const k = this.keys.tenant;
    const version = await this.redis.incr(k.opsCfgSeq(tenantId));
    const rec: ConfigVersion = { version, ...v };
    const set: string[] = [];
    const del: string[] = [];
    for (const c of v.changes) {
      const f = `${c.section}/${c.key}`;
      if (c.after === null) del.push(f);
      else set.push(f, JSON.stringify(c.after));
    }
    for (const s of sectionsSeen) set.push(`${s}/.`, '1');
    await Promise.all([
      this.redis.hset(k.opsCfgVersions(tenantId), String(version), JSON.stringify(rec)),
      set.length > 0 ? this.redis.hset(k.opsCfgCurrent(tenantId), ...set) : Promise.resolve(0),
      del.length > 0 ? this.redis.hdel(k.opsCfgCurrent(tenantId), ...del) : Promise.resolve(0),
    ]);
    return rec;
  }

  /** Marks sections as recorded without a version (nothing differed). */
  async markSeen(tenantId: string, sections: readonly ConfigSection[]): Promise<void> {
    if (sections.length === 0) return;
    await this.redis.hset(this.keys.tenant.opsCfgCurrent(tenantId), ...sections.flatMap((s) => [`${s}/.`, '1']));
  }

  async last(tenantId: string): Promise<number> {
    return Number((await this.redis.get(this.keys.tenant.opsCfgSeq(tenantId))) ?? 0);
  }

  async get(tenantId: string, version: number): Promise<ConfigVersion | null> {
    const v = await this.redis.hget(this.keys.tenant.opsCfgVersions(tenantId), String(version));
    return v === null ? null : (JSON.parse(v) as ConfigVersion);
  }

  /** Versions in (after, upto], oldest first. */
  async range(tenantId: string, after: number, upto: number): Promise<ConfigVersion[]> {
    const ids: string[] = [];
    for (let i = after + 1; i <= upto; i++) ids.push(String(i));
    const out: ConfigVersion[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const vals = await this.redis.hmget(this.keys.tenant.opsCfgVersions(tenantId), ...ids.slice(i, i + 500));
      for (const v of vals) if (v !== null) out.push(JSON.parse(v) as ConfigVersion);
    }
    return out;
  }
}
