/**
 * Toll-fraud guard state (docs/security.md): per tenant and toll class, calls per clock hour; per
 * tenant, the rated money of its toll-class calls per clock hour (added by billing, once per CDR);
 * a block set when a limit is passed (kept until an operator lifts it) and an operator override
 * (the class is allowed beyond its limits until it expires). Lua scripts on the tenant's slot.
 */
import { DEFAULT_TOLL_LIMITS, type TollClass, type TollLimits } from '@kumo/domain';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';
import { LuaScript } from '../script.js';

/**
 * KEYS 1 block, 2 override, 3 hour counter, 4 hour spend. ARGV 1 limit, 2 counter TTL ms, 3 block record,
 * 4 spend limit, 5 spend block record (its `spend` filled in here).
 */
const ATTEMPT = `
if redis.call('EXISTS', KEYS[2]) == 1 then
  local n = redis.call('INCR', KEYS[3]); redis.call('PEXPIRE', KEYS[3], ARGV[2])
  return {'override', n}
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'blocked', 0} end
local spent = tonumber(redis.call('GET', KEYS[4]) or '0')
if spent >= tonumber(ARGV[4]) then
  local rec = cjson.decode(ARGV[5]); rec['spend'] = spent
  redis.call('SET', KEYS[1], cjson.encode(rec))
  return {'spent', spent}
end
local n = redis.call('INCR', KEYS[3]); redis.call('PEXPIRE', KEYS[3], ARGV[2])
if n > tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[3])
  return {'tripped', n}
end
return {'allow', n}
`;

/**
 * KEYS 1 seen set, 2 hour spend, 3 running hash. ARGV 1 CDR id, 2 now ms, 3 amount, 4 TTL ms. Adds the amount less
 * what the toll meter already added for the call (the delta may be negative when the final charge is lower).
 * Returns {added 0/1, spend}.
 */
const ADD_SPEND = `
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then
  return {0, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local prior = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if prior ~= 0 then redis.call('HDEL', KEYS[3], ARGV[1]) end
local n = redis.call('INCRBY', KEYS[2], tonumber(ARGV[3]) - prior); redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {1, n}
`;

/**
 * KEYS 1 seen set, 2 hour spend, 3 running hash. ARGV 1 CDR id, 2 charge so far, 3 spend TTL ms, 4 running TTL ms.
 * Adds what the running call cost since the last reading, unless its CDR was already rated. Returns {added, spend}.
 */
const ADD_RUNNING = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {0, tonumber(redis.call('GET', KEYS[2]) or '0')} end
local d = tonumber(ARGV[2]) - tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if d <= 0 then return {0, tonumber(redis.call('GET', KEYS[2]) or '0')} end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2]); redis.call('PEXPIRE', KEYS[3], ARGV[4])
local n = redis.call('INCRBY', KEYS[2], d); redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {d, n}
`;

/** `spent`: the spend limit was reached and the class is now blocked (the spend trip). */
export type TollAttempt = 'allow' | 'override' | 'blocked' | 'tripped' | 'spent';

export interface TollBlock {
  readonly cls: TollClass;
  /** Epoch ms. */
  readonly at: number;
  /** Which limit was passed: the call count (calls > limit) or the hour's spend (spend ≥ spendLimit). */
  readonly reason?: 'calls' | 'spend';
  readonly calls: number;
  readonly limit: number;
  /** For a spend block: the hour's spend and the limit, minor units. */
  readonly spend?: number;
  readonly spendLimit?: number;
}

export interface TollStatus {
  readonly limits: TollLimits;
  /** Whether the limits are the tenant's own (operator-set) or the platform default. */
  readonly custom: boolean;
  readonly blocked: readonly TollBlock[];
  /** Classes an operator allowed beyond their limit, until (epoch ms). */
  readonly overrides: readonly { readonly cls: TollClass; readonly until: number }[];
  /** Calls of each class in the current hour, and the rated money of both (`spend`, minor units). */
  readonly thisHour: Readonly<Record<TollClass | 'spend', number>>;
}

interface Scripts {
  kumoTollAttempt(
    block: string, override: string, counter: string, spend: string, limit: string, ttlMs: string, record: string, spendLimit: string, spendRecord: string,
  ): Promise<[TollAttempt, number]>;
  kumoTollAddSpend(seen: string, spend: string, running: string, cdrId: string, now: string, amount: string, ttlMs: string): Promise<[number, number]>;
  kumoTollAddRunning(seen: string, spend: string, running: string, cdrId: string, soFar: string, spendTtlMs: string, runningTtlMs: string): Promise<[number, number]>;
}

// Plain EVALSHA (LuaScript), not ioredis custom commands: see script.ts.
const ATTEMPT_SCRIPT = new LuaScript(ATTEMPT);
const ADD_SPEND_SCRIPT = new LuaScript(ADD_SPEND);
const ADD_RUNNING_SCRIPT = new LuaScript(ADD_RUNNING);
const HOUR = 3_600_000;
const CLASSES: readonly TollClass[] = ['international', 'premium'];

export class TollFraudStore {
  private readonly lua: Scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly defaults: TollLimits = DEFAULT_TOLL_LIMITS,
  ) {
    this.lua = {
      kumoTollAttempt: ATTEMPT_SCRIPT.bind(redis, 4),
      kumoTollAddSpend: ADD_SPEND_SCRIPT.bind(redis, 3),
      kumoTollAddRunning: ADD_RUNNING_SCRIPT.bind(redis, 3),
    };
  }

  async limits(tenantId: string): Promise<{ limits: TollLimits; custom: boolean }> {
    const raw = await this.redis.get(this.keys.tenant.tollLimits(tenantId));
    return raw === null ? { limits: this.defaults, custom: false } : { limits: { ...this.defaults, ...(JSON.parse(raw) as Partial<TollLimits>) }, custom: true };
  }

  /** The tenant's own limits; a field left out stays the platform default (the reader's config). */
  async setLimits(tenantId: string, limits: Partial<TollLimits> | null): Promise<void> {
    if (limits === null) await this.redis.del(this.keys.tenant.tollLimits(tenantId));
    else await this.redis.set(this.keys.tenant.tollLimits(tenantId), JSON.stringify(limits));
  }

  /**
   * Counts one call of a toll class; says whether it may go on and whether it just tripped the block (`tripped`: the
   * call count passed `limit`; `spent`: the hour's rated spend has reached `spendLimit`, `calls` is then the spend).
   */
  async attempt(tenantId: string, cls: TollClass, limit: number, now = Date.now(), spendLimit = Number.MAX_SAFE_INTEGER): Promise<{ outcome: TollAttempt; calls: number }> {
    const t = this.keys.tenant;
    const hour = Math.floor(now / HOUR);
    const record: TollBlock = { cls, at: now, reason: 'calls', calls: limit + 1, limit };
    const spendRecord: TollBlock = { cls, at: now, reason: 'spend', calls: 0, limit, spend: 0, spendLimit };
    const [outcome, calls] = await this.lua.kumoTollAttempt(
      t.tollBlock(tenantId, cls),
      t.tollOverride(tenantId, cls),
      t.tollCount(tenantId, cls, hour),
      t.tollSpend(tenantId, hour),
      String(limit),
      String(2 * HOUR),
      JSON.stringify(record),
      String(spendLimit),
      JSON.stringify(spendRecord),
    );
    return { outcome, calls: Number(calls) };
  }

  /**
   * Billing: adds the rated charge of one toll-class call (minor units) to the tenant's spend of the current clock
   * hour, once per CDR id (a redelivered CDR adds nothing), less what `addRunning` already added while the call was
   * in progress. Returns whether it was added and the hour's spend.
   */
  async addSpend(tenantId: string, cdrId: string, amount: number, now = Date.now()): Promise<{ added: boolean; spend: number }> {
    const t = this.keys.tenant;
    const [added, spend] = await this.lua.kumoTollAddSpend(
      t.tollSpendSeen(tenantId), t.tollSpend(tenantId, Math.floor(now / HOUR)), t.tollSpendRunning(tenantId),
      cdrId, String(now), String(Math.max(0, Math.trunc(amount))), String(2 * HOUR),
    );
    return { added: Number(added) === 1, spend: Number(spend) };
  }

  /**
   * The toll meter: a toll-class call in progress has cost `soFar` (minor units, rated as if it ended now); what it
   * cost since the last reading is added to the spend of the current hour. Nothing once its CDR was rated. Returns
   * what was added and the hour's spend.
   */
  async addRunning(tenantId: string, cdrId: string, soFar: number, now = Date.now()): Promise<{ added: number; spend: number }> {
    const t = this.keys.tenant;
    const [added, spend] = await this.lua.kumoTollAddRunning(
      t.tollSpendSeen(tenantId), t.tollSpend(tenantId, Math.floor(now / HOUR)), t.tollSpendRunning(tenantId),
      cdrId, String(Math.max(0, Math.trunc(soFar))), String(2 * HOUR), String(24 * HOUR),
    );
    return { added: Number(added), spend: Number(spend) };
  }

  /**
   * The toll classes whose calls in progress must end now: the tenant's spend of the current hour has reached its
   * limit, and no operator override lets the class past it. Empty while under the limit.
   */
  async overSpend(tenantId: string, now = Date.now()): Promise<TollClass[]> {
    const t = this.keys.tenant;
    const [{ limits }, spend, ...overridden] = await Promise.all([
      this.limits(tenantId),
      this.redis.get(t.tollSpend(tenantId, Math.floor(now / HOUR))),
      ...CLASSES.map((cls) => this.redis.exists(t.tollOverride(tenantId, cls))),
    ]);
    if (Number(spend ?? 0) < limits.spendPerHour) return [];
    return CLASSES.filter((_, i) => overridden[i] === 0);
  }

  /** Operator: lifts a block; with `overrideMs` > 0 the class is also allowed beyond its limit for that long. */
  async unblock(tenantId: string, cls: TollClass, overrideMs: number): Promise<boolean> {
    const t = this.keys.tenant;
    const removed = await this.redis.del(t.tollBlock(tenantId, cls));
    if (overrideMs > 0) await this.redis.set(t.tollOverride(tenantId, cls), '1', 'PX', overrideMs);
    else await this.redis.del(t.tollOverride(tenantId, cls));
    return removed > 0;
  }

  async status(tenantId: string, now = Date.now()): Promise<TollStatus> {
    const t = this.keys.tenant;
    const hour = Math.floor(now / HOUR);
    const { limits, custom } = await this.limits(tenantId);
    const blocked: TollBlock[] = [];
    const overrides: { cls: TollClass; until: number }[] = [];
    const thisHour = { international: 0, premium: 0, spend: Number((await this.redis.get(t.tollSpend(tenantId, hour))) ?? 0) };
    for (const cls of CLASSES) {
      const [b, ttl, n] = await Promise.all([this.redis.get(t.tollBlock(tenantId, cls)), this.redis.pttl(t.tollOverride(tenantId, cls)), this.redis.get(t.tollCount(tenantId, cls, hour))]);
      if (b !== null) blocked.push(JSON.parse(b) as TollBlock);
      if (ttl > 0) overrides.push({ cls, until: now + ttl });
      thisHour[cls] = Number(n ?? 0);
    }
    return { limits, custom, blocked, overrides, thisHour };
  }
}
