/**
 * Call-state for hunt strategies, shared by every sip process: the round-robin cursor of
 * each ring group, who is in a call, and when each extension's last call ended. All keys
 * of one tenant share its hash-tag slot. Counters can drift if a sip process dies mid-call,
 * so every key expires after a day without calls (`STATE_TTL_MS`).
 */
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';
import { LuaScript } from '../script.js';

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

/** KEYS: inCall. ARGV: ttl ms, extensions… One more call for each. */
const CALL_STARTED_LUA = `
for i = 2, #ARGV do
  redis.call('HINCRBY', KEYS[1], ARGV[i], 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/**
 * KEYS: inCall, idleSince, huntLast. ARGV: number of extensions, extensions…, groups…
 * Returns { inCall values, idleSince values, huntLast values } (false → nil for a missing field).
 */
const READ_LUA = `
local n = tonumber(ARGV[1])
local exts, groups = {}, {}
for i = 2, n + 1 do exts[#exts + 1] = ARGV[i] end
for i = n + 2, #ARGV do groups[#groups + 1] = ARGV[i] end
local inCall, idle, last = {}, {}, {}
if #exts > 0 then
  inCall = redis.call('HMGET', KEYS[1], unpack(exts))
  idle = redis.call('HMGET', KEYS[2], unpack(exts))
end
if #groups > 0 then last = redis.call('HMGET', KEYS[3], unpack(groups)) end
return { inCall, idle, last }
`;

type Fields = (string | null)[];

const callEnded = new LuaScript(CALL_ENDED_LUA);
const callStarted = new LuaScript(CALL_STARTED_LUA);
const readState = new LuaScript(READ_LUA);

export class HuntStateStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {}

  /** The state of the given extensions and groups (three HMGETs in one script: one command, one round trip). */
  async read(tenantId: string, extensions: readonly string[], groups: readonly string[]): Promise<HuntState> {
    const k = this.keys.tenant;
    const [inCall, idle, last] =
      extensions.length + groups.length === 0
        ? [[], [], []]
        : ((await readState.run(this.redis, [k.inCall(tenantId), k.idleSince(tenantId), k.huntLast(tenantId)], [extensions.length, ...extensions, ...groups])) as [
            Fields,
            Fields,
            Fields,
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

  // Plain commands, not MULTI: with ioredis auto-pipelining, MULTI blocks interleaved with
  // other commands under load handed replies to the wrong callers (seen in loadtest/calls).
  async groupAnswered(tenantId: string, group: string, member: string): Promise<void> {
    const key = this.keys.tenant.huntLast(tenantId);
    await Promise.all([this.redis.hset(key, group, member), this.redis.pexpire(key, STATE_TTL_MS)]);
  }

  async callStarted(tenantId: string, extensions: readonly string[]): Promise<void> {
    if (extensions.length === 0) return;
    await callStarted.run(this.redis, [this.keys.tenant.inCall(tenantId)], [STATE_TTL_MS, ...extensions]);
  }

  async callEnded(tenantId: string, extensions: readonly string[], nowMs = Date.now()): Promise<void> {
    if (extensions.length === 0) return;
    const k = this.keys.tenant;
    await callEnded.run(this.redis, [k.inCall(tenantId), k.idleSince(tenantId)], [nowMs, STATE_TTL_MS, ...extensions]);
  }
}
