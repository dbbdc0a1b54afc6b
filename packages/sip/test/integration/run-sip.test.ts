import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEngine, type EngineHandle } from '@kumo/engine';
import { Lifecycle, createRegistry, silentLogger } from '@kumo/runtime';
import { ProvisioningRepo, SYSTEM_ACTOR, createRedis, keySchema } from '@kumo/store';
import { freePort, uniquePrefix } from '@kumo/testkit';
import { buildDigestAuthorization, parseChallenge, readSipConfig, runSip } from '@kumo/sip';
import { TestUac } from '../helpers/sip-client.js';

describe('runSip: the sip process against an engine, provisioning in Redis', () => {
  const prefix = uniquePrefix('runsip');
  const redis = createRedis(inject('redisUrl'));
  const log = silentLogger();
  const lifecycle = new Lifecycle(log, 5000);
  const registry = createRegistry('sip');
  let engine: EngineHandle;
  let opsPort: number;
  let sipPort: number;
  beforeAll(async () => {
    const repo = new ProvisioningRepo(redis, keySchema(prefix));
    await repo.createTenant(
      { id: 'demo', name: 'Demo', sipDomain: 'demo.kumo.test', ports: 100, trunkChannels: 4, callsPerSecond: 5, status: 'active', restrictionLevel: 0, notes: '' },
      SYSTEM_ACTOR,
    );
    await repo.createExtension(
      'demo',
      { number: '1001', displayName: 'Desk', password: 'pass1001', permissionClass: 'internal', callerIdPresentation: 'allowed', device: {}, department: '', noAnswerTimeoutSec: 30, forwarding: {} },
      SYSTEM_ACTOR,
    );
    sipPort = await freePort();
    engine = await startEngine({
      listen: [{ proto: 'udp', host: '127.0.0.1', port: sipPort }],
      control: { host: '127.0.0.1', port: 0 },
      secret: 's3cret',
      log,
    });
    opsPort = await freePort();
    await runSip({
      env: {
        KUMO_REDIS_URL: inject('redisUrl'),
        KUMO_REDIS_PREFIX: prefix,
        KUMO_ENGINE_CONTROL: `127.0.0.1:${engine.control.port}`,
        KUMO_ENGINE_SECRET: 's3cret',
        KUMO_SIP_OPS_LISTEN: `127.0.0.1:${opsPort}`,
        KUMO_NONCE_SECRET: 'x'.repeat(32),
      },
      log,
      lifecycle,
      registry,
    });
  });
  afterAll(async () => {
    await lifecycle.shutdown('test done');
    await engine.close();
    redis.disconnect();
  });

  it('reports config problems all at once', () => {
    expect(() => readSipConfig({ KUMO_SIP_REG_MIN_EXPIRES: '9000', KUMO_SIP_BF_ACTION: 'shout', NODE_ENV: 'production' })).toThrow(
      /KUMO_SIP_BF_ACTION[\s\S]*/,
    );
    try {
      readSipConfig({ KUMO_SIP_REG_MIN_EXPIRES: '9000', NODE_ENV: 'production' });
    } catch (e) {
      expect((e as { problems: string[] }).problems).toEqual([
        'KUMO_REDIS_URL: required by the sip process',
        'KUMO_NONCE_SECRET: required when NODE_ENV=production',
        'KUMO_SIP_REG_MIN_EXPIRES: must not exceed KUMO_SIP_REG_MAX_EXPIRES',
        'KUMO_SIP_REG_DEFAULT_EXPIRES: must lie between the minimum and maximum expiry',
      ]);
    }
  });

  it('is ready, registers the provisioned extension, and reports metrics', async () => {
    expect((await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status).toBe(200);
    const uac = await TestUac.open('udp', '127.0.0.1', sipPort);
    try {
      const base = { user: '1001', domain: 'demo.kumo.test', contact: '<sip:1001@127.0.0.1:7400>', expires: 600, callId: 'runsip-1' };
      const c = await uac.register({ ...base, cseq: 1 });
      expect(c.status).toBe(401);
      const ch = parseChallenge(c.all('www-authenticate')[0]!)!;
      const authorization = buildDigestAuthorization({
        algorithm: ch.algorithm, username: '1001', password: 'pass1001', realm: ch.realm, nonce: ch.nonce, method: 'REGISTER',
        uri: 'sip:demo.kumo.test', nc: 1, cnonce: randomBytes(6).toString('hex'),
      });
      const ok = await uac.register({ ...base, cseq: 2, authorization });
      expect(ok.status, ok.raw).toBe(200);
    } finally {
      uac.close();
    }
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(metrics).toMatch(/kumo_sip_register_total\{outcome="ok",proc="sip"\} 1/);
    expect(metrics).toMatch(/kumo_sip_registered_bindings\{tenant="demo",proc="sip"\} 1/);
    expect(metrics).toMatch(/kumo_sip_engine_connected\{proc="sip"\} 1/);
  });
});
