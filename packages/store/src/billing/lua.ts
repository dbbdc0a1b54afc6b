import { createHash } from 'node:crypto';
import type { RedisClient } from '../client.js';

/** A Lua script run by EVALSHA, falling back to EVAL once when the server lost its script cache (restart, failover). */
export class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(r: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await r.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return r.eval(this.source, keys.length, ...keys, ...args);
      throw err;
    }
  }
}
