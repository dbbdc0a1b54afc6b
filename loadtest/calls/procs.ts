/**
 * The stack of the calls benchmark as production runs it: a private redis-server, `kumo engine` and
 * `KUMO_SIP_WORKERS` (default 1) × `kumo sip` as separate processes from the built CLI (the engine
 * round-robins new INVITEs over the connected sip workers), with the bench tenant and its
 * extensions 1001 and 1002 (password `pass<ext>x`) provisioned. Every process's pid is exposed so the
 * benchmark can read its CPU time from /proc.
 *
 * KUMO_BENCH_LOG=info (default warn) is the processes' log level; KUMO_BENCH_SIP_PROF=<dir> starts each
 * sip worker with `--cpu-prof --cpu-prof-dir=<dir>` (the profile is written when the worker exits);
 * KUMO_BENCH_ENGINE_PROF=<dir> the same for the engine. Diagnosing stalls: KUMO_BENCH_SIP_NODE_ARGS /
 * KUMO_BENCH_ENGINE_NODE_ARGS add node flags (e.g. `--trace-gc`), KUMO_BENCH_PROC_LOG=<dir> appends
 * each process's output to `<dir>/<name>.log`. The engine runs on jemalloc as `kumo up` starts it
 * (ENGINE_PROCESS_ENV) with its node flags (ENGINE_NODE_ARGS); KUMO_BENCH_MALLOC=glibc starts it on glibc malloc
 * instead, KUMO_BENCH_ENGINE_DEFAULT_GC=1 without the flags.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerCallee, seedBenchTenant } from './bench-tenant.js';
import { ENGINE_NODE_ARGS, engineProcessEnv } from '@kumo/engine';
import { createRedis, keySchema, type KeySchema, type RedisClient } from '@kumo/store';
import { freePort, startRedis } from '@kumo/testkit';

export { BENCH_DOMAIN } from './bench-tenant.js';
const MAIN = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));

export interface BenchProc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  output: string;
}

export interface CallBenchProcs {
  readonly redis: RedisClient;
  readonly keys: KeySchema;
  readonly sipPort: number;
  readonly redisPid: number;
  readonly engine: BenchProc;
  readonly workers: readonly BenchProc[];
  /** name → pid of every long-lived process (engine, sip-1.., redis-server). */
  pids(): Record<string, number>;
  /** Registers extension 1002 at `127.0.0.1:<port>` (a sipp UAS), replacing earlier bindings. */
  registerCallee(port: number): Promise<void>;
  close(): Promise<void>;
}

function start(name: string, cmd: 'engine' | 'sip', env: NodeJS.ProcessEnv, profDir: string | undefined): BenchProc {
  const extra = (cmd === 'sip' ? process.env.KUMO_BENCH_SIP_NODE_ARGS : process.env.KUMO_BENCH_ENGINE_NODE_ARGS)?.split(' ').filter(Boolean) ?? [];
  // The engine as production starts it: its node flags (ENGINE_NODE_ARGS; KUMO_BENCH_ENGINE_DEFAULT_GC=1 leaves them
  // out, to compare) and jemalloc (ENGINE_PROCESS_ENV, docs/engine.md; KUMO_BENCH_MALLOC=glibc leaves it out).
  const own = cmd === 'engine' && process.env.KUMO_BENCH_ENGINE_DEFAULT_GC !== '1' ? ENGINE_NODE_ARGS : [];
  const args = [...own, ...extra, ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), MAIN, cmd];
  const procEnv = { ...process.env, ...env };
  const child = spawn(process.execPath, args, { env: cmd === 'engine' && process.env.KUMO_BENCH_MALLOC !== 'glibc' ? engineProcessEnv(procEnv) : procEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: BenchProc = { name, child, pid: child.pid as number, output: '' };
  const logDir = process.env.KUMO_BENCH_PROC_LOG;
  const add = (d: Buffer): void => {
    if (logDir) appendFileSync(join(logDir, `${name}.log`), d);
    p.output += d.toString();
    if (p.output.length > 200_000) p.output = p.output.slice(-100_000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return p;
}

async function waitReady(p: BenchProc, ops: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited ${p.child.exitCode}:\n${p.output.slice(-3000)}`);
    try {
      if ((await fetch(`http://${ops}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${p.name} not ready after ${ms} ms:\n${p.output.slice(-3000)}`);
}

async function stop(p: BenchProc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(t);
}

export async function startCallBenchProcs(o: { workers: number }): Promise<CallBenchProcs> {
  const rh = await startRedis({ settings: { appendonly: 'no' } });
  const redis = createRedis(rh.url);
  const keys = keySchema('bench');
  await seedBenchTenant(redis, keys, 5000);
  const sipPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    KUMO_LOG_LEVEL: process.env.KUMO_BENCH_LOG ?? 'warn',
    KUMO_REDIS_URL: rh.url,
    KUMO_REDIS_PREFIX: keys.prefix,
    KUMO_SIP_LISTEN: `udp/127.0.0.1:${sipPort}`,
    KUMO_ENGINE_CONTROL: `127.0.0.1:${await freePort()}`,
    KUMO_ENGINE_SECRET: 'bench-secret',
    KUMO_NONCE_SECRET: 'n'.repeat(32),
    KUMO_SIP_DIGEST_MD5_FIRST_UA: '^sipp',
    KUMO_CDR_SHARDS: '4',
    KUMO_SIP_KEEPALIVE_S: '0',
    KUMO_SIP_GATEWAY_PING_INTERVAL_S: '0',
    // sipp phones: every call is answered, so the incomplete-call flood guard and the early overload gate stay out of the way.
    KUMO_ADMISSION_FLOOD_ATTEMPTS: '1000000',
    KUMO_ADMISSION_OVERLOAD_LAG_MS: '0',
  };
  const engineOps = `127.0.0.1:${await freePort()}`;
  const engine = start('engine', 'engine', { ...env, KUMO_ENGINE_OPS_LISTEN: engineOps }, process.env.KUMO_BENCH_ENGINE_PROF);
  const workers: BenchProc[] = [];
  const readies: Promise<void>[] = [];
  for (let i = 1; i <= o.workers; i++) {
    const ops = `127.0.0.1:${await freePort()}`;
    const w = start(`sip-${i}`, 'sip', { ...env, KUMO_SIP_OPS_LISTEN: ops }, process.env.KUMO_BENCH_SIP_PROF);
    workers.push(w);
    readies.push(waitReady(w, ops, 60_000));
  }
  await Promise.all([waitReady(engine, engineOps, 60_000), ...readies]);
  const redisPid = rh.process?.pid as number;
  return {
    redis,
    keys,
    sipPort,
    redisPid,
    engine,
    workers,
    pids: () => {
      const out: Record<string, number> = { [engine.name]: engine.pid, 'redis-server': redisPid };
      for (const w of workers) out[w.name] = w.pid;
      return out;
    },
    registerCallee: (port: number) => registerCallee(redis, keys, port),
    async close() {
      await Promise.all(workers.map(stop));
      await stop(engine);
      redis.disconnect();
      await rh.stop();
    },
  };
}
