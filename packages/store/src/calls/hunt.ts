/**
 * Call-state for hunt strategies, shared by every sip process: the round-robin cursor of
 * each ring group, who is in a call, and when each extension's last call ended. All keys
 * of one tenant share its hash-tag slot. Counters can drift if a sip process dies mid-call,
 * so every key expires after a day without calls (`STATE_TTL_MS`).
 */
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

export interface HuntState {
  readonly busy: ReadonlySet<string>;
  readonly idleSince: ReadonlyMap<string, number>;
  readonly lastAnswered: ReadonlyMap<string, string>;
}

export const STATE_TTL_MS = 24 * 3600 * 1000;

/** KEYS: inCall, idleSince. ARGV: now ms, ttl ms, extensions… Decrements (never below 0) and stamps idle time. */
const CALL_ENDED_LUA = `
for i = 3, #ARGV do
  local n = redis.call('HINCRBY', KEYS[1], ARGV[i], -1)
  if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[i]) end
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

interface Scripted {
  kumoHuntEnded(k1: string, k2: string, ...args: (string | number)[]): Promise<unknown>;
}

const defined = new WeakSet<object>();
function scripted(redis: RedisClient): Scripted {
  if (!defined.has(redis)) {
    redis.defineCommand('kumoHuntEnded', { numberOfKeys: 2, lua: CALL_ENDED_LUA });
    defined.add(redis);
  }
  return redis as unknown as Scripted;
}

export class HuntStateStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {}

  /** The state of the given extensions and groups (three HMGETs, one round trip with pipelining). */
  async read(tenantId: string, extensions: readonly string[], groups: readonly string[]): Promise<HuntState> {
    const k = this.keys.tenant;
    const [inCall, idle, last] = await Promise.all([
      extensions.length > 0 ? this.redis.hmget(k.inCall(tenantId), ...extensions) : Promise.resolve([]),
      extensions.length > 0 ? this.redis.hmget(k.idleSince(tenantId), ...extensions) : Promise.resolve([]),
      groups.length > 0 ? this.redis.hmget(k.huntLast(tenantId), ...groups) : Promise.resolve([]),
    ]);
    const busy = new Set<string>();
    const idleSince = new Map<string, number>();
    const lastAnswered = new Map<string, string>();
    extensions.forEach((e, i) => {
      if (Number(inCall[i] ?? 0) > 0) busy.add(e);
      const t = idle[i];
      if (t !== null && t !== undefined && Number.isFinite(Number(t))) idleSince.set(e, Number(t));
    });
    groups.forEach((g, i) => {
      const m = last[i];
      if (m !== null && m !== undefined) lastAnswered.set(g, m);
    });
    return { busy, idleSince, lastAnswered };
  }

  async groupAnswered(tenantId: string, group: string, member: string): Promise<void> {
    const key = this.keys.tenant.huntLast(tenantId);
    await this.redis.multi().hset(key, group, member).pexpire(key, STATE_TTL_MS).exec();
  }

  async callStarted(tenantId: string, extensions: readonly string[]): Promise<void> {
    if (extensions.length === 0) return;
    const key = this.keys.tenant.inCall(tenantId);
    const m = this.redis.multi();
    for (const e of extensions) m.hincrby(key, e, 1);
    await m.pexpire(key, STATE_TTL_MS).exec();
  }

  async callEnded(tenantId: string, extensions: readonly string[], nowMs = Date.now()): Promise<void> {
    if (extensions.length === 0) return;
    const k = this.keys.tenant;
    await scripted(this.redis).kumoHuntEnded(k.inCall(tenantId), k.idleSince(tenantId), nowMs, STATE_TTL_MS, ...extensions);
  }
}
