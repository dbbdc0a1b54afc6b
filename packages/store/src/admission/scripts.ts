import type { RedisClient } from '../client.js';
import { LuaScript } from '../script.js';

const scripts = new Map<string, LuaScript>();

function scriptOf(lua: string): LuaScript {
  let s = scripts.get(lua);
  if (s === undefined) {
    s = new LuaScript(lua);
    scripts.set(lua, s);
  }
  return s;
}

/** Prepares the named scripts (their SHA-1s) ahead of traffic. Nothing is defined on the client (see LuaScript). */
export function defineScripts(_redis: RedisClient, named: Readonly<Record<string, string>>): void {
  for (const lua of Object.values(named)) scriptOf(lua);
}

/**
 * Runs a Lua script by EVALSHA, falling back to EVAL on NOSCRIPT (LuaScript). `name` names the script in
 * callers' code only. Works for standalone, Sentinel and Cluster clients.
 */
export function runScript(
  redis: RedisClient,
  _name: string,
  lua: string,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  return scriptOf(lua).run(redis, keys, args);
}
