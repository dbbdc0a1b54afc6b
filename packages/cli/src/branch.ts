import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BranchAgent } from '@kumo/branch';
import { branchSpec, commonSpec, ConfigError, readConfig, sipSpec, upSpec } from '@kumo/config';
import { createBranchMetrics, createLogger, createRegistry, isKumoError, startOpsServer } from '@kumo/runtime';
import { createRedis, keySchema, loadVerifyKey, pingRedis, startLocalRedis, type LocalRedis } from '@kumo/store';
import { READY_ENDPOINTS } from './processes.js';
import { waitReady } from './ready.js';
import { loadOrCreateSecrets } from './secrets.js';
import { Supervisor } from './supervisor.js';
import { freeLoopbackPort, superviseRedis } from './up.js';

function readBranchConfig(env: NodeJS.ProcessEnv) {
  return readConfig({ common: commonSpec, up: upSpec, branch: branchSpec, sip: { drainGraceMs: sipSpec.drainGraceMs } }, env);
}

/**
 * `kumo branch`: the survivable branch server of one site (docs/branch.md). Starts its own
 * redis-server (AOF on, like `kumo up`), loads the site's signed snapshot from the cloud into it,
 * then runs the SIP engine and the sip app on it as supervised children. The branch agent (keep-alive,
 * snapshot poll, CDR forwarding) runs in this process.
 */
export async function branch(env: NodeJS.ProcessEnv): Promise<number> {
  let cfg: ReturnType<typeof readBranchConfig>;
  let publicKey;
  try {
    const c = readBranchConfig(env);
    cfg = c;
    const missing = (['cloudUrl', 'credential', 'cloudPublicKey'] as const).filter((k) => c.branch[k] === undefined).map((k) => `${branchSpec[k].env}: required for kumo branch`);
    if (missing.length > 0) throw new ConfigError(missing);
    try {
      publicKey = loadVerifyKey(cfg.branch.cloudPublicKey ?? '');
      if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    } catch (err) {
      throw new ConfigError([`KUMO_BRANCH_CLOUD_PUBLIC_KEY: not a usable Ed25519 public key (${(err as Error).message})`]);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kumo branch: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger({ name: 'branch', level: cfg.common.logLevel });
  const dataDir = resolve(cfg.up.dataDir);
  mkdirSync(join(dataDir, 'redis'), { recursive: true, mode: 0o700 });
  const secrets = loadOrCreateSecrets(dataDir);

  let local: LocalRedis | undefined;
  let redisUrl = cfg.common.redisUrl;
  if (redisUrl === undefined) {
    const port = cfg.up.redisPort === 0 ? await freeLoopbackPort() : cfg.up.redisPort;
    try {
      local = await startLocalRedis({
        port,
        dir: join(dataDir, 'redis'),
        bin: cfg.up.redisBin,
        settings: { appendonly: 'yes', appendfsync: cfg.up.redisAppendfsync, save: '', 'maxmemory-policy': 'noeviction' },
        onAofRepair: (r) => log.warn(r, 'redis AOF: cut a write torn by a crash (its client never got an answer) before loading'),
      });
    } catch (err) {
      process.stderr.write(`kumo branch: cannot start redis-server: ${(err as Error).message}\n`);
      const output = isKumoError(err) ? err.details?.['output'] : undefined;
      if (typeof output === 'string') process.stderr.write(`${output}\n`);
      return 1;
    }
    redisUrl = local.url;
    log.info({ port, dir: join(dataDir, 'redis') }, 'branch redis-server started (AOF on)');
  }
  const redisWatch = local ? superviseRedis(local, log, { minBackoffMs: 200, maxBackoffMs: cfg.up.restartMaxBackoffMs }) : undefined;
  const redis = createRedis(redisUrl);
  redis.on('error', () => undefined);
  const keys = keySchema(cfg.common.redisKeyPrefix);
  const agent = new BranchAgent({
    redis,
    keys,
    log: log.child({ area: 'branch' }),
    cloudUrl: cfg.branch.cloudUrl ?? '',
    credential: cfg.branch.credential ?? '',
    publicKey,
    keepaliveMs: cfg.branch.keepaliveMs,
    lossThreshold: cfg.branch.lossThreshold,
    pollWaitS: cfg.branch.pollWaitS,
    cdrBatch: cfg.branch.cdrBatch,
    cdrShards: 1,
  });
  const registry = createRegistry('branch');
  createBranchMetrics(registry, () => agent.view());
  const ops = await startOpsServer({ host: cfg.branch.opsListen.host, port: cfg.branch.opsListen.port, registry, ready: () => pingRedis(redis, 1000) });
  await agent.start();
  if (agent.view().snapshotVersion === 0) log.warn('no snapshot yet (cloud unreachable and none stored): phones cannot register until one arrives');

  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    KUMO_REDIS_URL: redisUrl,
    KUMO_REDIS_PREFIX: cfg.common.redisKeyPrefix,
    // The branch's own CDR stream, read by the agent (one shard).
    KUMO_CDR_SHARDS: '1',
    KUMO_CDR_MIN_REPLICAS: '0',
    KUMO_ENGINE_SECRET: env['KUMO_ENGINE_SECRET'] ?? secrets.engineSecret,
    KUMO_NONCE_SECRET: env['KUMO_NONCE_SECRET'] ?? secrets.nonceSecret,
    KUMO_SECRET_KEY: env['KUMO_SECRET_KEY'] ?? secrets.secretKey,
  };
  const supervisor = new Supervisor(log, { minBackoffMs: 500, maxBackoffMs: cfg.up.restartMaxBackoffMs, healthyAfterMs: 60000 });
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  supervisor.start({ name: 'engine', command: process.execPath, args: [main, 'engine'], env: childEnv });
  supervisor.start({ name: 'sip', command: process.execPath, args: [main, 'sip'], env: childEnv, stopGraceMs: cfg.sip.drainGraceMs + 15_000 });

  const exitCode = new Promise<number>((resolveExit) => {
    let signals = 0;
    const stop = (sig: string): void => {
      signals += 1;
      if (signals > 1) {
        resolveExit(130);
        return;
      }
      log.info({ signal: sig }, 'stopping the branch');
      void (async () => {
        await supervisor.stop(cfg.common.shutdownGraceMs);
        await agent.close();
        await ops.close();
        redis.disconnect();
        redisWatch?.stop();
        await local?.stop();
      })().then(() => resolveExit(0));
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  const ready = await Promise.all(
    (['engine', 'sip'] as const).map((name) => {
      const ep = READY_ENDPOINTS[name];
      return waitReady(`http://${childEnv[ep.env] ?? ep.dflt}/readyz`, 30000);
    }),
  );
  log.info({ ready: ready.every(Boolean), state: agent.view().state, snapshotVersion: agent.view().snapshotVersion, ops: `${cfg.branch.opsListen.host}:${ops.port}` }, 'branch serving');
  return exitCode;
}
