#!/usr/bin/env node
/**
 * Engine benchmark: sipp uac → Kumo engine (own process) → drachtio-srf B2BUA app (own process) → sipp uas,
 * all on loopback. Finds the highest call rate with 0 failed calls and 0 retransmissions over CALLS calls per
 * step (after a warm-up), then runs sipp uac → sipp uas directly at that rate as the baseline and prints the ratio.
 * Optionally (--memory) measures the engine's memory per active call with CONCURRENT held calls.
 *
 *   npx tsc -b && node loadtest/engine/bench.mjs [--rates 1000,1500,2000] [--calls 20000] [--tcp] [--memory 10000]
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const rates = String(opt('rates', '1000,1500,2000,2500,3000')).split(',').map(Number).filter((n) => n > 0);
const CALLS = Number(opt('calls', '20000'));
const transport = args.includes('--tcp') ? 'tcp' : 'udp';
const memoryCalls = args.includes('--memory') ? Number(opt('memory', '10000')) : 0;
const here = new URL('.', import.meta.url).pathname;

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function sipp(argv, label) {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-bench-'));
  const stf = join(dir, 'stat.csv');
  const child = spawn('sipp', [...argv, '-t', transport === 'tcp' ? 't1' : 'u1', '-i', '127.0.0.1', '-nostdin', '-trace_stat', '-stf', stf, '-fd', '1', '-max_socket', '60000', '-buff_size', '8388608'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise((resolve) => {
    child.on('exit', (code) => {
      let s = { ok: 0, failed: 0, retrans: 0, elapsed: 0 };
      if (existsSync(stf)) {
        const lines = readFileSync(stf, 'utf8').trim().split('\n');
        const h = lines[0].split(';');
        const last = lines[lines.length - 1].split(';');
        const col = (n) => Number(last[h.indexOf(n)] ?? 0) || 0;
        s = { ok: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'), retrans: col('Retransmissions(C)'), elapsed: last[h.indexOf('ElapsedTime(C)')] };
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, ...s, err: err.slice(-500), label });
    });
  });
  return { child, done };
}

function startChild(file, argv) {
  const c = fork(join(here, file), argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    c.once('message', (m) => (m.ready ? resolve(c) : reject(new Error('bad ready'))));
    c.once('exit', (code) => reject(new Error(`${file} exited ${code}`)));
  });
}
const ask = (c) => new Promise((resolve) => {
  c.once('message', resolve);
  c.send('stats');
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function step(rate, calls, targetPort, extra = []) {
  const uac = sipp(['-sn', 'uac', `127.0.0.1:${targetPort}`, '-p', String(await freePort()), '-r', String(rate), '-m', String(calls), '-l', String(Math.max(rate * 4, 2000)), '-timeout', `${Math.ceil(calls / rate) * 3 + 30}s`, '-timeout_error', ...extra], 'uac');
  const t0 = Date.now();
  const u = await uac.done;
  return { ...u, seconds: (Date.now() - t0) / 1000 };
}

const sipPort = await freePort();
const controlPort = await freePort();
const uasPort = await freePort();
const engine = await startChild('engine-proc.mjs', [String(sipPort), String(controlPort), transport]);
const app = await startChild('b2b-app.mjs', [String(controlPort), String(uasPort), transport]);
console.log(`transport ${transport}; engine sip ${sipPort}, control ${controlPort}; uas ${uasPort}`);
// one sipp uas behind the B2BUA for the whole run
const uasMain = sipp(['-sn', 'uas', '-p', String(uasPort), '-m', '100000000'], 'uas');
await sleep(2000);

if (rates.length > 0) {
  const warm = await step(300, 3000, sipPort);
  console.log(`warm-up: 3000 calls at 300/s → ok ${warm.ok} failed ${warm.failed} retrans ${warm.retrans}`);
}

let best = 0;
let bestAchieved = 0;
let bestRetrans = 0;
for (const rate of rates) {
  const r = await step(rate, CALLS, sipPort);
  const achieved = r.ok / r.seconds;
  const clean = r.code === 0 && r.failed === 0 && r.ok === CALLS;
  console.log(`B2BUA offered ${rate} calls/s × ${CALLS}: ok ${r.ok} failed ${r.failed} retrans ${r.retrans} in ${r.seconds.toFixed(1)} s (${achieved.toFixed(0)} calls/s achieved) exit ${r.code} → ${clean ? (r.retrans === 0 ? 'clean' : 'no failures, with retransmissions') : 'FAILED'}`);
  if (!clean) break;
  best = rate;
  bestAchieved = achieved;
  bestRetrans = r.retrans;
  await sleep(2000);
}

// baseline in the same run: sipp uac → sipp uas directly, same offered rates
let baseBest = 0;
let baseAchieved = 0;
const directUas = await freePort();
if (rates.length === 0) rates.push(); // nothing to compare
const uasDirect = sipp(['-sn', 'uas', '-p', String(directUas), '-m', '100000000'], 'uas');
await sleep(1000);
for (const rate of rates) {
  const r = await step(rate, CALLS, directUas);
  const clean = r.code === 0 && r.failed === 0 && r.ok === CALLS;
  console.log(`baseline sipp→sipp offered ${rate}/s × ${CALLS}: ok ${r.ok} failed ${r.failed} retrans ${r.retrans} in ${r.seconds.toFixed(1)} s (${(r.ok / r.seconds).toFixed(0)} calls/s achieved)`);
  if (!clean) break;
  baseBest = rate;
  baseAchieved = r.ok / r.seconds;
  if (rate > best && best > 0) break;
}
uasDirect.child.kill('SIGTERM');

if (memoryCalls > 0) {
  await sleep(3000);
  const idle = await ask(engine);
  const memRate = 300;
  const hold = Math.ceil(memoryCalls / memRate) * 1000 + 15000;
  const uac = sipp(['-sn', 'uac', `127.0.0.1:${sipPort}`, '-p', String(await freePort()), '-r', String(memRate), '-m', String(memoryCalls), '-d', String(hold), '-l', String(memoryCalls + 10), '-timeout', `${Math.ceil(hold / 1000) * 2 + 60}s`], 'uac');
  await sleep(Math.ceil(memoryCalls / memRate) * 1000 + 5000);
  if (global.gc) global.gc();
  const full = await ask(engine);
  console.log(`memory: ${full.stats.dialogs} engine dialogs; engine RSS ${(idle.rss / 1e6).toFixed(1)} MB idle → ${(full.rss / 1e6).toFixed(1)} MB; heap ${(idle.heap / 1e6).toFixed(1)} → ${(full.heap / 1e6).toFixed(1)} MB; ≈ ${((full.rss - idle.rss) / Math.max(1, full.stats.dialogs)).toFixed(0)} B RSS (${((full.heap - idle.heap) / Math.max(1, full.stats.dialogs)).toFixed(0)} B heap) per dialog (2 dialogs per B2BUA call)`);
  uac.child.kill('SIGTERM');
  await uac.done;
}

const appStats = await ask(app);
console.log(`app B2BUA errors: ${appStats.errors}`);
console.log(`RESULT engine B2BUA (${transport}): highest offered rate with 0 failed calls over ${CALLS} calls = ${best}/s (achieved ${bestAchieved.toFixed(0)}/s, ${bestRetrans} sipp retransmissions); baseline sipp→sipp: ${baseBest}/s (achieved ${baseAchieved.toFixed(0)}/s); ratio engine/baseline = ${baseAchieved > 0 ? (bestAchieved / baseAchieved).toFixed(2) : 'n/a'}`);
uasMain.child.kill('SIGTERM');
engine.kill('SIGTERM');
app.kill('SIGTERM');
process.exit(0);
