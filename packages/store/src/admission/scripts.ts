import type { RedisClient } from '../client.js';

type ScriptFn = (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;

const defined = new WeakMap<RedisClient, Set<string>>();

/**
 * Runs a Lua script by EVALSHA (ioredis `defineCommand` loads it on NOSCRIPT), defining it
 * on the client the first time. Works for standalone, Sentinel and Cluster clients.
 */
export function defineScripts(redis: RedisClient, scripts: Readonly<Record<string, string>>): void {
  let names = defined.get(redis);
  if (!names) {
    names = new Set();
    defined.set(redis, names);
  }
  for (const [name, lua] of Object.entries(scripts)) {
    if (names.has(name)) continue;
    redis.defineCommand(name, { lua });
    names.add(name);
  }
}

/**
 * Call `defineScripts` for every script first (at construction): ioredis auto-pipelining
 * batches created before a command is defined do not know it.
 */
export function runScript(
  redis: RedisClient,
  name: string,
  lua: string,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  let names = defined.get(redis);
  if (!names) {
    names = new Set();
    defined.set(redis, names);
  }
  if (!names.has(name)) {
    redis.defineCommand(name, { lua });
    names.add(name);
  }
  const fn = (redis as unknown as Record<string, ScriptFn>)[name];
  if (typeof fn !== 'function') throw new Error(`script ${name} not defined`);
  return fn.call(redis, keys.length, ...keys, ...args);
}
