import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError, admissionSpec, cdrStreamSpec, commonSpec, placeholderSecretProblems, readConfig, routingSpec, sipSpec, type ConfigOf, type Env } from '@kumo/config';
import {
  createCallMetrics,
  createReliabilityMetrics,
  createSecurityMetrics,
  createSipMetrics,
  createTrunkMetrics,
  startOpsServer,
  type CallMetrics,
  type Logger,
  type ProcessContext,
  type SipMetrics,
  type TrunkMetrics,
} from '@kumo/runtime';
import {
  AdmissionStore,
  AuthGuardStore,
  CachedDirectoryRepo,
  CallRecordStore,
  CdrStreams,
  type CdrReplication,
  DirectoryRepo,
  GatewayHealthStore,
  HuntStateStore,
  TrunkRegistrationStore,
  secretBox,
  LocationStore,
  TollFraudStore,
  createRedis,
  keySchema,
  pingRedis,
  SiteRepo,
  type KeySchema,
  type LegRecord,
  type RedisClient,
} from '@kumo/store';
import { createAuthenticator } from './auth/authenticate.js';
import type { DigestAlgorithm } from './auth/digest.js';
import type { Cdr } from '@kumo/domain';
import { createInviteHandler } from './call/hook.js';
import { createTollGuard, type TollGuard } from './security/toll-guard.js';
import { startTollCutoff } from './security/toll-cutoff.js';
import { CallMetricsHook } from './call/metrics-hook.js';
import { LocalDialogRegistry, SharedDialogRegistry } from './call/dialogs.js';
import { LocalPickupRegistry, SharedPickupRegistry } from './call/pickup.js';
import { WorkerRelay } from './call/relay.js';
import { RelayedDialogs } from './call/relayed-dialogs.js';
import type { AdmitCall, CallLifecycle, RouteDeps } from './request-route/route.js';
import { CallRegistry, type LiveCall } from './call/registry.js';
import { CallRecovery } from './call/recovery.js';
import { byeLeg, type SrfLike } from './call/srf-io.js';
import type { CallAdmission } from './admission/call-admission.js';
import { createCallAdmission } from './admission/create.js';
import { admissionStep, overloadGateStep, registerRateCap } from './admission/route-step.js';
import { connectEngine, type EngineConnection } from './drachtio/adapter.js';
import type { SipHandler } from './drachtio/types.js';
import type { RegistrarDirectory } from './registrar/directory.js';
import { cachedDirectory, storeDirectory } from './registrar/directory-store.js';
import { createRegistrar, type RegistrarSettings } from './registrar/registrar.js';
import { methodHandlers } from './methods/methods.js';
import { optionsPing } from './drachtio/options-ping.js';
import { GatewayMonitor } from './trunks/gateway-monitor.js';
import { registerClient } from './drachtio/register-client.js';
import { throughEdge } from './edge/trusted-edge.js';
import { TrunkRegistrant } from './trunks/registrant.js';

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
  if (s.sessionExpiresS !== 0 && s.sessionExpiresS < 90) problems.push('KUMO_SIP_SESSION_EXPIRES_S: 0 (off) or at least 90 (RFC 4028 Min-SE)');
  if (s.callOwnerDeadMs < s.callHeartbeatMs * 2) problems.push('KUMO_SIP_CALL_OWNER_DEAD_MS: must be at least twice KUMO_SIP_CALL_HEARTBEAT_MS');
  if (cfg.admission.leaseRenewMs * 2 > cfg.admission.leaseTtlMs) {
    problems.push('KUMO_ADMISSION_LEASE_RENEW_MS: must be at most half of KUMO_ADMISSION_LEASE_TTL_MS');
  }
  // Default/placeholder secrets are refused once the engine link or the ops listener is off loopback (docs/security.md).
  problems.push(...placeholderSecretProblems({ KUMO_ENGINE_SECRET: s.engineSecret, KUMO_NONCE_SECRET: s.nonceSecret }, [s.engineControl.host, s.opsListen.host]));
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
    md5OnlyUserAgents: s.digestMd5OnlyUserAgents,
    ipHostDomain: s.ipHostDomain,
    domainAliases: s.domainAliases,
    trustedEdges: s.trustedEdges,
    bruteForce: {
      windowMs: s.bfWindowS * 1000,
      ipThreshold: s.bfIpThreshold,
      aorThreshold: s.bfAorThreshold,
      blockMs: s.bfBlockS * 1000,
      action: s.bfAction,
      trustMs: s.bfTrustS * 1000,
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
  /** KUMO_SECRET_KEY: opens sealed trunk registration passwords. */
  readonly secretKey?: Buffer;
  /** Call control (INVITE); without it INVITEs are answered 501. */
  readonly calls?: {
    readonly cdrShards: number;
    /** Replicas that must confirm each CDR publish (KUMO_CDR_MIN_REPLICAS); default none. */
    readonly cdrReplication?: CdrReplication;
    readonly trunkSetupTimeoutSec: number;
    readonly trunkRingCapSec: number;
    /** OPTIONS pings to trunk gateways (trunks/gateway-monitor.ts); absent or intervalMs 0: off. */
    readonly gatewayHealth?: { readonly intervalMs: number; readonly timeoutMs: number; readonly downAfter: number; readonly metrics?: TrunkMetrics };
    /** Kumo's REGISTER to carriers for registration-based trunks (trunks/registrant.ts); absent: off. */
    readonly trunkRegistration?: { readonly checkMs: number; readonly timeoutMs: number; readonly retryBaseMs?: number; readonly retryMaxMs: number; readonly metrics?: TrunkMetrics };
    /** The admission step; default: `admission` below, else admit everything. */
    readonly admitCall?: AdmitCall;
    /** The early overload gate; default: `admission` below, else none. */
    readonly overloadGate?: RouteDeps['overloadGate'];
    /** Call records, keep-alive and maximum duration (docs/reliability.md); the registry is created when not given. */
    readonly lifecycle?: Partial<CallLifecycle>;
    /** Toll-fraud guard (docs/security.md); default none. */
    readonly tollGuard?: TollGuard;
  };
  /** Contract and overload enforcement (docs/admission.md): the admitCall step and the REGISTER cap. */
  readonly admission?: { readonly service: CallAdmission; readonly burstSeconds: number };
  /** Call metrics (docs/operations.md): finished calls, active calls, setup time, CDR publish failures. */
  readonly callMetrics?: CallMetrics;
  /** The worker relay (docs/scaling.md): pickup and Replaces reach calls of the other sip workers. */
  readonly relayed?: RelayedDialogs;
}

export interface SipApp {
  readonly handlers: Readonly<Record<string, SipHandler>>;
  readonly location: LocationStore;
  readonly guard: AuthGuardStore;
  /** Bridged legs of this process (attended transfer); exposed for tests. */
  readonly dialogs: LocalDialogRegistry;
  /** Trunk gateway pings: started once the engine connection exists (`start(optionsPing(conn.srf))`). */
  readonly gatewayMonitor?: GatewayMonitor;
  /** Registration-based trunks: started once the engine connection exists (`start(registerClient(conn.srf))`). */
  readonly trunkRegistrant?: TrunkRegistrant;
  /** Every call of this process and the work it started (drain, engine-loss reconciliation). */
  readonly calls: CallRegistry;
  /** In-process call state, for leak checks and diagnostics: all 0 once no call is ringing or bridged. */
  stats(): { readonly ringing: number; readonly bridgedLegs: number; readonly relayed: number };
}

/** How long a tenant looked up by SIP domain is reused (status changes reach the registrar within this). */
const TENANT_CACHE_MS = 2_000;

/** Builds the request handlers by method: REGISTER → registrar, INVITE → call-control hook, OPTIONS and the rest → methods/. */
export function createSipApp(d: SipAppDeps): SipApp {
  const location = new LocationStore(d.redis, d.keys);
  const guard = new AuthGuardStore(d.redis, d.keys);
  const directory = d.directory ?? cachedDirectory(storeDirectory(new DirectoryRepo(d.redis, d.keys)), TENANT_CACHE_MS);
  // One authentication step for REGISTER, INVITE and anything else challenged: one brute-force guard.
  const authenticator = createAuthenticator({ settings: d.registrar, guard, location, log: d.log, metrics: d.metrics });
  const registrar = createRegistrar({
    settings: d.registrar,
    directory,
    location,
    guard,
    log: d.log,
    authenticator,
    ...(d.metrics ? { metrics: d.metrics } : {}),
  });
  const adm = d.admission;
  const register = adm ? registerRateCap(adm.service, registrar) : registrar;
  const c = d.calls;
  const admitCall = c?.admitCall ?? (adm ? admissionStep(adm.service, { burstSeconds: adm.burstSeconds }) : undefined);
  // Several workers (docs/scaling.md): ringing calls and bridged legs indexed in Redis, reached through the relay.
  const relayed = d.relayed;
  const dialogs = relayed ? new SharedDialogRegistry(d.redis, d.keys, relayed, d.log.child({ component: 'relay' })) : new LocalDialogRegistry();
  const pickups = relayed ? new SharedPickupRegistry(d.redis, d.keys, relayed, d.log.child({ component: 'relay' })) : new LocalPickupRegistry();
  // Provisioning as the call path, the gateway monitor and the trunk registrant read it (secrets opened).
  const provisioning = new DirectoryRepo(d.redis, d.keys).useSecrets(d.secretKey ? secretBox(d.secretKey) : undefined);
  // The call path reads tenant configuration through a per-process cache versioned by the tenant's audit head.
  const callDirectory = new CachedDirectoryRepo(d.redis, d.keys).useSecrets(d.secretKey ? secretBox(d.secretKey) : undefined);
  const gatewayHealth = new GatewayHealthStore(d.redis, d.keys);
  const gh = c?.gatewayHealth;
  const gatewayMonitor =
    gh && gh.intervalMs > 0
      ? new GatewayMonitor({
          directory: provisioning,
          store: gatewayHealth,
          log: d.log.child({ component: 'gateways' }),
          intervalMs: gh.intervalMs,
          timeoutMs: gh.timeoutMs,
          downAfter: gh.downAfter,
          ...(gh.metrics ? { metrics: gh.metrics } : {}),
        })
      : undefined;
  const tr = c?.trunkRegistration;
  const sites = new SiteRepo(d.redis, d.keys, provisioning);
  const trunkRegistrant = tr
    ? new TrunkRegistrant({
        directory: provisioning,
        store: new TrunkRegistrationStore(d.redis, d.keys),
        log: d.log.child({ component: 'trunk-registration' }),
        checkMs: tr.checkMs,
        timeoutMs: tr.timeoutMs,
        retryMaxMs: tr.retryMaxMs,
        ...(tr.metrics ? { metrics: tr.metrics } : {}),
        ...(tr.retryBaseMs !== undefined ? { retryBaseMs: tr.retryBaseMs } : {}),
        siteLines: async (tenantId) => new Set((await sites.list(tenantId)).map((site) => site.trunkId)),
      })
    : undefined;
  const registry = c?.lifecycle?.registry ?? new CallRegistry();
  const lifecycle: CallLifecycle = { ...c?.lifecycle, registry };
  const callHook = d.callMetrics ? new CallMetricsHook(d.callMetrics) : undefined;
  const invite = c
    ? createInviteHandler({
        log: d.log.child({ component: 'calls' }),
        directory: callDirectory,
        location,
        hunt: new HuntStateStore(d.redis, d.keys),
        gatewayHealth,
        guard,
        ...((streams) => {
          const publish = (cdr: Cdr): Promise<string> => streams.publishCdr(cdr);
          // With call records on one Redis: the CDR and the record's clear in one script (one write).
          const records = lifecycle.records;
          const clearing =
            records?.clearsWithCdr(streams) === true
              ? (cdr: Cdr, r: { readonly tenantId: string; readonly callKey: string }): Promise<string> => records.publishAndClear(streams, cdr, r.tenantId, r.callKey)
              : undefined;
          return {
            publishCdr: callHook ? callHook.publisher(publish) : publish,
            ...(clearing ? { publishCdrClearing: callHook ? callHook.publisher(clearing) : clearing } : {}),
          };
        })(new CdrStreams(d.redis, d.keys, c.cdrShards, c.cdrReplication)),
        pickups,
        dialogs,
        auth: d.registrar,
        authenticator,
        trunkSetupTimeoutSec: c.trunkSetupTimeoutSec,
        trunkRingCapSec: c.trunkRingCapSec,
        lifecycle,
        tenantHosts: { ipHostDomain: d.registrar.ipHostDomain, domainAliases: d.registrar.domainAliases },
        ...(admitCall ? { admitCall } : {}),
        ...(c.tollGuard ? { tollGuard: c.tollGuard } : {}),
        ...(c.overloadGate ? { overloadGate: c.overloadGate } : adm ? { overloadGate: overloadGateStep(adm.service) } : {}),
      }, callHook)
    : createInviteHandler();
  return {
    handlers: edgeAware({ ...methodHandlers(() => registry.draining), REGISTER: register, INVITE: invite }, d.registrar.trustedEdges),
    location,
    guard,
    dialogs,
    ...(gatewayMonitor ? { gatewayMonitor } : {}),
    ...(trunkRegistrant ? { trunkRegistrant } : {}),
    calls: registry,
    stats: () => ({ ringing: pickups.size, bridgedLegs: dialogs.size, relayed: relayed?.size ?? 0 }),
  };
}

/** Every handler sees requests relayed by a trusted edge with the device's source (edge/trusted-edge.ts). */
function edgeAware(handlers: Record<string, SipHandler>, edges: ReadonlySet<string> | undefined): Record<string, SipHandler> {
  return Object.fromEntries(Object.entries(handlers).map(([m, h]) => [m, throughEdge(h, edges)]));
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
  const trunkMetrics = createTrunkMetrics(ctx.registry);
  const admission = createCallAdmission({ redis, keys, config: cfg.admission, log, registry: ctx.registry });
  await admission.start();
  ctx.lifecycle.onClose('admission', () => admission.close());
  // Reliability (docs/reliability.md): call records owned by this process, heart-beaten; dead owners' calls recovered.
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const records = new CallRecordStore(redis, keys, owner);
  const calls = new CallRegistry();
  const reliability = createReliabilityMetrics(ctx.registry);
  const cdrs = new CdrStreams(redis, keys, cfg.cdr.shards, { minReplicas: cfg.cdr.minReplicas, timeoutMs: cfg.cdr.replicaTimeoutMs });
  const engine: { conn?: EngineConnection } = {};
  const recovery = new CallRecovery({
    records,
    publishCdr: (cdr) => cdrs.publishCdr(cdr),
    admission: new AdmissionStore(redis, keys, { leaseTtlMs: cfg.admission.leaseTtlMs, floodWindowMs: cfg.admission.floodWindowMs }),
    hunt: new HuntStateStore(redis, keys),
    // Usually the engine already hung these legs up (it does when its app goes away): do not wait long for answers.
    hangupLeg: (leg) => (engine.conn?.isConnected() ? byeLeg(engine.conn.srf as unknown as SrfLike, leg, log, 2000) : Promise.resolve(undefined)),
    log: log.child({ component: 'recovery' }),
    heartbeatMs: cfg.sip.callHeartbeatMs,
    deadAfterMs: cfg.sip.callOwnerDeadMs,
    onRecovered: () => reliability.endedBySystem('system-failure'),
  });
  reliability.setLiveCalls(() => calls.size);
  // The worker relay (docs/scaling.md): its own subscriber connection; closed after the drain (closers run in reverse).
  const relay = new WorkerRelay({
    redis,
    sub: redis.duplicate(),
    keys,
    self: owner,
    log: log.child({ component: 'relay' }),
    checkMs: cfg.sip.callHeartbeatMs,
    deadAfterMs: cfg.sip.callOwnerDeadMs,
  });
  await relay.start();
  ctx.lifecycle.onClose('relay', () => relay.close());
  // Billing's toll meter tells which calls to end when a tenant's toll spend reaches its limit (docs/security.md).
  const closeTollCutoff = await startTollCutoff({ sub: redis.duplicate(), channel: keys.global.tollCutChannel(), calls, log: log.child({ component: 'toll-cutoff' }) });
  ctx.lifecycle.onClose('toll-cutoff', closeTollCutoff);
  const app = createSipApp({
    relayed: new RelayedDialogs(relay, calls, log.child({ component: 'relay' })),
    redis,
    keys,
    log,
    metrics,
    callMetrics: createCallMetrics(ctx.registry),
    registrar: registrarSettings(cfg.sip, log),
    ...(cfg.common.secretKey ? { secretKey: cfg.common.secretKey } : {}),
    calls: {
      cdrShards: cfg.cdr.shards,
      cdrReplication: { minReplicas: cfg.cdr.minReplicas, timeoutMs: cfg.cdr.replicaTimeoutMs },
      trunkSetupTimeoutSec: cfg.routing.trunkSetupTimeoutS,
      trunkRingCapSec: cfg.routing.trunkRingCapS,
      gatewayHealth: {
        intervalMs: cfg.routing.gatewayPingIntervalS * 1000,
        timeoutMs: cfg.routing.gatewayPingTimeoutMs,
        downAfter: cfg.routing.gatewayDownAfter,
        metrics: trunkMetrics,
      },
      trunkRegistration: { checkMs: 5000, timeoutMs: 10_000, retryMaxMs: cfg.routing.trunkRegRetryMaxS * 1000, metrics: trunkMetrics },
      lifecycle: {
        registry: calls,
        records,
        keepAliveMs: cfg.sip.keepAliveS * 1000,
        maxDurationMs: cfg.sip.maxCallS * 1000,
        sessionExpiresS: cfg.sip.sessionExpiresS,
        onSystemEnd: (cause) => reliability.endedBySystem(cause),
      },
      tollGuard: createTollGuard(
        new TollFraudStore(redis, keys, { internationalPerHour: cfg.admission.tollInternationalPerHour, premiumPerHour: cfg.admission.tollPremiumPerHour, spendPerHour: cfg.admission.tollSpendPerHour }),
        createSecurityMetrics(ctx.registry),
        log,
      ),
    },
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

  const stopping = { now: false };
  const ops = await startOpsServer({
    host: cfg.sip.opsListen.host,
    port: cfg.sip.opsListen.port,
    registry: ctx.registry,
    ready: async () => !stopping.now && !calls.draining && (engine.conn?.isConnected() ?? false) && (await pingRedis(redis)),
  });
  ctx.lifecycle.onClose('ops-server', ops.close);
  log.info({ port: ops.port }, 'ops server listening');

  const reconcile = engineLossReconciler(calls, () => engine.conn, log);
  const conn = connectEngine({
    host: cfg.sip.engineControl.host,
    port: cfg.sip.engineControl.port,
    secret: cfg.sip.engineSecret,
    log,
    metrics,
    handlers: app.handlers,
    onDown: reconcile.down,
    onUp: reconcile.up,
    retryMaxDelayMs: 1000,
  });
  engine.conn = conn;
  ctx.lifecycle.onClose('engine-connection', () => conn.close());
  if (app.gatewayMonitor) {
    const monitor = app.gatewayMonitor;
    monitor.start(optionsPing(conn.srf));
    ctx.lifecycle.onClose('gateway-monitor', () => monitor.close());
  }
  if (app.trunkRegistrant) {
    const registrant = app.trunkRegistrant;
    registrant.start(registerClient(conn.srf));
    ctx.lifecycle.onClose('trunk-registrant', () => registrant.close());
  }
  recovery.start();
  // Closers run in reverse: this one (drain) runs before the engine link and Redis close.
  ctx.lifecycle.extendGrace(cfg.sip.drainGraceMs + 10_000);
  ctx.lifecycle.onClose('calls', async () => {
    stopping.now = true;
    if (cfg.sip.drainHandoff) await handOff(conn, log);
    await drain(calls, recovery, cfg.sip.drainGraceMs, log);
  });
  let timer: NodeJS.Timeout | undefined;
  const waited = await Promise.race([
    conn.connected.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), FIRST_CONNECT_WAIT_MS))),
  ]);
  if (timer) clearTimeout(timer);
  if (!waited) log.warn({ engine: cfg.sip.engineControl }, 'engine not reachable yet; serving once it is (retrying)');
}

/** How long a worker that removed its routes still takes the INVITEs the engine sent it before. */
const HANDOFF_IN_FLIGHT_MS = 1000;

/**
 * Rolling restart (docs/scaling.md): the worker removes its routes from the engine (drachtio
 * `remove_route`; the engine, like drachtio-server, drops every route of the app), so new
 * INVITEs and REGISTERs go to the other workers of the engine while in-dialog requests of this
 * worker's calls still reach it. INVITEs already on their way are taken for a moment, then the
 * usual drain (503 to stragglers, calls left to end) follows.
 */
export async function handOff(conn: EngineConnection, log: Logger): Promise<void> {
  if (!conn.isConnected()) return;
  try {
    // drachtio-srf has it, its typings do not.
    (conn.srf as unknown as { unregisterForMessages(verb: string): void }).unregisterForMessages('invite');
  } catch (err) {
    log.warn({ err }, 'could not remove the routes from the engine');
    return;
  }
  log.info({ inFlightMs: HANDOFF_IN_FLIGHT_MS }, 'routes removed from the engine: new requests go to the other sip workers');
  await new Promise((r) => setTimeout(r, HANDOFF_IN_FLIGHT_MS));
}

/**
 * Graceful stop (docs/reliability.md): new calls get 503 + Retry-After (and /readyz fails);
 * established calls go on for up to `graceMs`; what is left is then ended by the system, with
 * CDRs published, before the engine link and Redis close. A clean stop leaves no call record.
 */
export async function drain(calls: CallRegistry, recovery: CallRecovery | undefined, graceMs: number, log: Logger): Promise<void> {
  calls.drain();
  if (calls.busy > 0) log.info({ calls: calls.size, graceMs }, 'draining: refusing new calls, waiting for calls in progress');
  if (!(await calls.idle(graceMs))) {
    const n = calls.endAll('shutdown');
    log.warn({ calls: n }, 'drain grace over: ending the calls left (CDR end cause shutdown)');
    if (!(await calls.idle(8_000))) log.error({ calls: calls.size, work: calls.busy - calls.size }, 'calls still not finished; their records are left for recovery');
  }
  await recovery?.stop({ retire: calls.busy === 0 });
  log.info({ left: calls.busy }, 'drained');
}

/** How long calls wait for a lost engine link to come back before they are ended anyway. */
const ENGINE_LOSS_WAIT_MS = 10_000;
/** BYEs older than this are not sent any more after a reconnection. */
const PENDING_BYE_MAX_AGE_MS = 5 * 60_000;

/**
 * Engine loss: the engine link is gone and with it (on the Kumo engine) every dialog, while the
 * parties — media flows between them, not through Kumo — may still be talking. When a link is
 * back (the same engine or another one) the calls of this process are ended: a BYE built from
 * each leg's record goes to each party as a new request, and the CDR (end cause `engine-lost`)
 * is billed up to then. A link that stays away for `waitMs` ends the calls anyway; their BYEs
 * go out once a link is back.
 */
export function engineLossReconciler(
  calls: CallRegistry,
  conn: () => EngineConnection | undefined,
  log: Logger,
  waitMs = ENGINE_LOSS_WAIT_MS,
): { down: () => void; up: () => void } {
  let pending: { at: number; leg: LegRecord }[] = [];
  let lost: LiveCall[] = [];
  let timer: NodeJS.Timeout | undefined;
  const endLost = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const at = Date.now();
    for (const c of lost) {
      for (const leg of c.legs()) pending.push({ at, leg });
      c.end('engine-lost');
    }
    lost = [];
  };
  return {
    down: () => {
      const live = calls.list();
      if (live.length === 0) return;
      lost.push(...live);
      log.error({ calls: live.length }, 'engine link lost: the calls of this process end once a link is back (CDR end cause engine-lost)');
      timer ??= setTimeout(() => {
        log.error({ calls: lost.length, waitMs }, 'engine link still down: ending its calls now');
        endLost();
      }, waitMs);
      timer.unref();
    },
    up: () => {
      endLost();
      const c = conn();
      const now = Date.now();
      const todo = pending.filter((p) => now - p.at < PENDING_BYE_MAX_AGE_MS);
      pending = [];
      if (!c || todo.length === 0) return;
      log.warn({ legs: todo.length }, 'engine link back: sending BYE to the legs of calls the engine loss cut off');
      for (const p of todo) calls.track(byeLeg(c.srf as unknown as SrfLike, p.leg, log), (err) => log.warn({ err }, 'BYE after engine loss failed'));
    },
  };
}
