import { randomBytes } from 'node:crypto';
import { ConfigError, admissionSpec, cdrStreamSpec, commonSpec, readConfig, routingSpec, sipSpec, type ConfigOf, type Env } from '@kumo/config';
import { createSipMetrics, startOpsServer, type Logger, type ProcessContext, type SipMetrics } from '@kumo/runtime';
import {
  AuthGuardStore,
  CdrStreams,
  type CdrReplication,
  DirectoryRepo,
  HuntStateStore,
  LocationStore,
  createRedis,
  keySchema,
  pingRedis,
  type KeySchema,
  type RedisClient,
} from '@kumo/store';
import type { DigestAlgorithm } from './auth/digest.js';
import { createInviteHandler } from './call/hook.js';
import { LocalDialogRegistry } from './call/dialogs.js';
import { LocalPickupRegistry } from './call/pickup.js';
import type { AdmitCall, RouteDeps } from './request-route/route.js';
import type { CallAdmission } from './admission/call-admission.js';
import { createCallAdmission } from './admission/create.js';
import { admissionStep, overloadGateStep, registerRateCap } from './admission/route-step.js';
import { connectEngine, type EngineConnection } from './drachtio/adapter.js';
import type { SipHandler } from './drachtio/types.js';
import type { RegistrarDirectory } from './registrar/directory.js';
import { cachedDirectory, storeDirectory } from './registrar/directory-store.js';
import { createRegistrar, type RegistrarSettings } from './registrar/registrar.js';
import { methodHandlers } from './methods/methods.js';

export type SipConfig = ConfigOf<typeof sipSpec>;

/** Reads and checks the sip process's settings (every problem at once). */
export function readSipConfig(env: Env): {
  common: ConfigOf<typeof commonSpec>;
  sip: SipConfig;
  routing: ConfigOf<typeof routingSpec>;
  cdr: ConfigOf<typeof cdrStreamSpec>;
  admission: ConfigOf<typeof admissionSpec>;
} {
  const cfg = readConfig({ common: commonSpec, sip: sipSpec, routing: routingSpec, cdr: cdrStreamSpec, admission: admissionSpec }, env);
  const problems: string[] = [];
  const s = cfg.sip;
  if (cfg.common.redisUrl === undefined) problems.push('KUMO_REDIS_URL: required by the sip process');
  if (s.nonceSecret === undefined && env.NODE_ENV === 'production') problems.push('KUMO_NONCE_SECRET: required when NODE_ENV=production');
  if (s.regMinExpires > s.regMaxExpires) problems.push('KUMO_SIP_REG_MIN_EXPIRES: must not exceed KUMO_SIP_REG_MAX_EXPIRES');
  if (s.regDefaultExpires < s.regMinExpires || s.regDefaultExpires > s.regMaxExpires) {
    problems.push('KUMO_SIP_REG_DEFAULT_EXPIRES: must lie between the minimum and maximum expiry');
  }
  if (s.digestAlgorithms.length === 0) problems.push('KUMO_SIP_DIGEST_ALGORITHMS: name at least one algorithm');
  if (cfg.admission.leaseRenewMs * 2 > cfg.admission.leaseTtlMs) {
    problems.push('KUMO_ADMISSION_LEASE_RENEW_MS: must be at most half of KUMO_ADMISSION_LEASE_TTL_MS');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return cfg;
}

/** Registrar settings from config; a random nonce secret when none is configured (dev only). */
export function registrarSettings(s: SipConfig, log?: Logger): RegistrarSettings {
  let secret = s.nonceSecret;
  if (secret === undefined) {
    secret = randomBytes(32).toString('hex');
    log?.warn('KUMO_NONCE_SECRET unset: using a random per-process nonce secret (set it when running several sip workers)');
  }
  return {
    minExpires: s.regMinExpires,
    maxExpires: s.regMaxExpires,
    defaultExpires: s.regDefaultExpires,
    maxContacts: s.regMaxContacts,
    contactsPolicy: s.regContactsPolicy,
    nonceSecret: secret,
    nonceLifetimeMs: s.nonceLifetimeS * 1000,
    algorithms: [...new Set(s.digestAlgorithms)] as DigestAlgorithm[],
    md5FirstUserAgents: s.digestMd5FirstUserAgents,
    ipHostDomain: s.ipHostDomain,
    domainAliases: s.domainAliases,
    bruteForce: {
      windowMs: s.bfWindowS * 1000,
      ipThreshold: s.bfIpThreshold,
      aorThreshold: s.bfAorThreshold,
      blockMs: s.bfBlockS * 1000,
      action: s.bfAction,
    },
  };
}

export interface SipAppDeps {
  readonly redis: RedisClient;
  readonly keys: KeySchema;
  readonly log: Logger;
  readonly metrics?: SipMetrics;
  readonly registrar: RegistrarSettings;
  /** Defaults to the provisioning data in Redis (DirectoryRepo). */
  readonly directory?: RegistrarDirectory;
  /** Call control (INVITE); without it INVITEs are answered 501. */
  readonly calls?: {
    readonly cdrShards: number;
    /** Replicas that must confirm each CDR publish (KUMO_CDR_MIN_REPLICAS); default none. */
    readonly cdrReplication?: CdrReplication;
    readonly trunkSetupTimeoutSec: number;
    readonly trunkRingCapSec: number;
    /** The admission step; default: `admission` below, else admit everything. */
    readonly admitCall?: AdmitCall;
    /** The early overload gate; default: `admission` below, else none. */
    readonly overloadGate?: RouteDeps['overloadGate'];
  };
  /** Contract and overload enforcement (docs/admission.md): the admitCall step and the REGISTER cap. */
  readonly admission?: { readonly service: CallAdmission; readonly burstSeconds: number };
}

export interface SipApp {
  readonly handlers: Readonly<Record<string, SipHandler>>;
  readonly location: LocationStore;
  readonly guard: AuthGuardStore;
  /** Bridged legs of this process (attended transfer); exposed for tests. */
  readonly dialogs: LocalDialogRegistry;
  /** In-process call state, for leak checks and diagnostics: all 0 once no call is ringing or bridged. */
  stats(): { readonly ringing: number; readonly bridgedLegs: number };
}

/** How long a tenant looked up by SIP domain is reused (status changes reach the registrar within this). */
const TENANT_CACHE_MS = 2_000;

/** Builds the request handlers by method: REGISTER → registrar, INVITE → call-control hook, OPTIONS and the rest → methods/. */
export function createSipApp(d: SipAppDeps): SipApp {
  const location = new LocationStore(d.redis, d.keys);
  const guard = new AuthGuardStore(d.redis, d.keys);
  const directory = d.directory ?? cachedDirectory(storeDirectory(new DirectoryRepo(d.redis, d.keys)), TENANT_CACHE_MS);
  const registrar = createRegistrar({
    settings: d.registrar,
    directory,
    location,
    guard,
    log: d.log,
    ...(d.metrics ? { metrics: d.metrics } : {}),
  });
  const adm = d.admission;
  const register = adm ? registerRateCap(adm.service, registrar) : registrar;
  const c = d.calls;
  const admitCall = c?.admitCall ?? (adm ? admissionStep(adm.service, { burstSeconds: adm.burstSeconds }) : undefined);
  const dialogs = new LocalDialogRegistry();
  const pickups = new LocalPickupRegistry();
  const invite = c
    ? createInviteHandler({
        log: d.log.child({ component: 'calls' }),
        directory: new DirectoryRepo(d.redis, d.keys),
        location,
        hunt: new HuntStateStore(d.redis, d.keys),
        guard,
        publishCdr: ((streams) => (cdr) => streams.publishCdr(cdr))(new CdrStreams(d.redis, d.keys, c.cdrShards, c.cdrReplication)),
        pickups,
        dialogs,
        auth: {
          nonceSecret: d.registrar.nonceSecret,
          nonceLifetimeMs: d.registrar.nonceLifetimeMs,
          algorithms: d.registrar.algorithms,
          md5FirstUserAgents: d.registrar.md5FirstUserAgents,
        },
        trunkSetupTimeoutSec: c.trunkSetupTimeoutSec,
        trunkRingCapSec: c.trunkRingCapSec,
        tenantHosts: { ipHostDomain: d.registrar.ipHostDomain, domainAliases: d.registrar.domainAliases },
        ...(admitCall ? { admitCall } : {}),
        ...(c.overloadGate ? { overloadGate: c.overloadGate } : adm ? { overloadGate: overloadGateStep(adm.service) } : {}),
      })
    : createInviteHandler();
  return {
    handlers: { ...methodHandlers(), REGISTER: register, INVITE: invite },
    location,
    guard,
    dialogs,
    stats: () => ({ ringing: pickups.size, bridgedLegs: dialogs.size }),
  };
}

/** How long `runSip` waits for the first engine connection before resolving anyway (it keeps retrying). */
const FIRST_CONNECT_WAIT_MS = 10_000;

/**
 * The sip process: reads its config, connects to Redis and to the engine's control port, serves
 * /metrics, /healthz, /readyz, and routes REGISTER to the registrar and INVITE to call control.
 */
export async function runSip(ctx: ProcessContext): Promise<void> {
  const cfg = readSipConfig(ctx.env);
  const log = ctx.log.child({ svc: 'sip' });
  const redis = createRedis(cfg.common.redisUrl as string);
  ctx.lifecycle.onClose('redis', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  const keys = keySchema(cfg.common.redisKeyPrefix);
  const metrics = createSipMetrics(ctx.registry);
  const admission = createCallAdmission({ redis, keys, config: cfg.admission, log, registry: ctx.registry });
  await admission.start();
  ctx.lifecycle.onClose('admission', () => admission.close());
  const app = createSipApp({
    redis,
    keys,
    log,
    metrics,
    registrar: registrarSettings(cfg.sip, log),
    calls: {
      cdrShards: cfg.cdr.shards,
      cdrReplication: { minReplicas: cfg.cdr.minReplicas, timeoutMs: cfg.cdr.replicaTimeoutMs },
      trunkSetupTimeoutSec: cfg.routing.trunkSetupTimeoutS, trunkRingCapSec: cfg.routing.trunkRingCapS },
    admission: { service: admission, burstSeconds: cfg.admission.rateBurstS },
  });
  const repo = new DirectoryRepo(redis, keys);
  metrics.setBindingCounter(async () => {
    const out = new Map<string, number>();
    const page = await repo.listTenants({ limit: 1000 });
    const counts = await Promise.all(page.items.map((t) => app.location.countBindings(t.id)));
    page.items.forEach((t, i) => out.set(t.id, counts[i] ?? 0));
    return out;
  });

  const engine: { conn?: EngineConnection } = {};
  const ops = await startOpsServer({
    host: cfg.sip.opsListen.host,
    port: cfg.sip.opsListen.port,
    registry: ctx.registry,
    ready: async () => (engine.conn?.isConnected() ?? false) && (await pingRedis(redis)),
  });
  ctx.lifecycle.onClose('ops-server', ops.close);
  log.info({ port: ops.port }, 'ops server listening');

  const conn = connectEngine({
    host: cfg.sip.engineControl.host,
    port: cfg.sip.engineControl.port,
    secret: cfg.sip.engineSecret,
    log,
    metrics,
    handlers: app.handlers,
  });
  engine.conn = conn;
  ctx.lifecycle.onClose('engine-connection', () => conn.close());
  let timer: NodeJS.Timeout | undefined;
  const waited = await Promise.race([
    conn.connected.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), FIRST_CONNECT_WAIT_MS))),
  ]);
  if (timer) clearTimeout(timer);
  if (!waited) log.warn({ engine: cfg.sip.engineControl }, 'engine not reachable yet; serving once it is (retrying)');
}
