import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { KumoError } from '@kumo/runtime';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

export type ApiRole = 'operator' | 'tenant-admin';

/** What Redis keeps about an API key (the key itself is never stored, only its SHA-256). */
export interface ApiKeyRecord {
  /** Public id, also the first part of the key: `kumo_<id>_<secret>`. */
  readonly id: string;
  readonly role: ApiRole;
  /** Set for tenant-admin keys. */
  readonly tenantId?: string;
  readonly name: string;
  readonly createdAt: string;
}

export interface IssuedKey {
  readonly record: ApiKeyRecord;
  /** The key in clear: shown once, never stored. */
  readonly key: string;
}

const KEY_RE = /^kumo_([a-f0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** SHA-256 hex of an API key. Keys carry 256 random bits, so a fast hash is enough. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Generates `kumo_<12 hex id>_<43 base64url chars>`. */
export function generateApiKey(): { id: string; key: string } {
  const id = randomBytes(6).toString('hex');
  return { id, key: `kumo_${id}_${randomBytes(32).toString('base64url')}` };
}

export function isWellFormedApiKey(key: string): boolean {
  return KEY_RE.test(key);
}

/**
 * API keys: operator keys (platform) and tenant-admin keys (one tenant). Lookups go through
 * the SHA-256 of the presented key (global hash `apikeys`), so authentication is one HGET.
 */
export class ApiKeyRepo {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Issues a new key. `importKey` stores a given well-formed key instead (demo credentials survive a Redis wipe). */
  async issue(o: { role: ApiRole; tenantId?: string; name: string; importKey?: string }): Promise<IssuedKey> {
    if (o.role === 'tenant-admin' && o.tenantId === undefined) throw new KumoError('KUMO_ERR_VALIDATION', 'tenant-admin keys need a tenant');
    let id: string;
    let key: string;
    if (o.importKey !== undefined) {
      const m = KEY_RE.exec(o.importKey);
      if (!m) throw new KumoError('KUMO_ERR_VALIDATION', 'malformed API key');
      id = m[1] as string;
      key = o.importKey;
    } else {
      ({ id, key } = generateApiKey());
    }
    const record: ApiKeyRecord = {
      id,
      role: o.role,
      ...(o.role === 'tenant-admin' && o.tenantId !== undefined ? { tenantId: o.tenantId } : {}),
      name: o.name,
      createdAt: this.now().toISOString(),
    };
    const hash = hashApiKey(key);
    const created = await this.redis.hsetnx(this.keys.global.apiKeyIds(), id, hash);
    if (created === 0) throw new KumoError('KUMO_ERR_EXISTS', 'API key id already exists');
    await this.redis.hset(this.keys.global.apiKeys(), hash, JSON.stringify(record));
    const score = this.now().getTime();
    if (record.tenantId !== undefined) await this.redis.zadd(this.keys.tenant.apiKeys(record.tenantId), score, id);
    else await this.redis.zadd(this.keys.global.operatorKeys(), score, id);
    return { record, key };
  }

  /** The principal of a presented key, or null (unknown, revoked or malformed). */
  async authenticate(key: string): Promise<ApiKeyRecord | null> {
    const m = KEY_RE.exec(key);
    if (!m) return null;
    const hash = hashApiKey(key);
    const raw = await this.redis.hget(this.keys.global.apiKeys(), hash);
    if (raw === null) return null;
    const rec = JSON.parse(raw) as ApiKeyRecord;
    // Defence in depth: the id embedded in the key must be the record's.
    const a = Buffer.from(rec.id);
    const b = Buffer.from(m[1] as string);
    return a.length === b.length && timingSafeEqual(a, b) ? rec : null;
  }

  async byId(id: string): Promise<ApiKeyRecord | null> {
    const hash = await this.redis.hget(this.keys.global.apiKeyIds(), id);
    if (hash === null) return null;
    const raw = await this.redis.hget(this.keys.global.apiKeys(), hash);
    return raw === null ? null : (JSON.parse(raw) as ApiKeyRecord);
  }

  /** Keys of a tenant (or the operator keys when tenantId is null), oldest first. */
  async list(tenantId: string | null): Promise<ApiKeyRecord[]> {
    const idx = tenantId === null ? this.keys.global.operatorKeys() : this.keys.tenant.apiKeys(tenantId);
    const ids = await this.redis.zrange(idx, 0, -1);
    const recs = await Promise.all(ids.map((id) => this.byId(id)));
    return recs.filter((r): r is ApiKeyRecord => r !== null);
  }

  /** Revokes a key; returns the revoked record or null when unknown. */
  async revoke(id: string): Promise<ApiKeyRecord | null> {
    const rec = await this.byId(id);
    if (rec === null) return null;
    const hash = await this.redis.hget(this.keys.global.apiKeyIds(), id);
    if (hash !== null) await this.redis.hdel(this.keys.global.apiKeys(), hash);
    await this.redis.hdel(this.keys.global.apiKeyIds(), id);
    if (rec.tenantId !== undefined) await this.redis.zrem(this.keys.tenant.apiKeys(rec.tenantId), id);
    else await this.redis.zrem(this.keys.global.operatorKeys(), id);
    return rec;
  }

  /** Revokes every key of a tenant (contract termination). */
  async revokeTenant(tenantId: string): Promise<number> {
    const ids = await this.redis.zrange(this.keys.tenant.apiKeys(tenantId), 0, -1);
    for (const id of ids) await this.revoke(id);
    return ids.length;
  }
}
