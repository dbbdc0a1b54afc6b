/**
 * The ringing index for pickup across sip workers (docs/scaling.md): per extension a ZSET of
 * `<owner> <callKey>` → ring start, and per ringing call the caller's SDP offer. Both in the tenant's
 * slot; each change is one script (one command from the sip process instead of two or three).
 */
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';
import { LuaScript } from '../script.js';

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

const ringScript = new LuaScript(RING_LUA);
const unringScript = new LuaScript(UNRING_LUA);

export class RingingIndex {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {}

  /** A call (`member` = `<owner> <callKey>`) rings `extension`; its entry and the caller's offer live `ttlMs`. */
  async ring(tenantId: string, extension: string, callKey: string, member: string, callerSdp: string, ttlMs: number, at = Date.now()): Promise<void> {
    const k = this.keys.tenant;
    await ringScript.run(this.redis, [k.ringingExt(tenantId, extension), k.ringingOffer(tenantId, callKey)], [member, at, ttlMs, callerSdp]);
  }

  /** The call stopped ringing `extension`; `last`: it rings nowhere else any more, its offer goes too. */
  async unring(tenantId: string, extension: string, callKey: string, member: string, last: boolean): Promise<void> {
    const k = this.keys.tenant;
    await unringScript.run(this.redis, [k.ringingExt(tenantId, extension), k.ringingOffer(tenantId, callKey)], [member, last ? '1' : '0']);
  }
}
