import { createHash } from 'node:crypto';
import type { RedisClient } from './client.js';

/**
 * A Lua script, run with EVALSHA and, on NOSCRIPT (a fresh or flushed Redis, a failover), with EVAL, which
 * also loads it. Plain commands rather than ioredis `defineCommand`, for two reasons: custom commands inside
 * auto-pipelines crashed ioredis 5 under concurrent load ("results[i] is not iterable") while their scripts
 * were not yet cached; and ioredis copies every command defined on a client onto each pipeline it creates —
 * auto-pipelining creates one per event-loop turn — so each defined script made every batch of commands
 * dearer for the whole process (the sip worker's allocation, docs/benchmarks.md).
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return redis.eval(this.lua, keys.length, ...keys, ...args);
      throw err;
    }
  }

  /** The script as a function of its keys then its arguments (the shape of an ioredis custom command). */
  bind<R>(redis: RedisClient, numberOfKeys: number): (...keysThenArgs: (string | number)[]) => Promise<R> {
    return (...a) => this.run(redis, a.slice(0, numberOfKeys).map(String), a.slice(numberOfKeys)) as Promise<R>;
  }
}
