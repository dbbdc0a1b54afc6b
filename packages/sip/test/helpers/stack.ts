import { startEngine, type EngineHandle, type EngineOptions } from '@kumo/engine';
import { createRegistry, createSipMetrics, silentLogger, type SipMetrics } from '@kumo/runtime';
import { createRedis, keySchema, type KeySchema, type RedisClient } from '@kumo/store';
import { externalDrachtio, freePort, startDrachtio, uniquePrefix } from '@kumo/testkit';
import {
  connectEngine,
  createSipApp,
  optionsPing,
  registerClient,
  type EngineConnection,
  type RegistrarDirectory,
  type RegistrarSettings,
  type SipApp,
  type SipAppDeps,
} from '@kumo/sip';
import type { Registry } from 'prom-client';

export const TEST_SETTINGS: RegistrarSettings = {
  minExpires: 2,
  maxExpires: 3600,
  defaultExpires: 600,
  maxContacts: 2,
  contactsPolicy: 'reject',
  nonceSecret: 'n'.repeat(32),
  nonceLifetimeMs: 30_000,
  algorithms: ['SHA-256', 'MD5'],
  // sipp 3.6 answers only the first challenge it reads and knows only MD5.
  md5FirstUserAgents: /^sipp/i,
  bruteForce: { windowMs: 60_000, ipThreshold: 1000, aorThreshold: 1000, blockMs: 60_000, action: '403' },
};

export interface Stack {
  /** Kumo's engine (throws on drachtio-server: tests of engine internals run on Kumo's engine only). */
  readonly engine: EngineHandle;
  /** Which SIP server the test runs on: Kumo's engine, or the C++ drachtio-server (KUMO_TEST_DRACHTIO_BIN). */
  readonly server: 'kumo' | 'drachtio';
  readonly conn: EngineConnection;
  readonly app: SipApp;
  readonly redis: RedisClient;
  readonly keys: KeySchema;
  readonly registry: Registry;
  readonly metrics: SipMetrics;
  /** `127.0.0.1:<port>` of the engine's SIP listener (UDP and TCP on the same port). */
  readonly sipTarget: string;
  readonly sipPort: number;
  close(): Promise<void>;
}

/** Engine in-process on free ports + the sip app connected to it over the drachtio protocol. */
export async function startStack(o: {
  redisUrl: string;
  /** Default: the provisioning data in Redis. */
  directory?: RegistrarDirectory;
  settings?: Partial<RegistrarSettings>;
  keys?: KeySchema;
  /** Call control (INVITE routing); without it INVITEs get 501. */
  calls?: SipAppDeps['calls'];
  /** KUMO_SECRET_KEY of the sip app (sealed trunk passwords). */
  secretKey?: Buffer;
  /** SIP timers of the engine (short ones let transaction state expire quickly in tests). */
  timers?: EngineOptions['timers'];
  /** The SIP port to listen on (a restart on the same address); default: a free one. */
  sipPort?: number;
}): Promise<Stack> {
  const log = silentLogger();
  const sipPort = o.sipPort ?? (await freePort());
  const secret = 'test-secret';
  // The drachtio vitest project runs the same suites on the C++ drachtio-server (docs/deploy-drachtio.md).
  const bin = externalDrachtio();
  const server = bin
    ? await startDrachtio({ bin, sipPort, secret })
    : await startEngine({
        listen: [
          { proto: 'udp', host: '127.0.0.1', port: sipPort },
          { proto: 'tcp', host: '127.0.0.1', port: sipPort },
        ],
        control: { host: '127.0.0.1', port: 0 },
        secret,
        log,
        // The engine's admission controller answers 503 when the apps answer slowly; on a CPU-starved CI
        // machine these functional suites would see it. Overload has its own tests (engine, loadtest/overload);
        // the lag and pending-INVITE backstops stay on.
        overload: { latencyHighMs: 0 },
        ...(o.timers ? { timers: o.timers } : {}),
      });
  const redis = createRedis(o.redisUrl);
  const keys = o.keys ?? keySchema(uniquePrefix('sip'));
  const registry = createRegistry('sip-test');
  const metrics = createSipMetrics(registry);
  const app = createSipApp({
    redis,
    keys,
    log,
    metrics,
    registrar: { ...TEST_SETTINGS, ...o.settings },
    ...(o.directory ? { directory: o.directory } : {}),
    ...(o.calls ? { calls: o.calls } : {}),
    ...(o.secretKey ? { secretKey: o.secretKey } : {}),
  });
  const conn = connectEngine({ host: server.control.host, port: server.control.port, secret, log, metrics, handlers: app.handlers });
  await conn.connected;
  app.gatewayMonitor?.start(optionsPing(conn.srf));
  app.trunkRegistrant?.start(registerClient(conn.srf));
  return {
    get engine(): EngineHandle {
      if ('stats' in server) return server;
      throw new Error('engine internals are not available on drachtio-server (this test belongs to Kumo\'s engine only)');
    },
    server: bin ? 'drachtio' : 'kumo',
    conn,
    app,
    redis,
    keys,
    registry,
    metrics,
    sipPort,
    sipTarget: `127.0.0.1:${sipPort}`,
    async close() {
      await app.gatewayMonitor?.close();
      await app.trunkRegistrant?.close();
      await conn.close();
      await server.close();
      redis.disconnect();
    },
  };
}
