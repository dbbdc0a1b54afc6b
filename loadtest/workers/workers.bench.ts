/**
 * Scaling with sip workers (issue 13, docs/scaling.md): the full call path — registered extension
 * calls registered extension, digest on the INVITE, admission, routing, hunt state, call record,
 * CDR — through one Kumo engine and 1, then 2 `kumo sip` worker processes (real processes from the
 * built CLI, one redis-server), against sipp calling sipp directly in the same run (the baseline).
 * Each run starts with an unmeasured warm-up. For each run it prints calls/s, failures, CPU-seconds per 1,000 calls of each process (from
 * /proc), and the load average; results go to loadtest/results/workers.json.
 *
 *   npx tsc -b && npx vitest run --config loadtest/workers/vitest.config.ts
 *
 * Env: KUMO_BENCH_CALLS (default 20000) calls per run, KUMO_BENCH_RATE (default 800) calls/s,
 * KUMO_BENCH_WORKERS (default "1,2") worker counts in order, KUMO_BENCH_LIMIT (default 2000)
 * simultaneous calls. Measure on an otherwise idle machine: figures taken under load are not figures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { validateExtension, validateTenantCreate } from '@kumo/domain';
import { LocationStore, ProvisioningRepo, SYSTEM_ACTOR, createRedis, keySchema } from '@kumo/store';
import { freePort, runSipp, startRedis, startSipp, uacCall, type SippResult } from '@kumo/testkit';

const N = Number(process.env.KUMO_BENCH_CALLS ?? 20_000);
const RATE = Number(process.env.KUMO_BENCH_RATE ?? 800);
const WORKERS = (process.env.KUMO_BENCH_WORKERS ?? '1,2').split(',').map(Number);
const LIMIT = Number(process.env.KUMO_BENCH_LIMIT ?? 2000);
const DOMAIN = 'bench.kumo.test';
const MAIN = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kumo-bench-workers-'));
const results: Record<string, unknown> = { loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))), calls: N, rate: RATE, runs: [] as unknown[] };

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

const rateOf = (r: SippResult): number => Math.round((r.successful / (r.durationMs / 1000)) * 10) / 10;

async function ready(ops: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await fetch(`http://${ops}/readyz`).catch(() => undefined))?.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${ops} not ready`);
}

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../results/workers.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`);
});

describe('sip workers benchmark', () => {
  it('sipp → sipp baseline, then the full path through 1 and 2 sip workers', async () => {
    const uasPort = await freePort();
    const calls = (target: string, file: { file: string } | { builtin: string }, service: string) =>
      runSipp({ scenario: file, target, service, calls: N, rate: RATE, limit: LIMIT, timeoutS: Math.ceil(N / RATE) * 4 + 60 });
    // Baseline: sipp calling sipp, no Kumo.
    const uas = startSipp({ scenario: { builtin: 'uas' }, localPort: uasPort, calls: (N + Math.min(2000, Math.ceil(N / 10))) * (WORKERS.length + 1), timeoutS: 3600, args: ['-l', String(LIMIT)] });
    const base = await calls(`127.0.0.1:${uasPort}`, { builtin: 'uac' }, '1002');
    (results.runs as unknown[]).push({ run: 'sipp→sipp', callsPerSec: rateOf(base), failed: base.failed });
    process.stdout.write(`baseline sipp→sipp: ${rateOf(base)} calls/s, ${base.failed} failed\n`);
    const scenarioFile = join(dir, 'uac.xml');
    writeFileSync(scenarioFile, uacCall({ user: '1001', domain: DOMAIN, password: 'pass1001x', expect: 200, holdMs: 0 }));

    for (const w of WORKERS) {
      const rh = await startRedis({ settings: { appendonly: 'no' } });
      const redis = createRedis(rh.url);
      const keys = keySchema(`bench-w${w}`);
      const repo = new ProvisioningRepo(redis, keys);
      const t = validateTenantCreate({ id: 'bench', name: 'Bench', sipDomain: DOMAIN, ports: 20_000, trunkChannels: 10, callsPerSecond: 1000 });
      if (!t.ok) throw new Error(`tenant: ${JSON.stringify(t.problems)}`);
      await repo.createTenant(t.value, SYSTEM_ACTOR);
      for (const number of ['1001', '1002']) {
        const e = validateExtension({ number, displayName: number, password: `pass${number}x` });
        if (!e.ok) throw new Error('extension');
        await repo.createExtension('bench', e.value, SYSTEM_ACTOR);
      }
      await new LocationStore(redis, keys).register({
        tenantId: 'bench',
        extension: '1002',
        callId: 'bench-reg',
        cseq: 1,
        maxContacts: 5,
        policy: 'replace-oldest',
        mode: 'update',
        updates: [{ id: 'b1', expires: 3600, contact: `sip:1002@127.0.0.1:${uasPort}`, source: { address: '127.0.0.1', port: uasPort, transport: 'udp' } }],
      });
      const sipPort = await freePort();
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        KUMO_LOG_LEVEL: process.env.KUMO_BENCH_LOG ?? 'error',
        KUMO_REDIS_URL: rh.url,
        KUMO_REDIS_PREFIX: keys.prefix,
        KUMO_SIP_LISTEN: `udp/127.0.0.1:${sipPort}`,
        KUMO_ENGINE_CONTROL: `127.0.0.1:${await freePort()}`,
        KUMO_ENGINE_SECRET: 'bench-secret',
        KUMO_NONCE_SECRET: 'n'.repeat(32),
        KUMO_ENGINE_OPS_LISTEN: `127.0.0.1:${await freePort()}`,
        KUMO_SIP_DIGEST_MD5_FIRST_UA: '^sipp',
        KUMO_SIP_KEEPALIVE_S: '0',
        KUMO_SIP_GATEWAY_PING_INTERVAL_S: '0',
        KUMO_ADMISSION_FLOOD_ATTEMPTS: '1000000',
      };
      const procs: { name: string; child: ChildProcess }[] = [];
      const engine = spawn(process.execPath, [MAIN, 'engine'], { env, stdio: 'inherit' });
      procs.push({ name: 'engine', child: engine });
      const ops: string[] = [];
      for (let i = 0; i < w; i++) {
        const o = `127.0.0.1:${await freePort()}`;
        ops.push(o);
        procs.push({ name: `sip-${i + 1}`, child: spawn(process.execPath, [MAIN, 'sip'], { env: { ...env, KUMO_SIP_OPS_LISTEN: o }, stdio: 'inherit' }) });
      }
      try {
        await ready(env.KUMO_ENGINE_OPS_LISTEN as string);
        for (const o of ops) await ready(o);
        // Warm-up (JIT, connections), not measured: a tenth of the run, at most 2,000 calls.
        await runSipp({ scenario: { file: scenarioFile }, target: `127.0.0.1:${sipPort}`, service: '1002', calls: Math.min(2000, Math.ceil(N / 10)), rate: Math.min(RATE, 200), limit: LIMIT, timeoutS: 120 });
        const cpu0 = procs.map((p) => cpuSeconds(p.child.pid));
        const r = await calls(`127.0.0.1:${sipPort}`, { file: scenarioFile }, '1002');
        const cpu = procs.map((p, i) => ({ process: p.name, cpuSecPer1000Calls: Math.round(((cpuSeconds(p.child.pid) - (cpu0[i] ?? 0)) / Math.max(1, r.successful)) * 1000 * 1000) / 1000 }));
        const run = { run: `${w} sip worker${w > 1 ? 's' : ''}`, callsPerSec: rateOf(r), failed: r.failed, ratioToBaseline: Math.round((rateOf(r) / Math.max(1, rateOf(base))) * 100) / 100, cpu, loadavg: loadavg().map((x) => Number(x.toFixed(2))) };
        (results.runs as unknown[]).push(run);
        process.stdout.write(`${run.run}: ${run.callsPerSec} calls/s (${run.ratioToBaseline}× sipp→sipp), ${r.failed} failed; CPU-s per 1,000 calls ${cpu.map((c) => `${c.process} ${c.cpuSecPer1000Calls}`).join(', ')}; load ${run.loadavg.join(' ')}\n`);
        if (r.failed > 0) process.stdout.write(`  sipp: ${r.errors.slice(0, 600)}\n`);
        expect(r.successful).toBeGreaterThan(0);
      } finally {
        for (const p of procs.reverse()) p.child.kill('SIGKILL');
        redis.disconnect();
        await rh.stop();
      }
    }
    await uas.stop();
  });
});
