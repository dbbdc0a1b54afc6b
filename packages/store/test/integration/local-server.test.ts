/**
 * The local redis-server `kumo up` runs (and the test kit uses) survives a write torn inside a transaction:
 * a Lua script's effects reach the AOF as one MULTI/EXEC block, and a crash can leave only part of it on disk.
 * Redis 7.0's own tail truncation keeps the block's MULTI and applies its first half at the restart after
 * next; `startLocalRedis` cuts the torn block off before each start instead.
 */
import { readdirSync, statSync, truncateSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedis, startLocalRedis, type AofRepair, type LocalRedis, type RedisClient } from '@kumo/store';
import { freePort } from '@kumo/testkit';

const SETTINGS = { appendonly: 'yes', appendfsync: 'always', save: '' };
const TWO_WRITES = "redis.call('SET', KEYS[1], '1'); redis.call('SET', KEYS[2], '1'); return 1";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(dir: string, port: number, repairs: AofRepair[]): Promise<{ server: LocalRedis; redis: RedisClient }> {
  const server = await startLocalRedis({ port, dir, settings: SETTINGS, onAofRepair: (r) => repairs.push(r) });
  const redis = createRedis(server.url, { maxRetriesPerRequest: 3 });
  redis.on('error', () => undefined);
  cleanups.push(() => redis.disconnect(), () => server.stop());
  return { server, redis };
}

function incrFile(dir: string): string {
  const aofDir = join(dir, 'appendonlydir');
  const name = readdirSync(aofDir).find((f) => f.endsWith('.incr.aof'));
  if (name === undefined) throw new Error('no incr AOF');
  return join(aofDir, name);
}

describe('startLocalRedis: AOF torn inside a transaction', () => {
  it('drops the whole torn script at the restart and never applies half of it later', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-aof-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const repairs: AofRepair[] = [];

    const a = await start(dir, port, repairs);
    await a.redis.set('before', '1');
    await a.redis.eval(TWO_WRITES, 2, 'half-1', 'half-2');
    await a.server.stop();
    // the crash tore the script's block: its EXEC and the end of its second SET never reached the disk
    const file = incrFile(dir);
    const size = statSync(file).size;
    truncateSync(file, size - 20);

    const b = await start(dir, port, repairs);
    expect(await b.redis.mget('before', 'half-1', 'half-2')).toEqual(['1', null, null]);
    // later writes, then a crash and a restart: the torn script's first half must not come back with them
    await b.redis.set('after', '1');
    await b.redis.eval(TWO_WRITES, 2, 'next-1', 'next-2');
    await b.server.restart('SIGKILL');
    await b.redis.ping();
    expect(await b.redis.mget('before', 'half-1', 'half-2', 'after', 'next-1', 'next-2')).toEqual(['1', null, null, '1', '1', '1']);
    // cut once, before the MULTI of the torn block; the restart after it found a whole file
    expect(repairs).toHaveLength(1);
    expect(repairs[0]!.fromBytes).toBe(size - 20);
    expect(repairs[0]!.toBytes).toBeLessThan(size - 20);
  }, 30_000);

  it('leaves a whole AOF alone and refuses one damaged beyond its tail with the checker’s words', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-aof-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const repairs: AofRepair[] = [];
    const a = await start(dir, port, repairs);
    await a.redis.eval(TWO_WRITES, 2, 'k1', 'k2');
    await a.server.restart('SIGKILL');
    expect(await a.redis.mget('k1', 'k2')).toEqual(['1', '1']);
    expect(repairs).toEqual([]);
    await a.server.stop();
    // the manifest names an incr file that is gone: no tail cut can fix that
    rmSync(incrFile(dir));
    await expect(startLocalRedis({ port, dir, settings: SETTINGS })).rejects.toMatchObject({ code: 'KUMO_ERR_REDIS_START' });
  }, 30_000);
});
