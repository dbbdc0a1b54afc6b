/**
 * The ringing index for pickup across sip workers (docs/scaling.md): per extension a ZSET of
 * `<owner> <callKey>` → ring start, and per ringing call the caller's SDP offer. Both in the tenant's
 * slot; each change is one script (one command from the sip process instead of two or three).
 */
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

/** KEYS: ringingExt, ringingOffer. ARGV: member, ring start ms, ttl ms, caller SDP. */
const RING_LUA = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
return 1
`;

/** KEYS: ringingExt, ringingOffer. ARGV: member, '1' to drop the offer too. */
const UNRING_LUA = `
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] == '1' then redis.call('DEL', KEYS[2]) end
return 1
`;

interface Scripted {
  kumoRing(k1: string, k2: string, member: string, at: number, ttlMs: number, sdp: string): Promise<unknown>;
  kumoUnring(k1: string, k2: string, member: string, dropOffer: string): Promise<unknown>;
}

const defined = new WeakSet<object>();
function scripted(redis: RedisClient): Scripted {
  if (!defined.has(redis)) {
    redis.defineCommand('kumoRing', { numberOfKeys: 2, lua: RING_LUA });
    redis.defineCommand('kumoUnring', { numberOfKeys: 2, lua: UNRING_LUA });
    defined.add(redis);
  }
  return redis as unknown as Scripted;
}

export class RingingIndex {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {
    // Defined before traffic: ioredis auto-pipelining cannot run a command defined while a pipeline is pending.
    scripted(redis);
  }

  /** A call (`member` = `<owner> <callKey>`) rings `extension`; its entry and the caller's offer live `ttlMs`. */
  async ring(tenantId: string, extension: string, callKey: string, member: string, callerSdp: string, ttlMs: number, at = Date.now()): Promise<void> {
    const k = this.keys.tenant;
    await scripted(this.redis).kumoRing(k.ringingExt(tenantId, extension), k.ringingOffer(tenantId, callKey), member, at, ttlMs, callerSdp);
  }

  /** The call stopped ringing `extension`; `last`: it rings nowhere else any more, its offer goes too. */
  async unring(tenantId: string, extension: string, callKey: string, member: string, last: boolean): Promise<void> {
    const k = this.keys.tenant;
    await scripted(this.redis).kumoUnring(k.ringingExt(tenantId, extension), k.ringingOffer(tenantId, callKey), member, last ? '1' : '0');
  }
}
