/**
 * The stack both call benchmarks run: a private redis-server, the Kumo engine (UDP, free
 * port) and the sip app in this Node process, connected over the drachtio protocol, with the
 * bench tenant and its extensions 1001 and 1002 (password `pass<ext>x`) provisioned.
 * KUMO_BENCH_LOG=warn (or error, debug…) shows the engine's and the sip app's logs.
 */
import { startEngine, type EngineHandle } from '@kumo/engine';
import { seedBenchTenant } from './bench-tenant.js';
import { createLogger, silentLogger } from '@kumo/runtime';
import { createRedis, keySchema, type KeySchema, type RedisClient } from '@kumo/store';
import { connectEngine, createSipApp, type EngineConnection, type SipApp } from '@kumo/sip';
import { freePort, startRedis } from '@kumo/testkit';

export { BENCH_DOMAIN } from './bench-tenant.js';

export interface CallBenchStack {
  readonly redis: RedisClient;
  readonly keys: KeySchema;
  readonly engine: EngineHandle;
  readonly conn: EngineConnection;
  readonly app: SipApp;
  readonly sipPort: number;
  close(): Promise<void>;
}

export async function startCallBenchStack(o: { ports: number }): Promise<CallBenchStack> {
  const rh = await startRedis({ settings: { appendonly: 'no' } });
  const redis = createRedis(rh.url);
  const keys = keySchema('bench');
  const level = process.env.KUMO_BENCH_LOG;
  const log = level !== undefined ? createLogger({ name: 'bench', level }) : silentLogger();
  const sipPort = await freePort();
  const engine = await startEngine({ listen: [{ proto: 'udp', host: '127.0.0.1', port: sipPort }], control: { host: '127.0.0.1', port: 0 }, secret: 's', log });
  const app = createSipApp({
    redis,
    keys,
    log,
    registrar: {
      minExpires: 60,
      maxExpires: 3600,
      defaultExpires: 600,
      maxContacts: 5,
      contactsPolicy: 'replace-oldest',
      nonceSecret: 'n'.repeat(32),
      nonceLifetimeMs: 60_000,
      algorithms: ['SHA-256', 'MD5'],
      md5FirstUserAgents: /^sipp/i,
      bruteForce: { windowMs: 60_000, ipThreshold: 1_000_000, aorThreshold: 1_000_000, blockMs: 1000, action: '403' },
    },
    calls: { cdrShards: 4, trunkSetupTimeoutSec: 5, trunkRingCapSec: 60 },
  });
  const conn = connectEngine({ host: '127.0.0.1', port: engine.control.port, secret: 's', log, handlers: app.handlers });
  await conn.connected;
  await seedBenchTenant(redis, keys, o.ports);
  return {
    redis,
    keys,
    engine,
    conn,
    app,
    sipPort,
    async close() {
      await conn.close();
      await engine.close();
      redis.disconnect();
      await rh.stop();
    },
  };
}
