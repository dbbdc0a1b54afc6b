import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRedis } from '@kumo/store';
import { freePort } from '@kumo/testkit';

const conf = fileURLToPath(new URL('../../../../infra/redis/redis.conf', import.meta.url));

describe('infra/redis/redis.conf', () => {
  it('loads in the installed redis-server with AOF on and noeviction', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'kumo-conf-'));
    // Command-line options override the file: loopback, a free port, a temp dir.
    const child = spawn('redis-server', [conf, '--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--maxmemory', '64mb'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const redis = createRedis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 20, retryStrategy: (n) => (n > 50 ? null : 100) });
    redis.on('error', () => undefined);
    try {
      const cfg = async (name: string) => ((await redis.call('CONFIG', 'GET', name)) as string[])[1];
      expect(await cfg('appendonly'), stderr).toBe('yes');
      expect(await cfg('appendfsync')).toBe('everysec');
      expect(await cfg('maxmemory-policy')).toBe('noeviction');
    } finally {
      redis.disconnect();
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
