import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRedis } from '@kumo/store';
import { freePort } from '@kumo/testkit';

const conf = fileURLToPath(new URL('../../../../infra/redis/redis.conf', import.meta.url));
const repairScript = fileURLToPath(new URL('../../../../infra/redis/repair-aof-tail.sh', import.meta.url));

/** Runs redis-server with the shipped config (loopback, a free port, the given dir) until `body` is done. */
async function withServer(dir: string, body: (redis: ReturnType<typeof createRedis>, stderr: () => string) => Promise<void>): Promise<void> {
  const port = await freePort();
  // Command-line options override the file: loopback, a free port, a temp dir.
  const child = spawn('redis-server', [conf, '--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--maxmemory', '64mb'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const redis = createRedis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 20, retryStrategy: (n) => (n > 50 ? null : 100) });
  redis.on('error', () => undefined);
  try {
    await body(redis, () => out);
  } finally {
    redis.disconnect();
    await new Promise<void>((r) => {
      if (child.exitCode !== null || child.signalCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGTERM');
    });
  }
}

describe('infra/redis/redis.conf', () => {
  it('loads in the installed redis-server with AOF on and noeviction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-conf-'));
    try {
      await withServer(dir, async (redis, stderr) => {
        const cfg = async (name: string) => ((await redis.call('CONFIG', 'GET', name)) as string[])[1];
        expect(await cfg('appendonly'), stderr()).toBe('yes');
        expect(await cfg('appendfsync')).toBe('everysec');
        expect(await cfg('maxmemory-policy')).toBe('noeviction');
        expect(await cfg('aof-load-truncated')).toBe('no');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a torn AOF tail stops the server until repair-aof-tail.sh cuts the whole torn script off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-conf-'));
    try {
      await withServer(dir, async (redis) => {
        await redis.set('before', '1');
        await redis.eval("redis.call('SET', KEYS[1], '1'); redis.call('SET', KEYS[2], '1'); return 1", 2, 'half-1', 'half-2');
      });
      const aofDir = join(dir, 'appendonlydir');
      const incr = join(aofDir, readdirSync(aofDir).filter((f) => f.endsWith('.incr.aof')).sort().at(-1) as string);
      // a crash tore the script's MULTI/EXEC block
      truncateSync(incr, statSync(incr).size - 20);
      // the shipped config refuses the torn file instead of half-applying it later
      const refused = spawnSync('redis-server', [conf, '--bind', '127.0.0.1', '--port', String(await freePort()), '--dir', dir], { encoding: 'utf8', timeout: 20_000 });
      expect(refused.status, refused.stdout).not.toBe(0);
      expect(refused.stdout).toMatch(/Unexpected end of file|truncated/i);
      const fixed = spawnSync('sh', [repairScript, dir], { encoding: 'utf8', timeout: 20_000 });
      expect(fixed.status, fixed.stdout + fixed.stderr).toBe(0);
      expect(fixed.stdout).toMatch(/Successfully truncated/);
      await withServer(dir, async (redis) => {
        expect(await redis.mget('before', 'half-1', 'half-2')).toEqual(['1', null, null]);
      });
      // on a whole AOF the script changes nothing
      const again = spawnSync('sh', [repairScript, dir], { encoding: 'utf8', timeout: 20_000 });
      expect(again.status).toBe(0);
      expect(again.stdout).not.toMatch(/truncated/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
