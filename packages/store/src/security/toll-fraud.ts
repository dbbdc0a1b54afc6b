/**
 * Toll-fraud guard state (docs/security.md): per tenant and toll class, calls per clock hour, a
 * block set when the limit is passed (kept until an operator lifts it) and an operator override
 * (the class is allowed beyond its limit until it expires). One Lua script on the tenant's slot.
 */
import { DEFAULT_TOLL_LIMITS, type TollClass, type TollLimits } from '@kumo/domain';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

/** KEYS 1 block, 2 override, 3 hour counter. ARGV 1 limit, 2 counter TTL ms, 3 block record. */
const ATTEMPT = `
if redis.call('EXISTS', KEYS[2]) == 1 then
  local n = redis.call('INCR', KEYS[3]); redis.call('PEXPIRE', KEYS[3], ARGV[2])
  return {'override', n}
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'blocked', 0} end
local n = redis.call('INCR', KEYS[3]); redis.call('PEXPIRE', KEYS[3], ARGV[2])
if n > tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[3])
  return {'tripped', n}
end
return {'allow', n}
`;

export type TollAttempt = 'allow' | 'override' | 'blocked' | 'tripped';

export interface TollBlock {
  readonly cls: TollClass;
  /** Epoch ms. */
  readonly at: number;
  readonly calls: number;
  readonly limit: number;
}

export interface TollStatus {
  readonly limits: TollLimits;
  /** Whether the limits are the tenant's own (operator-set) or the platform default. */
  readonly custom: boolean;
  readonly blocked: readonly TollBlock[];
  /** Classes an operator allowed beyond their limit, until (epoch ms). */
  readonly overrides: readonly { readonly cls: TollClass; readonly until: number }[];
  /** Calls of each class in the current hour. */
  readonly thisHour: Readonly<Record<TollClass, number>>;
}

interface Scripts {
  kumoTollAttempt(block: string, override: string, counter: string, limit: string, ttlMs: string, record: string): Promise<[TollAttempt, number]>;
}

const defined = new WeakSet<RedisClient>();
const HOUR = 3_600_000;
const CLASSES: readonly TollClass[] = ['international', 'premium'];

export class TollFraudStore {
  private readonly lua: Scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly defaults: TollLimits = DEFAULT_TOLL_LIMITS,
  ) {
    if (!defined.has(redis)) {
      redis.defineCommand('kumoTollAttempt', { numberOfKeys: 3, lua: ATTEMPT });
      defined.add(redis);
    }
    this.lua = redis as unknown as Scripts;
  }

  async limits(tenantId: string): Promise<{ limits: TollLimits; custom: boolean }> {
    const raw = await this.redis.get(this.keys.tenant.tollLimits(tenantId));
    return raw === null ? { limits: this.defaults, custom: false } : { limits: { ...this.defaults, ...(JSON.parse(raw) as Partial<TollLimits>) }, custom: true };
  }

  async setLimits(tenantId: string, limits: TollLimits | null): Promise<void> {
    if (limits === null) await this.redis.del(this.keys.tenant.tollLimits(tenantId));
    else await this.redis.set(this.keys.tenant.tollLimits(tenantId), JSON.stringify(limits));
  }

  /** Counts one call of a toll class; says whether it may go on and whether it just tripped the block. */
  async attempt(tenantId: string, cls: TollClass, limit: number, now = Date.now()): Promise<{ outcome: TollAttempt; calls: number }> {
    const t = this.keys.tenant;
    const hour = Math.floor(now / HOUR);
    const record: TollBlock = { cls, at: now, calls: limit + 1, limit };
    const [outcome, calls] = await this.lua.kumoTollAttempt(
      t.tollBlock(tenantId, cls),
      t.tollOverride(tenantId, cls),
      t.tollCount(tenantId, cls, hour),
      String(limit),
      String(2 * HOUR),
      JSON.stringify(record),
    );
    return { outcome, calls: Number(calls) };
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
    const thisHour = { international: 0, premium: 0 };
    for (const cls of CLASSES) {
      const [b, ttl, n] = await Promise.all([this.redis.get(t.tollBlock(tenantId, cls)), this.redis.pttl(t.tollOverride(tenantId, cls)), this.redis.get(t.tollCount(tenantId, cls, hour))]);
      if (b !== null) blocked.push(JSON.parse(b) as TollBlock);
      if (ttl > 0) overrides.push({ cls, until: now + ttl });
      thisHour[cls] = Number(n ?? 0);
    }
    return { limits, custom, blocked, overrides, thisHour };
  }
}
