import { mkdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { branchSpec, commonSpec, ConfigError, engineSpec, readConfig, sipSpec, upSpec } from '@kumo/config';
import { createLogger, isKumoError, type Env, type Logger } from '@kumo/runtime';
import { startLocalRedis, type LocalRedis } from '@kumo/store';
import { ENGINE_NODE_ARGS, engineProcessEnv } from '@kumo/engine';
import { PROCESS_NAMES, PROCESSES, READY_ENDPOINTS, type ProcessName } from './processes.js';
import { waitReady } from './ready.js';
import { loadOrCreateSecrets } from './secrets.js';
import { Supervisor } from './supervisor.js';
import { DEMO_SIP_DOMAIN, seedDemoTenant, type DemoSeedResult } from './demo.js';
import { banner } from './banner.js';
import { ensureDemoTls } from './tls.js';

export interface UpOptions {
  readonly demo: boolean;
}

/** A free TCP port on 127.0.0.1 (for the local redis-server of `kumo up` and `kumo branch`). */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/**
 * `kumo up`: the all-in-one launcher. Starts a local redis-server (AOF on) unless
 * KUMO_REDIS_URL is set, seeds the demo tenant with --demo, then runs every deployable
 * as a supervised child process. Ctrl-C stops the children in reverse order, then Redis.
 */
export async function up(env: Env, opts: UpOptions): Promise<number> {
  let cfg;
  try {
    cfg = readConfig({ common: commonSpec, up: upSpec, sip: { drainGraceMs: sipSpec.drainGraceMs } }, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kumo up: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger({ name: 'up', level: cfg.common.logLevel });
  const dataDir = resolve(cfg.up.dataDir);
  mkdirSync(join(dataDir, 'redis'), { recursive: true, mode: 0o700 });
  const secrets = loadOrCreateSecrets(dataDir);

  let redis: LocalRedis | undefined;
  let redisUrl = cfg.common.redisUrl;
  if (redisUrl === undefined) {
    const port = cfg.up.redisPort === 0 ? await freeLoopbackPort() : cfg.up.redisPort;
    try {
      redis = await startLocalRedis({
        port,
        dir: join(dataDir, 'redis'),
        bin: cfg.up.redisBin,
        settings: { appendonly: 'yes', appendfsync: cfg.up.redisAppendfsync, save: '', 'maxmemory-policy': 'noeviction' },
        onAofRepair: (r) => log.warn(r, 'redis AOF: cut a write torn by a crash (its client never got an answer) before loading'),
      });
    } catch (err) {
      process.stderr.write(`kumo up: cannot start redis-server: ${(err as Error).message}\n`);
      const output = isKumoError(err) ? err.details?.['output'] : undefined;
      if (typeof output === 'string') process.stderr.write(`${output}\n`);
      return 1;
    }
    redisUrl = redis.url;
    log.info({ port, dir: join(dataDir, 'redis'), appendfsync: cfg.up.redisAppendfsync }, 'local redis-server started (AOF on)');
  }
  const redisWatch = redis ? superviseRedis(redis, log, { minBackoffMs: 200, maxBackoffMs: cfg.up.restartMaxBackoffMs }) : undefined;

  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    KUMO_REDIS_URL: redisUrl,
    KUMO_ENGINE_SECRET: env['KUMO_ENGINE_SECRET'] ?? secrets.engineSecret,
    KUMO_NONCE_SECRET: env['KUMO_NONCE_SECRET'] ?? secrets.nonceSecret,
    KUMO_SECRET_KEY: env['KUMO_SECRET_KEY'] ?? secrets.secretKey,
  };

  let demo: DemoSeedResult | undefined;
  if (opts.demo) {
    // A softphone given only "127.0.0.1" as its domain registers to the demo tenant.
    childEnv['KUMO_SIP_IP_HOST_DOMAIN'] ??= DEMO_SIP_DOMAIN;
    // SIP over TLS too (port 5061), with a self-signed certificate made once, unless the listen addresses are set.
    if (childEnv['KUMO_SIP_LISTEN'] === undefined) {
      const tls = ensureDemoTls(dataDir);
      if (tls) {
        childEnv['KUMO_SIP_LISTEN'] = `${engineSpec.sipListen.default},tls/127.0.0.1:5061`;
        childEnv['KUMO_SIP_TLS_CERT'] ??= tls.cert;
        childEnv['KUMO_SIP_TLS_KEY'] ??= tls.key;
      } else log.warn('openssl not found: the demo serves SIP over UDP and TCP only');
    }
    try {
      const apiUrl = `http://${childEnv['KUMO_API_LISTEN'] ?? '127.0.0.1:8080'}`;
      demo = await seedDemoTenant({ redisUrl, prefix: cfg.common.redisKeyPrefix, dataDir, apiUrl, log });
    } catch (err) {
      log.error({ err }, 'could not seed the demo tenant');
      await redis?.stop();
      return 1;
    }
  }

  const supervisor = new Supervisor(log, {
    minBackoffMs: 500,
    maxBackoffMs: cfg.up.restartMaxBackoffMs,
    healthyAfterMs: 60000,
  });
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const started: ProcessName[] = [];
  const sipWorkers = sipWorkerCount(cfg.up.sipWorkers);
  /** `/readyz` of every child (several sip workers: one each). */
  const readyUrls: { name: string; url: string }[] = [];
  for (const name of PROCESS_NAMES) {
    if (PROCESSES[name] === undefined) continue;
    const ep = READY_ENDPOINTS[name];
    const listen = childEnv[ep.env] ?? ep.dflt;
    if (name === 'sip') {
      // Several sip workers on the one engine (docs/scaling.md); each drains on SIGTERM (KUMO_SIP_DRAIN_GRACE_MS)
      // before it lets go, handing new requests to the others.
      for (const w of sipWorkerEnvs(childEnv, listen, sipWorkers, otherListenerPorts(childEnv))) {
        supervisor.start({ name: w.name, command: process.execPath, args: [main, name], env: w.env, stopGraceMs: cfg.sip.drainGraceMs + 15_000 });
        readyUrls.push({ name: w.name, url: `http://${w.ops}/readyz` });
      }
    } else {
      // the engine with its allocator settings and node flags (packages/engine/src/launch.ts, docs/engine.md)
      const engine = name === 'engine';
      supervisor.start({ name, command: process.execPath, args: [...(engine ? ENGINE_NODE_ARGS : []), main, name], env: engine ? engineProcessEnv(childEnv) : childEnv });
      readyUrls.push({ name, url: `http://${listen}/readyz` });
    }
    started.push(name);
  }
  // Signal handlers go in before the banner: whoever reads the banner may stop us at once.
  const exitCode = new Promise<number>((resolveExit) => {
    let signals = 0;
    const stop = (sig: string): void => {
      signals += 1;
      if (signals > 1) {
        process.stderr.write('kumo up: second signal, exiting now\n');
        resolveExit(130);
        return;
      }
      log.info({ signal: sig }, 'stopping Kumo');
      void shutdown(log, supervisor, redis, redisWatch, cfg.common.shutdownGraceMs).then(() => resolveExit(0));
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  const readiness = await Promise.all(
    readyUrls.map(async ({ name, url }) => {
      const ok = await waitReady(url, 30000);
      if (!ok) log.warn({ process: name }, 'not ready after 30 s; it keeps starting in the background');
      return ok;
    }),
  );
  if (readiness.every(Boolean)) log.info({ processes: readyUrls.map((r) => r.name) }, 'all processes ready');
  const shown = started.map((n) => (n === 'sip' && sipWorkers > 1 ? `sip ×${sipWorkers}` : n));
  process.stdout.write(banner({ env: childEnv, processes: shown, demo, redisUrl, dataDir, localRedis: redis !== undefined }));
  return exitCode;
}

/** Most sip workers `kumo up` starts by default (one per core up to this). */
const MAX_DEFAULT_SIP_WORKERS = 8;

/** KUMO_SIP_WORKERS, 0 meaning one per CPU core (at most MAX_DEFAULT_SIP_WORKERS). */
export function sipWorkerCount(configured: number, cores = availableParallelism()): number {
  return configured > 0 ? configured : Math.max(1, Math.min(cores, MAX_DEFAULT_SIP_WORKERS));
}

/** Ports of Kumo's other listeners (their env or default): sip workers' ops ports skip them. */
function otherListenerPorts(env: NodeJS.ProcessEnv): Set<number> {
  const addrs = [
    ...PROCESS_NAMES.filter((n) => n !== 'sip').map((n) => env[READY_ENDPOINTS[n].env] ?? READY_ENDPOINTS[n].dflt),
    env['KUMO_BRANCH_OPS_LISTEN'] ?? branchSpec.opsListen.default,
    env['KUMO_ENGINE_CONTROL'] ?? engineSpec.control.default,
  ];
  return new Set(addrs.map((a) => Number(a.slice(a.lastIndexOf(':') + 1))).filter((p) => p > 0));
}

/**
 * The environment of each sip worker: worker 1 serves /metrics on the ops port, each further
 * worker on the next port above it that no other Kumo listener uses (`taken`: with the defaults,
 * 9092, then 9095 past billing's 9093 and kumo branch's 9094). Port 0 stays 0: any free port.
 * With several workers a draining worker hands new requests to the others
 * (KUMO_SIP_DRAIN_HANDOFF) unless the operator said otherwise.
 */
export function sipWorkerEnvs(
  env: NodeJS.ProcessEnv,
  opsListen: string,
  n: number,
  taken: ReadonlySet<number> = new Set(),
): { name: string; ops: string; env: NodeJS.ProcessEnv }[] {
  if (n <= 1) return [{ name: 'sip', ops: opsListen, env }];
  const i = opsListen.lastIndexOf(':');
  const host = opsListen.slice(0, i);
  const port = Number(opsListen.slice(i + 1));
  const ports: number[] = [];
  for (let p = port; ports.length < n; p++) if (port === 0 || ports.length === 0 || !taken.has(p)) ports.push(port === 0 ? 0 : p);
  return ports.map((p, w) => {
    const ops = `${host}:${p}`;
    return {
      name: `sip-${w + 1}`,
      ops,
      env: { ...env, KUMO_SIP_OPS_LISTEN: ops, KUMO_SIP_DRAIN_HANDOFF: env['KUMO_SIP_DRAIN_HANDOFF'] ?? 'true' },
    };
  });
}

async function shutdown(
  log: Logger,
  supervisor: Supervisor,
  redis: LocalRedis | undefined,
  redisWatch: { stop(): void } | undefined,
  graceMs: number,
): Promise<void> {
  await supervisor.stop(graceMs);
  redisWatch?.stop();
  if (redis) {
    await redis.stop();
    log.info('redis-server stopped (AOF flushed)');
  }
}

/**
 * Keeps the local redis-server running: when it dies, say so loudly and start it again on the
 * same port with the same data directory (its AOF is replayed), with a backoff if it keeps
 * dying. The Kumo processes reconnect by themselves (ioredis); their /readyz fails meanwhile.
 */
export function superviseRedis(redis: LocalRedis, log: Logger, o: { minBackoffMs: number; maxBackoffMs: number }): { stop(): void } {
  let stopped = false;
  let backoff = o.minBackoffMs;
  let timer: NodeJS.Timeout | undefined;
  const watch = (): void => {
    const child = redis.process;
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      if (stopped) return;
      const downAt = Date.now();
      if (downAt - startedAt > 60_000) backoff = o.minBackoffMs;
      log.error({ code, signal, restartInMs: backoff }, 'REDIS-SERVER DIED: calls, registrations and the API fail until it is back; restarting it from its AOF');
      const restart = (): void => {
        timer = undefined;
        if (stopped) return;
        redis.restart().then(
          () => {
            log.warn({ outageMs: Date.now() - downAt, port: redis.port }, 'redis-server restarted (AOF replayed); processes reconnect by themselves');
            watch();
          },
          (err: unknown) => {
            backoff = Math.min(backoff * 2, o.maxBackoffMs);
            log.error({ err, restartInMs: backoff }, 'redis-server did not restart; trying again');
            timer = setTimeout(restart, backoff);
          },
        );
      };
      timer = setTimeout(restart, backoff);
      backoff = Math.min(backoff * 2, o.maxBackoffMs);
    });
  };
  watch();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
