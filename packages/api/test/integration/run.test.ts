import { describe, expect, inject, it } from 'vitest';
import { ConfigError } from '@kumo/config';
import { Lifecycle, createRegistry, silentLogger } from '@kumo/runtime';
import { DirectoryRepo, createRedis, ha1Of, keySchema } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';
import { runApi, seedDemo } from '@kumo/api';

describe('runApi', () => {
  it('reads its config, listens, serves and closes cleanly', async () => {
    const log = silentLogger();
    const lifecycle = new Lifecycle(log, 5000);
    const prefix = uniquePrefix('run');
    const { url } = await runApi({
      env: { KUMO_REDIS_URL: inject('redisUrl'), KUMO_REDIS_PREFIX: prefix, KUMO_API_LISTEN: '127.0.0.1:0', KUMO_LOG_LEVEL: 'silent' },
      log,
      lifecycle,
      registry: createRegistry('api'),
    });
    try {
      expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready', redis: true });
      const redis = createRedis(inject('redisUrl'));
      const creds = await seedDemo({ redis, keys: keySchema(prefix) });
      redis.disconnect();
      const r = await fetch(`${url}/v1/tenants/demo/extensions?limit=3`, { headers: { authorization: `Bearer ${creds.tenantAdminKey}` } });
      expect(((await r.json()) as { items: { number: string }[] }).items.map((e) => e.number)).toEqual(['1001', '1002', '1003']);
      const m = await (await fetch(`${url}/metrics`)).text();
      expect(m).toContain('kumo_api_requests_total{method="GET",route="/v1/tenants/:tenantId/extensions",status="200",proc="api"} 1');
      expect(m).toContain('kumo_process_cpu'); // default metrics of the ctx registry
    } finally {
      await lifecycle.shutdown('test');
    }
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('reports every config problem at once', async () => {
    const log = silentLogger();
    const run = runApi({ env: { KUMO_API_LISTEN: 'nope', KUMO_API_BODY_LIMIT: '1', KUMO_REDIS_URL: 'http://x' }, log, lifecycle: new Lifecycle(log, 100), registry: createRegistry('api') });
    await expect(run).rejects.toBeInstanceOf(ConfigError);
    const err = (await run.catch((e: unknown) => e)) as ConfigError;
    expect(err.problems.map((p) => p.split('=')[0])).toEqual(['KUMO_REDIS_URL', 'KUMO_API_LISTEN', 'KUMO_API_BODY_LIMIT']);
    await expect(runApi({ env: {}, log, lifecycle: new Lifecycle(log, 100), registry: createRegistry('api') })).rejects.toThrow(/KUMO_REDIS_URL/);
  });
});

describe('seedDemo', () => {
  it('is idempotent and keeps or re-imports the credentials it is given', async () => {
    const redis = createRedis(inject('redisUrl'));
    try {
      const keys = keySchema(uniquePrefix('demo'));
      const first = await seedDemo({ redis, keys });
      expect(first).toMatchObject({ tenantId: 'demo', sipDomain: 'demo.kumo.test', tenantCreated: true, keysIssued: true });
      expect(first.extensions['1010']).toBe('pass1010');
      const dir = new DirectoryRepo(redis, keys);
      const t = await dir.tenantByDomain('demo.kumo.test');
      expect(t).toMatchObject({ id: 'demo', ports: 100, trunkChannels: 10, status: 'active' });
      expect((await dir.listExtensions('demo')).items.map((e) => e.number)).toEqual(Array.from({ length: 10 }, (_, i) => String(1001 + i)));
      expect((await dir.extension('demo', '1005'))?.ha1Md5).toBe(ha1Of('1005', 'demo.kumo.test', 'pass1005').ha1Md5);
      expect((await dir.ringGroup('demo', '500'))?.members.map((m) => m.extension)).toEqual(['1001', '1002', '1003']);
      expect((await dir.ringGroup('demo', '500'))?.strategy).toBe('ring-all');
      expect((await dir.pickupGroup('demo', 'desk'))?.members).toEqual(['1001', '1002', '1003', '1004', '1005']);

      const again = await seedDemo({ redis, keys }, { keys: { operatorKey: first.operatorKey, tenantAdminKey: first.tenantAdminKey } });
      expect(again).toMatchObject({ tenantCreated: false, keysIssued: false, operatorKey: first.operatorKey, tenantAdminKey: first.tenantAdminKey });
      expect(await dir.countExtensions('demo')).toBe(10);

      // A wiped Redis (new prefix) with the old credentials file: the same keys work again.
      const fresh = keySchema(uniquePrefix('demo'));
      const restored = await seedDemo({ redis, keys: fresh }, { keys: { operatorKey: first.operatorKey, tenantAdminKey: first.tenantAdminKey } });
      expect(restored).toMatchObject({ tenantCreated: true, keysIssued: false, operatorKey: first.operatorKey });

      // Swapped or garbage keys are replaced.
      const swapped = await seedDemo({ redis, keys }, { keys: { operatorKey: first.tenantAdminKey, tenantAdminKey: 'garbage' } });
      expect(swapped.keysIssued).toBe(true);
      expect(swapped.operatorKey).not.toBe(first.tenantAdminKey);
    } finally {
      redis.disconnect();
    }
  });
});

describe('Redis unavailable', () => {
  it('a stuck Redis answers 503 KUMO_ERR_UNAVAILABLE (command timeout) and /readyz 503, and recovers', async () => {
    const { startRedis } = await import('@kumo/testkit');
    const { buildApp, createOperatorKey } = await import('@kumo/api');
    const r = await startRedis();
    const redis = createRedis(r.url, { maxRetriesPerRequest: 1, commandTimeout: 300 });
    redis.on('error', () => undefined);
    const keys = keySchema(uniquePrefix('down'));
    const app = await buildApp({ redis, keys });
    try {
      const { key } = await createOperatorKey({ redis, keys }, 'op');
      const auth = { authorization: `Bearer ${key}` };
      expect((await app.inject({ url: '/v1/me', headers: auth })).statusCode).toBe(200);
      r.process.kill('SIGSTOP');
      const me = await app.inject({ url: '/v1/me', headers: auth });
      expect([me.statusCode, me.json().code]).toEqual([503, 'KUMO_ERR_UNAVAILABLE']);
      expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503);
      r.process.kill('SIGCONT');
      await expect.poll(async () => (await app.inject({ url: '/readyz' })).statusCode, { timeout: 5000 }).toBe(200);
    } finally {
      r.process.kill('SIGCONT');
      await app.close();
      redis.disconnect();
      await r.stop();
    }
  });
});
