/**
 * Rate limits of the provisioning API, shared by every api process through Redis
 * (docs/security.md): a fixed-window failure counter (API authentication failures per source)
 * and a token bucket (writes per tenant). Both are one Lua script on one key, using Redis time.
 */
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

/** KEYS 1 counter. ARGV 1 window ms. Returns {count, pttl}. */
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`;

/** KEYS 1 bucket hash. ARGV 1 capacity, 2 tokens per second. Returns {allowed 0|1, retry-after ms}. */
const TAKE = `
local cap, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]), tonumber(b[2])
if tokens == nil then tokens = cap; ts = now end
tokens = math.min(cap, tokens + (now - ts) * rate / 1000)
local ok, wait = 0, 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((cap - tokens) * 1000 / rate) + 1000)
return {ok, wait}
`;

interface Scripts {
  kumoRateHit(key: string, windowMs: string): Promise<[number, number]>;
  kumoRateTake(key: string, capacity: string, perSecond: string): Promise<[number, number]>;
}

const defined = new WeakSet<RedisClient>();

export class ApiRateLimits {
  private readonly lua: Scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {
    if (!defined.has(redis)) {
      redis.defineCommand('kumoRateHit', { numberOfKeys: 1, lua: HIT });
      redis.defineCommand('kumoRateTake', { numberOfKeys: 1, lua: TAKE });
      defined.add(redis);
    }
    this.lua = redis as unknown as Scripts;
  }

  /** Milliseconds until the source may try again, or 0 when it is not blocked. */
  async authBlockedFor(source: string, limit: number): Promise<number> {
    const key = this.keys.global.apiAuthFails(source);
    const [n, ttl] = await Promise.all([this.redis.get(key), this.redis.pttl(key)]);
    return Number(n ?? 0) >= limit && ttl > 0 ? ttl : 0;
  }

  /** Counts one failed authentication of a source; returns the count in the window and the window's remaining ms. */
  async authFailed(source: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    const [count, resetMs] = await this.lua.kumoRateHit(this.keys.global.apiAuthFails(source), String(windowMs));
    return { count, resetMs };
  }

  /** Takes one write token of a tenant; `retryAfterMs` > 0 when refused. */
  async takeWrite(tenantId: string, capacity: number, perSecond: number): Promise<{ ok: boolean; retryAfterMs: number }> {
    const [ok, wait] = await this.lua.kumoRateTake(this.keys.tenant.apiWriteBucket(tenantId), String(capacity), String(perSecond));
    return { ok: ok === 1, retryAfterMs: wait };
  }
}
