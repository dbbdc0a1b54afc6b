// Leak diagnostic (not part of the suite): rounds of N short calls (the benchmark's scenario:
// 407, digest, B2BUA, BYE) through the engine and the sip app in this process; after each round,
// waits SETTLE_MS for transaction timers, forces GC and prints the per-call state counts
// (engine, drachtio-srf, sip app) and process memory. Anything growing round after round leaks.
//   npx tsc -b && T1=50 SETTLE_MS=5000 ROUNDS=3 node --expose-gc loadtest/calls/leak-diag.mjs 2000 200
// T1 (ms, default 500) shortens the engine's SIP timers; SNAP=<dir> writes heap snapshots.
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { startEngine } from '@kumo/engine';
import { validateExtension, validateTenantCreate } from '@kumo/domain';
import { createLogger, silentLogger } from '@kumo/runtime';
import { ProvisioningRepo, SYSTEM_ACTOR, createRedis, keySchema, LocationStore } from '@kumo/store';
import { connectEngine, createSipApp } from '@kumo/sip';
import { freePort, runSipp, startRedis, startSipp } from '@kumo/testkit';

const N = Number(process.argv[2] ?? 2000);
const RATE = Number(process.argv[3] ?? 200);
const SETTLE = Number(process.env.SETTLE_MS ?? 3000);
const DOMAIN = 'bench.kumo.test';
const src = readFileSync(new URL('./calls.bench.ts', import.meta.url), 'utf8');
const sdp = src.slice(src.indexOf('const SDP = `') + 13, src.indexOf('`;', src.indexOf('const SDP = `')));
let uac = src.slice(src.indexOf('const UAC_DIGEST = `') + 20, src.indexOf('</scenario>\n`;') + 11);
uac = uac.replaceAll('${SDP}', sdp).replaceAll('${DOMAIN}', DOMAIN);

const rh = await startRedis({ settings: { appendonly: 'no' } });
const redis = createRedis(rh.url);
const log = process.env.LOG ? createLogger({ name: 'diag', level: process.env.LOG }) : silentLogger();
const sipPort = await freePort();
const T1 = Number(process.env.T1 ?? 500);
const engine = await startEngine({ listen: [{ proto: 'udp', host: '127.0.0.1', port: sipPort }], control: { host: '127.0.0.1', port: 0 }, secret: 's', log,
  timers: { T1, T2: 4 * T1, T4: 5 * T1 } });
const keys = keySchema('bench');
const app = createSipApp({ redis, keys, log,
  registrar: { minExpires: 60, maxExpires: 3600, defaultExpires: 600, maxContacts: 5, contactsPolicy: 'replace-oldest', nonceSecret: 'n'.repeat(32), nonceLifetimeMs: 60_000, algorithms: ['SHA-256', 'MD5'], md5FirstUserAgents: /^sipp/i,
    bruteForce: { windowMs: 60_000, ipThreshold: 1_000_000, aorThreshold: 1_000_000, blockMs: 1000, action: '403' } },
  calls: { cdrShards: 4, trunkSetupTimeoutSec: 5, trunkRingCapSec: 60 } });
const conn = connectEngine({ host: '127.0.0.1', port: engine.control.port, secret: 's', log, handlers: app.handlers });
await conn.connected;
const repo = new ProvisioningRepo(redis, keys);
const tenant = validateTenantCreate({ id: 'bench', name: 'Bench', sipDomain: DOMAIN, ports: 100, trunkChannels: 10, callsPerSecond: 1000 });
await repo.createTenant(tenant.value, SYSTEM_ACTOR);
for (const number of ['1001', '1002']) await repo.createExtension('bench', validateExtension({ number, displayName: number, password: `pass${number}x` }).value, SYSTEM_ACTOR);
const uport = await freePort();
await new LocationStore(redis, keys).register({ tenantId: 'bench', extension: '1002', callId: `bench-${uport}`, cseq: 1, maxContacts: 5, policy: 'replace-oldest', mode: 'update',
  updates: [{ id: `b${uport}`, expires: 3600, contact: `sip:1002@127.0.0.1:${uport}`, source: { address: '127.0.0.1', port: uport, transport: 'udp' } }] });
const dir = mkdtempSync(join(tmpdir(), 'kumo-diag-'));
const f = join(dir, 'uac.xml');
writeFileSync(f, uac);

function sizes() {
  return {
    engine: engine.stats(),
    srf: conn.stats(),
    app: app.stats(),
    handles: process._getActiveHandles().length,
    timers: process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length,
  };
}
const settle = async (ms) => { await new Promise((r) => setTimeout(r, ms)); global.gc(); await new Promise((r) => setTimeout(r, 50)); global.gc(); };
async function round(n) {
  const uas = startSipp({ scenario: { builtin: 'uas' }, localPort: uport, calls: n, timeoutS: 300, args: ['-l', '2000'] });
  const t0 = Date.now();
  const r = await runSipp({ scenario: { file: f }, target: `127.0.0.1:${sipPort}`, service: '1002', calls: n, rate: RATE, limit: 2000, timeoutS: 300 });
  const dt = Date.now() - t0;
  await uas.stop();
  return { ok: r.ok, successful: r.successful, failed: r.failed, retrans: r.retransmissions, cps: Math.round(r.successful / (r.durationMs / 1000)), wallMs: dt };
}
// warm-up
console.log('warmup', await round(200));
await settle(SETTLE);
const h0 = process.memoryUsage();
const s0 = sizes();
console.log('baseline', JSON.stringify(s0), 'heapUsed MiB', (h0.heapUsed / 2 ** 20).toFixed(1), 'rss', (h0.rss / 2 ** 20).toFixed(0));
if (process.env.SNAP) v8.writeHeapSnapshot(join(process.env.SNAP, 'before.heapsnapshot'));
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const mu = (m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v / 2 ** 20 * 10) / 10]));
console.log('mem0', JSON.stringify(mu(h0)));
let h1 = h0;
for (let i = 0; i < ROUNDS; i++) {
  console.log('run', JSON.stringify(await round(N)));
  global.gc(); if (process.env.SNAP) v8.writeHeapSnapshot(join(process.env.SNAP, 'inflight.heapsnapshot'));
  console.log('right after', JSON.stringify(sizes()), JSON.stringify(mu(process.memoryUsage())));
  await settle(SETTLE);
  h1 = process.memoryUsage();
  console.log('settled', JSON.stringify(sizes()), JSON.stringify(mu(h1)));
  console.log(`cumulative heapUsed growth per call: ${((h1.heapUsed - h0.heapUsed) / N / (i + 1)).toFixed(0)} B; rss per call ${((h1.rss - h0.rss) / N / (i + 1)).toFixed(0)} B; external per call ${((h1.external - h0.external) / N / (i + 1)).toFixed(0)} B`);
}
if (process.env.SNAP) v8.writeHeapSnapshot(join(process.env.SNAP, 'after.heapsnapshot'));
await conn.close(); await engine.close(); redis.disconnect(); await rh.stop();
process.exit(0);
