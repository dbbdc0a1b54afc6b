import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { KumoError } from '@kumo/runtime';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

/** Who a console user is: a platform operator, a tenant admin, or a tenant's read-only user. */
export type UserRole = 'operator' | 'tenant-admin' | 'tenant-viewer';
export const USER_ROLES: readonly UserRole[] = ['operator', 'tenant-admin', 'tenant-viewer'];
export type UserLang = 'ja' | 'en';

/** What Redis keeps about a console user. `passwordHash` and `totpSecret` never leave the server. */
export interface UserRecord {
  readonly id: string;
  /** Lower case, unique platform-wide (e.g. `admin@demo`). */
  readonly login: string;
  readonly name: string;
  readonly role: UserRole;
  /** Set for tenant users. */
  readonly tenantId?: string;
  readonly lang: UserLang;
  /** `scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>`. */
  readonly passwordHash: string;
  /** Base32 TOTP secret once the second factor is enabled. */
  readonly totpSecret?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The public view of a user (no secrets). */
export type UserView = Omit<UserRecord, 'passwordHash' | 'totpSecret'> & { readonly totp: boolean };

export function userView(u: UserRecord): UserView {
  const { passwordHash: _p, totpSecret, ...rest } = u;
  return { ...rest, totp: totpSecret !== undefined };
}

/**
 * Password hashing: scrypt (memory-hard), N = 2^15, r = 8, p = 1 → 32 MiB and about 50–100 ms
 * per hash on one core; 16-byte random salt, 32-byte output. Parameters travel with the hash,
 * so they can be raised later without breaking stored passwords.
 */
export const SCRYPT_PARAMS = { log2N: 15, r: 8, p: 1, keyLen: 32, saltLen: 16 } as const;

function scryptAsync(password: string, salt: Buffer, keyLen: number, o: ScryptOptions): Promise<Buffer> {
  return new Promise((res, rej) => scrypt(password.normalize('NFC'), salt, keyLen, o, (err, key) => (err ? rej(err) : res(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const { log2N, r, p, keyLen, saltLen } = SCRYPT_PARAMS;
  const salt = randomBytes(saltLen);
  const N = 2 ** log2N;
  const key = await scryptAsync(password, salt, keyLen, { N, r, p, maxmem: 256 * N * r });
  return `scrypt$${log2N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const [log2N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (log2N < 10 || log2N > 20) return false;
  const expected = Buffer.from(m[5] as string, 'base64');
  const N = 2 ** log2N;
  const key = await scryptAsync(password, Buffer.from(m[4] as string, 'base64'), expected.length, { N, r, p, maxmem: 256 * N * r });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of a random password: verified against when the login is unknown, so timing does not tell. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}

export const LOGIN_RE = /^[a-z0-9][a-z0-9._@-]{1,63}$/;

/** Password policy: 10–200 characters. Length beats composition rules (NIST SP 800-63B). */
export function passwordProblem(pw: unknown): string | null {
  if (typeof pw !== 'string') return 'password must be a string';
  if ([...pw].length < 10) return 'password must have at least 10 characters';
  if (pw.length > 200) return 'password must have at most 200 characters';
  return null;
}

export interface UserCreate {
  readonly login: string;
  readonly name: string;
  readonly role: UserRole;
  readonly tenantId?: string;
  readonly lang?: UserLang;
  readonly password: string;
}

/** Console users: operators (platform) and tenant users. Logins are unique across the platform. */
export class UserRepo {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private indexOf(u: { role: UserRole; tenantId?: string | undefined }): string {
    return u.role === 'operator' ? this.keys.global.consoleOperatorUsers() : this.keys.tenant.consoleUsers(u.tenantId ?? '');
  }

  async create(c: UserCreate): Promise<UserRecord> {
    const login = c.login.toLowerCase();
    if (!LOGIN_RE.test(login)) throw new KumoError('KUMO_ERR_VALIDATION', 'login: 2–64 characters a–z 0–9 . _ @ -', { field: 'login' });
    const pwProblem = passwordProblem(c.password);
    if (pwProblem !== null) throw new KumoError('KUMO_ERR_VALIDATION', pwProblem, { field: 'password' });
    if (c.role !== 'operator' && c.tenantId === undefined) throw new KumoError('KUMO_ERR_VALIDATION', 'tenant users need a tenant');
    const at = this.now().toISOString();
    const rec: UserRecord = {
      id: randomBytes(8).toString('hex'),
      login,
      name: c.name,
      role: c.role,
      ...(c.role !== 'operator' && c.tenantId !== undefined ? { tenantId: c.tenantId } : {}),
      lang: c.lang ?? 'ja',
      passwordHash: await hashPassword(c.password),
      createdAt: at,
      updatedAt: at,
    };
    const created = await this.redis.hsetnx(this.keys.global.consoleUsers(), login, JSON.stringify(rec));
    if (created === 0) throw new KumoError('KUMO_ERR_EXISTS', 'a user with this login exists', { login });
    await this.redis.hset(this.keys.global.consoleUserIds(), rec.id, login);
    await this.redis.zadd(this.indexOf(rec), this.now().getTime(), rec.id);
    return rec;
  }

  async byLogin(login: string): Promise<UserRecord | null> {
    const raw = await this.redis.hget(this.keys.global.consoleUsers(), login.toLowerCase());
    return raw === null ? null : (JSON.parse(raw) as UserRecord);
  }

  async byId(id: string): Promise<UserRecord | null> {
    const login = await this.redis.hget(this.keys.global.consoleUserIds(), id);
    if (login === null) return null;
    const u = await this.byLogin(login);
    return u !== null && u.id === id ? u : null;
  }

  /** Users of a tenant, or the operators when tenantId is null; oldest first. */
  async list(tenantId: string | null): Promise<UserRecord[]> {
    const idx = tenantId === null ? this.keys.global.consoleOperatorUsers() : this.keys.tenant.consoleUsers(tenantId);
    const ids = await this.redis.zrange(idx, 0, -1);
    const users = await Promise.all(ids.map((id) => this.byId(id)));
    return users.filter((u): u is UserRecord => u !== null);
  }

  /** Replaces mutable fields (name, lang, role within the same kind, password hash, TOTP secret). */
  async update(u: UserRecord, patch: Partial<Pick<UserRecord, 'name' | 'lang' | 'role' | 'passwordHash'>> & { totpSecret?: string | null }): Promise<UserRecord> {
    const { totpSecret, ...rest } = patch;
    const base: UserRecord = { ...u, ...rest, updatedAt: this.now().toISOString() };
    let next: UserRecord = base;
    if (totpSecret === null) {
      const { totpSecret: _drop, ...without } = base;
      next = without;
    } else if (totpSecret !== undefined) next = { ...base, totpSecret };
    await this.redis.hset(this.keys.global.consoleUsers(), u.login, JSON.stringify(next));
    return next;
  }

  async remove(u: UserRecord): Promise<void> {
    await this.redis.hdel(this.keys.global.consoleUsers(), u.login);
    await this.redis.hdel(this.keys.global.consoleUserIds(), u.id);
    await this.redis.zrem(this.indexOf(u), u.id);
  }
}
