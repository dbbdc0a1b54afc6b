import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { buildApp } from '@kumo/api';
import { createRedis, keySchema } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

describe('kumo operator-key', () => {
  it('issues an operator key that the API accepts', async () => {
    const prefix = uniquePrefix('op');
    const r = spawnSync(process.execPath, [MAIN, 'operator-key', 'platform', 'ops'], {
      env: { ...process.env, KUMO_REDIS_URL: inject('redisUrl'), KUMO_REDIS_PREFIX: prefix },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const { key } = JSON.parse(r.stdout) as { key: string };
    const redis = createRedis(inject('redisUrl'));
    const app = await buildApp({ redis, keys: keySchema(prefix), docs: false });
    try {
      const ok = await app.inject({ method: 'GET', url: '/v1/tenants', headers: { authorization: `Bearer ${key}` } });
      expect(ok.statusCode).toBe(200);
      const bad = await app.inject({ method: 'GET', url: '/v1/tenants', headers: { authorization: `Bearer ${key}x` } });
      expect(bad.statusCode).toBe(401);
    } finally {
      await app.close();
      redis.disconnect();
    }
  });

  it('refuses without a name or without KUMO_REDIS_URL', () => {
    const noName = spawnSync(process.execPath, [MAIN, 'operator-key'], { encoding: 'utf8' });
    expect(noName.status).toBe(2);
    const env = { ...process.env };
    delete env['KUMO_REDIS_URL'];
    const noRedis = spawnSync(process.execPath, [MAIN, 'operator-key', 'x'], { env, encoding: 'utf8' });
    expect(noRedis.status).toBe(2);
    expect(noRedis.stderr).toContain('KUMO_REDIS_URL');
  });
});
