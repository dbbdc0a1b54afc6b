// Registrar storm benchmark: N distinct extensions of one tenant register with full MD5 challenge/response
// through the Kumo engine (child process) and the sip app (this process) against a private redis-server;
// then the same sipp UAC against a sipp UAS (baseline) in the same run. Prints time-to-register-all,
// authenticated REGISTERs/s (0 failures required), the ratio to the baseline, Redis memory per binding, the
// CPU-seconds per 1,000 REGISTERs of each process (engine, sip app = this process, redis-server, sipp; from
// /proc) and the load average at the start and the end.
//
//   npx tsc -b && node loadtest/registrar/storm.mjs [--extensions 20000] [--rate 4000] [--limit 400] [--transport udp]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRegistry, createSipMetrics, silentLogger } from '@kumo/runtime';
import { LocationStore, ProvisioningRepo, SYSTEM_ACTOR, createRedis, keySchema } from '@kumo/store';
import { connectEngine, createSipApp } from '@kumo/sip';
import { freePort, runSipp, startRedis, startSipp } from '@kumo/testkit';
import { formatCpu, loadAverage, startCpuMeter } from '../lib/proc-cpu.mjs';

const { values: a } = parseArgs({
  options: {
    extensions: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '4000' },
    limit: { type: 'string', default: '400' },
    transport: { type: 'string', default: 'udp' },
    timeout: { type: 'string', default: '120' },
  },
});
const N = Number(a.extensions);
const RATE = Number(a.rate);
const LIMIT = Number(a.limit);
const TRANSPORT = a.transport === 'tcp' ? 'tcp' : 'udp';
const TIMEOUT_S = Number(a.timeout);
const DOMAIN = 'storm.kumo.test';
const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kumo-storm-'));
const log = (...x) => process.stdout.write(`${x.join(' ')}\n`);
const loadAtStart = loadAverage();

const redisH = await startRedis({ settings: { appendonly: 'no' } });
const redis = createRedis(redisH.url);
const keys = keySchema('kumo');
let engineChild;
let conn;
try {
  // --- provisioning: one tenant with N extensions ---------------------------------------------------
  const prov = new ProvisioningRepo(redis, keys);
  await prov.createTenant(
    { id: 'storm', name: 'Storm Inc.', sipDomain: DOMAIN, ports: 20000, trunkChannels: 100, callsPerSecond: 100, status: 'active', restrictionLevel: 0, notes: '' },
    SYSTEM_ACTOR,
  );
  await prov.setNumberingPlan('storm', { extensionLength: 5, outsideLinePrefix: '0', featureCodes: { pickup: '*8', directedPickup: '**' } }, SYSTEM_ACTOR);
  const t0 = Date.now();
  const exts = Array.from({ length: N }, (_, i) => String(10000 + i));
  for (let i = 0; i < N; i += 500) {
    await Promise.all(
      exts.slice(i, i + 500).map((number) =>
        prov.createExtension(
          'storm',
          { number, displayName: `Ext ${number}`, password: `pw-${number}`, permissionClass: 'internal', callerIdPresentation: 'allowed', device: {}, department: '', noAnswerTimeoutSec: 30, forwarding: {} },
          SYSTEM_ACTOR,
        ),
      ),
    );
  }
  log(`provisioned ${N} extensions in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const csv = join(dir, 'users.csv');
  writeFileSync(csv, `SEQUENTIAL\n${exts.map((e) => `${e};pw-${e};${DOMAIN};[authentication username=${e} password=pw-${e}]`).join('\n')}\n`);

  // --- engine (child process) + sip app (this process) -------------------------------------------------
  const sipPort = await freePort();
  const controlPort = await freePort();
  const secret = 'storm-secret';
  engineChild = spawn(process.execPath, [...(process.env.STORM_ENGINE_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.STORM_ENGINE_PROF}`] : []), here('./engine-proc.mjs'), String(sipPort), String(controlPort), secret], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    engineChild.stdout.on('data', (d) => d.toString().includes('READY') && resolve());
    engineChild.once('exit', (c) => reject(new Error(`engine exited ${c}`)));
  });
  const metrics = createSipMetrics(createRegistry('sip-storm'));
  const app = createSipApp({
    redis,
    keys,
    log: silentLogger(),
    metrics,
    registrar: {
      minExpires: 60, maxExpires: 3600, defaultExpires: 3600, maxContacts: 5, contactsPolicy: 'replace-oldest',
      nonceSecret: 'storm-nonce-secret-0123456789', nonceLifetimeMs: 300_000, algorithms: ['SHA-256', 'MD5'],
      md5FirstUserAgents: /^sipp/i,
      bruteForce: { windowMs: 300_000, ipThreshold: 20, aorThreshold: 10, blockMs: 900_000, action: 'drop' },
    },
  });
  conn = connectEngine({ host: '127.0.0.1', port: controlPort, secret, log: silentLogger(), handlers: app.handlers });
  await conn.connected;
  log('engine and sip app connected');

  log('storm starting');
  const memBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);

  // --- the storm --------------------------------------------------------------------------------------
  const sippCommon = { transport: TRANSPORT, calls: N, rate: RATE, limit: LIMIT, timeoutS: TIMEOUT_S, args: ['-inf', csv] };
  const stormMeter = startCpuMeter({ engine: engineChild.pid, 'sip (bench process)': process.pid, 'redis-server': redisH.process.pid }, { exitedChildrenAs: 'sipp' });
  const storm = await runSipp({ scenario: { file: here('./uac-register.xml') }, target: `127.0.0.1:${sipPort}`, ...sippCommon });
  const stormCpu = stormMeter.stop(storm.successful);
  const location = new LocationStore(redis, keys);
  const live = await location.countBindings('storm');
  const memAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
  const outcomes = await metrics.registerOutcomes.get();
  const count = (o) => outcomes.values.find((v) => v.labels.outcome === o)?.value ?? 0;
  let sample = 0;
  for (let i = 0; i < 200; i++) sample += Number(await redis.memory('USAGE', keys.tenant.regBindings('storm', exts[i])));
  const idxBytes = Number(await redis.memory('USAGE', keys.tenant.regIndex('storm')));
  await conn.close();
  conn = undefined;
  engineChild.kill('SIGTERM');

  // --- baseline: the same UAC against a sipp UAS --------------------------------------------------------
  const uasPort = await freePort();
  const uas = startSipp({ scenario: { file: here('./uas-register.xml') }, transport: TRANSPORT, localPort: uasPort, calls: N, timeoutS: TIMEOUT_S + 10 });
  await new Promise((r) => setTimeout(r, 500));
  const baseMeter = startCpuMeter({}, { exitedChildrenAs: 'sipp (uac+uas)' });
  const base = await runSipp({ scenario: { file: here('./uac-register.xml') }, target: `127.0.0.1:${uasPort}`, ...sippCommon });
  await uas.stop();
  const baseCpu = baseMeter.stop(base.successful);

  const kumoRate = storm.successful / (storm.durationMs / 1000);
  const baseRate = base.successful / (base.durationMs / 1000);
  log('');
  log(`Registrar storm: ${N} extensions, one tenant, ${TRANSPORT}, sipp -r ${RATE} -l ${LIMIT}, MD5 challenge/response each`);
  log(`  kumo:     ${storm.successful} registered, ${storm.failed} failed, ${storm.retransmissions} retransmissions, ${(storm.durationMs / 1000).toFixed(2)} s -> ${kumoRate.toFixed(0)} authenticated REGISTERs/s`);
  log(`  redis:    ${live} live bindings; outcomes ok=${count('ok')} challenged=${count('challenged')} auth_failed=${count('auth_failed')}`);
  log(`  baseline: sipp UAS ${base.successful} ok, ${base.failed} failed, ${(base.durationMs / 1000).toFixed(2)} s -> ${baseRate.toFixed(0)} REGISTER pairs/s`);
  log(`  ratio kumo/baseline: ${(kumoRate / baseRate).toFixed(2)}`);
  log(`  CPU (storm): ${formatCpu(stormCpu, 'REGISTERs')}`);
  log(`  CPU (baseline): ${formatCpu(baseCpu, 'REGISTERs')}`);
  log(`  load average at start ${loadAtStart.join(' ')}, at end ${loadAverage().join(' ')}`);
  log(`  redis memory per binding: ${((memAfter - memBefore) / N).toFixed(0)} B (used_memory delta); MEMORY USAGE: ${(sample / 200).toFixed(0)} B bindings hash + ${(idxBytes / N).toFixed(0)} B index`);
  if (storm.failed > 0 || live !== N) {
    log(`FAILED: ${storm.errors.slice(0, 2000)}`);
    process.exitCode = 1;
  }
} finally {
  if (conn) await conn.close();
  if (engineChild && engineChild.exitCode === null) engineChild.kill('SIGTERM');
  redis.disconnect();
  await redisH.stop();
  rmSync(dir, { recursive: true, force: true });
}
