import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

/** A console session as Redis keeps it (under the SHA-256 of its id; the id lives only in the cookie). */
export interface SessionRecord {
  readonly userId: string;
  /** Synchroniser token: state-changing requests must echo it in `X-CSRF-Token`. */
  readonly csrf: string;
  /** `pending`: the password was right, the TOTP code is still due; nothing else is allowed. */
  readonly stage: 'pending-totp' | 'active';
  readonly createdAt: number;
  /** Epoch ms after which the session ends whatever the activity. */
  readonly absoluteExpiry: number;
  readonly ip: string;
  readonly userAgent: string;
}

export interface SessionOptions {
  /** Idle timeout (sliding), ms. Default 30 min. */
  readonly idleMs?: number;
  /** Absolute lifetime, ms. Default 12 h. */
  readonly absoluteMs?: number;
  /** Lifetime of a password-checked session waiting for its TOTP code, ms. Default 5 min. */
  readonly pendingMs?: number;
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const SID_RE = /^[A-Za-z0-9_-]{43}$/;

/** Sessions in Redis: 256-bit random ids, idle + absolute expiry, per-user index for logout everywhere. */
export class SessionStore {
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly pendingMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    o: SessionOptions = {},
  ) {
    this.idleMs = o.idleMs ?? 30 * 60_000;
    this.absoluteMs = o.absoluteMs ?? 12 * 3_600_000;
    this.pendingMs = o.pendingMs ?? 5 * 60_000;
  }

  /** Starts a new session (always a fresh id: a pre-login id is never promoted, so no fixation). */
  async create(userId: string, stage: SessionRecord['stage'], meta: { ip: string; userAgent: string }): Promise<{ id: string; record: SessionRecord }> {
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    const record: SessionRecord = {
      userId,
      csrf: randomBytes(32).toString('base64url'),
      stage,
      createdAt: now,
      absoluteExpiry: now + (stage === 'active' ? this.absoluteMs : this.pendingMs),
      ip: meta.ip,
      userAgent: meta.userAgent.slice(0, 200),
    };
    const h = sha256(id);
    const ttl = stage === 'active' ? this.idleMs : this.pendingMs;
    await this.redis.multi().set(this.keys.global.consoleSession(h), JSON.stringify(record), 'PX', ttl).sadd(this.keys.global.consoleUserSessions(userId), h).pexpire(this.keys.global.consoleUserSessions(userId), this.absoluteMs).exec();
    return { id, record };
  }

  /** The live session of a cookie value, or null; refreshes the idle timeout. */
  async get(id: string): Promise<SessionRecord | null> {
    if (!SID_RE.test(id)) return null;
    const key = this.keys.global.consoleSession(sha256(id));
    const raw = await this.redis.get(key);
    if (raw === null) return null;
    const rec = JSON.parse(raw) as SessionRecord;
    const now = Date.now();
    if (now >= rec.absoluteExpiry) {
      await this.destroy(id, rec.userId);
      return null;
    }
    if (rec.stage === 'active') await this.redis.pexpire(key, Math.min(this.idleMs, rec.absoluteExpiry - now));
    return rec;
  }

  /** Whether the session still exists, without refreshing its idle timeout (long-lived streams). */
  async alive(id: string): Promise<boolean> {
    if (!SID_RE.test(id)) return false;
    return (await this.redis.exists(this.keys.global.consoleSession(sha256(id)))) === 1;
  }

  async destroy(id: string, userId: string): Promise<void> {
    if (!SID_RE.test(id)) return;
    const h = sha256(id);
    await this.redis.multi().del(this.keys.global.consoleSession(h)).srem(this.keys.global.consoleUserSessions(userId), h).exec();
  }

  /** Ends every session of a user (logout everywhere, password change, user removal). Returns how many. */
  async destroyAll(userId: string): Promise<number> {
    const idx = this.keys.global.consoleUserSessions(userId);
    const hashes = await this.redis.smembers(idx);
    const m = this.redis.multi();
    for (const h of hashes) m.del(this.keys.global.consoleSession(h));
    m.del(idx);
    const res = await m.exec();
    return (res ?? []).slice(0, hashes.length).reduce((n, [, v]) => n + (v === 1 ? 1 : 0), 0);
  }
}

/** Failed log-ins per login name: after `freeAttempts` failures the name locks, doubling each time. */
export interface LockoutPolicy {
  /** Failures allowed before the first lock. Default 5. */
  readonly freeAttempts: number;
  /** First lock, ms; doubles with each further failure. Default 30 s. */
  readonly baseLockMs: number;
  /** Longest lock, ms. Default 15 min. */
  readonly maxLockMs: number;
  /** Failures are forgotten after this long without one, ms. Default 1 h. */
  readonly windowMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { freeAttempts: 5, baseLockMs: 30_000, maxLockMs: 15 * 60_000, windowMs: 3_600_000 };

export class LoginGuard {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    readonly policy: LockoutPolicy = DEFAULT_LOCKOUT,
  ) {}

  /** Milliseconds the login is still locked for (0 = may try). */
  async lockedFor(login: string): Promise<number> {
    const ms = await this.redis.pttl(this.keys.global.consoleLoginLock(login));
    return ms > 0 ? ms : 0;
  }

  /** Records a failure; returns the lock now in force (ms, 0 = none). */
  async fail(login: string): Promise<number> {
    const k = this.keys.global.consoleLoginFails(login);
    const res = await this.redis.multi().incr(k).pexpire(k, this.policy.windowMs).exec();
    const n = Number(res?.[0]?.[1] ?? 0);
    if (n < this.policy.freeAttempts) return 0;
    const lock = Math.min(this.policy.maxLockMs, this.policy.baseLockMs * 2 ** (n - this.policy.freeAttempts));
    await this.redis.set(this.keys.global.consoleLoginLock(login), String(n), 'PX', lock);
    return lock;
  }

  async succeed(login: string): Promise<void> {
    await this.redis.del(this.keys.global.consoleLoginFails(login), this.keys.global.consoleLoginLock(login));
  }
}
