import { createOperatorKey } from '@kumo/api';
import { commonSpec, ConfigError, readConfig } from '@kumo/config';
import type { Env } from '@kumo/runtime';
import { createRedis, keySchema } from '@kumo/store';

/**
 * `kumo operator-key <name>`: issues an operator API key for a production bootstrap
 * (the first operator needs one before the API can issue more). Prints the key once.
 */
export async function operatorKey(env: Env, args: readonly string[]): Promise<number> {
  const name = args.join(' ').trim();
  if (name === '' || name.length > 100) {
    process.stderr.write('usage: kumo operator-key <name, 1-100 characters>\n');
    return 2;
  }
  let common;
  try {
    ({ common } = readConfig({ common: commonSpec }, env));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kumo operator-key: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (common.redisUrl === undefined) {
    process.stderr.write('kumo operator-key: set KUMO_REDIS_URL to the Redis of the installation\n');
    return 2;
  }
  const redis = createRedis(common.redisUrl);
  try {
    const issued = await createOperatorKey({ redis, keys: keySchema(common.redisKeyPrefix) }, name);
    process.stdout.write(`${JSON.stringify({ id: issued.id, key: issued.key })}\n`);
    process.stderr.write('Store this key now: only its hash is kept.\n');
    return 0;
  } catch (err) {
    process.stderr.write(`kumo operator-key: ${(err as Error).message}\n`);
    return 1;
  } finally {
    redis.disconnect();
  }
}
