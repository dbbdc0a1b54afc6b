import { readFileSync } from 'node:fs';
import { ConfigError, commonSpec, engineSpec, placeholderSecretProblems, readConfig } from '@kumo/config';
import { createEngineMetrics, startOpsServer, type EngineMetrics, type Logger, type ProcessContext } from '@kumo/runtime';
import { EngineCore } from './engine.js';
import { ENGINE_PROCESS_ENV, mallocInUse } from './launch.js';
import type { OverloadOptions } from './overload.js';
import type { TlsSettings } from './transport/transports.js';
import type { SipTimers } from './transaction/timers.js';
import type { ListenSpec } from './transport/types.js';

export * from './sip/index.js';
export { parseListenSpec, type ListenSpec } from './transport/types.js';
export { SERVER_VERSION } from './control/server.js';
export { FrameReader, encodeFrame, splitFrame, splitPayload, FrameError, MAX_LENGTH_DIGITS } from './control/framing.js';
export { ENGINE_NODE_ARGS, ENGINE_PROCESS_ENV, engineProcessEnv, mallocInUse } from './launch.js';

export interface EngineOptions {
  /** SIP listen points; port 0 picks a free port (see the returned addresses). */
  readonly listen: readonly ListenSpec[];
  /** drachtio control listener (inbound mode). */
  readonly control: { readonly host: string; readonly port: number };
  readonly secret: string;
  readonly log: Logger;
  readonly metrics?: EngineMetrics;
  readonly timers?: Partial<SipTimers>;
  readonly maxMessageSize?: number;
  readonly maxServerTransactions?: number;
  readonly tcpIdleMs?: number;
  readonly tcpMaxPerSource?: number;
  readonly tcpMaxConnections?: number;
  readonly appResponseTimeoutMs?: number;
  readonly advertisedHost?: string;
  /** Option tags a request may Require (default `replaces`); others get 420 with Unsupported. */
  readonly supported?: readonly string[];
  /** Load shedding of new INVITEs: event-loop lag and unanswered-INVITE limits, Retry-After. */
  readonly overload?: Partial<OverloadOptions>;
  /** Request-URI users whose INVITEs are never shed (default 110, 118, 119 and with the outside-line prefix 0). */
  readonly neverShedUsers?: readonly string[] | undefined;
  /** PEM certificate and key for `tls/` listen points; `verify` checks peers on outbound TLS (default true). */
  readonly tls?: TlsSettings;
  /** How long a new INVITE's 100 Trying waits for the app's first response (default 100 ms; 0 = at once; ≤ 200). */
  readonly tryingDelayMs?: number | undefined;
}

export interface EngineHandle {
  /** Bound SIP addresses. */
  readonly sip: readonly { proto: 'udp' | 'tcp' | 'tls'; host: string; port: number }[];
  /** Bound control address. */
  readonly control: { host: string; port: number };
  /** Live counts (transactions, dialogs), for tests and diagnostics. */
  stats(): { serverTransactions: number; clientTransactions: number; dialogs: number; apps: number; tcpConnections: number; shedding: boolean; shed: number; admitted: number; admissionLimit: number; answerMs: number; elu: number; queueMs: number; udpRecvBuffer: number };
  /** Idempotent. */
  close(): Promise<void>;
}

/** Starts the engine: SIP transports and the drachtio control listener. */
export async function startEngine(o: EngineOptions): Promise<EngineHandle> {
  const core = new EngineCore({
    listen: o.listen,
    control: o.control,
    secret: o.secret,
    log: o.log,
    metrics: o.metrics,
    timers: o.timers ?? {},
    limits: o.maxMessageSize !== undefined ? { maxMessageSize: o.maxMessageSize } : {},
    ...(o.tcpIdleMs !== undefined ? { tcpIdleMs: o.tcpIdleMs } : {}),
    ...(o.tcpMaxPerSource !== undefined ? { tcpMaxPerSource: o.tcpMaxPerSource } : {}),
    ...(o.tcpMaxConnections !== undefined ? { tcpMaxConnections: o.tcpMaxConnections } : {}),
    ...(o.maxServerTransactions !== undefined ? { maxServerTransactions: o.maxServerTransactions } : {}),
    ...(o.appResponseTimeoutMs !== undefined ? { appResponseTimeoutMs: o.appResponseTimeoutMs } : {}),
    advertisedHost: o.advertisedHost,
    supported: o.supported?.filter((t) => t.toLowerCase() !== '100rel'),
    overload: o.overload,
    neverShedUsers: o.neverShedUsers,
    tls: o.tls,
    tryingDelayMs: o.tryingDelayMs,
  });
  try {
    await core.start();
  } catch (err) {
    await core.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    sip: core.transports.locals.map((l) => ({ proto: l.proto, host: l.host, port: l.port })),
    control: { host: o.control.host, port: core.control.port },
    stats: () => ({ ...core.stats, apps: core.control.apps.size, tcpConnections: core.transports.tcpConnectionCount }),
    close: () => (closing ??= core.close()),
  };
}

/** `kumo engine`: reads the engine config from `ctx.env`, starts the engine and its ops server. */
export async function runEngine(ctx: ProcessContext): Promise<void> {
  const cfg = readConfig({ common: commonSpec, engine: engineSpec }, ctx.env).engine;
  const wantsTls = cfg.sipListen.some((l) => l.proto === 'tls');
  if (wantsTls && (cfg.sipTlsCert === undefined || cfg.sipTlsKey === undefined)) {
    throw new ConfigError(['KUMO_SIP_LISTEN: a tls/ address needs KUMO_SIP_TLS_CERT and KUMO_SIP_TLS_KEY (PEM files)']);
  }
  const tls: TlsSettings | undefined =
    cfg.sipTlsCert !== undefined && cfg.sipTlsKey !== undefined
      ? { cert: readFileSync(cfg.sipTlsCert), key: readFileSync(cfg.sipTlsKey), verify: cfg.sipTlsVerify }
      : undefined;
  // A default/placeholder control secret is refused once anything the engine serves is off loopback (docs/security.md).
  const secretProblems = placeholderSecretProblems({ KUMO_ENGINE_SECRET: cfg.secret }, [...cfg.sipListen.map((l) => l.host), cfg.control.host, cfg.opsListen.host]);
  if (secretProblems.length > 0) throw new ConfigError(secretProblems);
  const log = ctx.log.child({ part: 'engine' });
  const metrics = createEngineMetrics(ctx.registry);
  const engine = await startEngine({
    listen: cfg.sipListen,
    control: cfg.control,
    secret: cfg.secret,
    log,
    metrics,
    maxMessageSize: cfg.maxMessageSize,
    maxServerTransactions: cfg.maxTransactions,
    tcpIdleMs: cfg.tcpIdleSeconds * 1000,
    tcpMaxPerSource: cfg.tcpMaxPerSource,
    tcpMaxConnections: cfg.tcpMaxConnections,
    supported: cfg.sipSupported,
    overload: { lagHighMs: cfg.shedLagMs, pendingHigh: cfg.shedPendingInvites, retryAfterS: cfg.shedRetryAfterSeconds, latencyHighMs: cfg.shedAnswerMs, queueHighMs: cfg.shedQueueMs },
    neverShedUsers: cfg.shedNeverUsers,
    tryingDelayMs: cfg.tryingDelayMs,
    ...(tls ? { tls } : {}),
    ...(cfg.sipAdvertisedHost !== undefined ? { advertisedHost: cfg.sipAdvertisedHost } : {}),
  });
  ctx.lifecycle.onClose('engine', () => engine.close());
  const ops = await startOpsServer({ host: cfg.opsListen.host, port: cfg.opsListen.port, registry: ctx.registry });
  ctx.lifecycle.onClose('engine-ops', () => ops.close());
  const malloc = mallocInUse();
  log.info(
    { sip: engine.sip.map((s) => `${s.proto}/${s.host}:${s.port}`), control: `${engine.control.host}:${engine.control.port}`, ops: ops.port, malloc },
    'engine serving',
  );
  // started without ENGINE_PROCESS_ENV (or libjemalloc2 missing): it works, but gives memory back slowly after a burst
  if (malloc === 'glibc') log.warn({ want: ENGINE_PROCESS_ENV }, 'engine runs on glibc malloc: RSS stays high after a burst; install libjemalloc2 and start it with this environment (docs/engine.md)');
}
