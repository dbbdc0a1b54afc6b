/**
 * Call-routing benchmark: registered extension calls registered extension, digest on the
 * INVITE, through the whole path as production runs it — `kumo engine` and `KUMO_SIP_WORKERS`
 * (default 1) × `kumo sip` as separate processes (tenant, 407/digest, overload gate, admission,
 * call record, planRoute over Redis, B2BUA, CDR published to Redis) — against sipp calling sipp
 * directly in the same run as the baseline.
 *
 *   npx tsc -b && npx vitest run --config loadtest/calls/vitest.config.ts
 *   npx tsc -b && KUMO_SIP_WORKERS=2 KUMO_BENCH_RATES=600,800,1000 npx vitest run --config loadtest/calls/vitest.config.ts
 *
 * Env: KUMO_BENCH_CALLS (default 20000) calls per step, KUMO_BENCH_RATES (default "300")
 * comma-separated offered rates tried in order (stops at the first step with a failed call),
 * KUMO_BENCH_LIMIT (default 2000) simultaneous calls, KUMO_BENCH_WARMUP (default 2000) calls at
 * 200/s first (JIT, scripts), KUMO_BENCH_LAT_RATE (default: half the highest clean achieved
 * rate) and KUMO_BENCH_LAT_CALLS (default 30 s worth) for the INVITE→180 latency step, which
 * starts KUMO_BENCH_LAT_SETTLE_S (default 35) after the rate steps end and after
 * KUMO_BENCH_LAT_WARMUP_S (default 3) seconds of calls at its own rate (printed, not counted),
 * KUMO_SIP_WORKERS (default 1). Each step prints the calls/s, the ratio to the baseline, the
 * CPU-seconds per 1,000 calls of every process (engine, each sip worker, redis-server, the two
 * sipp of the step) from /proc, and the load average. Results go to loadtest/results/calls.json.
 * Profiling: KUMO_BENCH_SIP_PROF=<dir> (see procs.ts). KUMO_BENCH_PCAP=<file> captures the latency
 * step on loopback (dumpcap) for `node loadtest/calls/pcap-latency.mjs <file>`, which splits every
 * INVITE→180 into its hops (the caller's SDP session id is its call number, to pair the two legs).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BENCH_DOMAIN, startCallBenchProcs, type CallBenchProcs } from './procs.js';
import { percentiles, takeRttCsv, type Rtd } from './bench-tenant.js';
import { CdrStreams } from '@kumo/store';
import { freePort, runSipp, startSipp, type SippOptions, type SippResult } from '@kumo/testkit';
import { formatCpu, loadAverage, processRssBytes, startCpuMeter, type ProcessCpu } from '../lib/proc-cpu.mjs';

const N = Number(process.env.KUMO_BENCH_CALLS ?? 20_000);
const RATES = (process.env.KUMO_BENCH_RATES ?? '300').split(',').map(Number);
const LIMIT = Number(process.env.KUMO_BENCH_LIMIT ?? 2000);
const WARMUP = Number(process.env.KUMO_BENCH_WARMUP ?? 2000);
const WORKERS = Number(process.env.KUMO_SIP_WORKERS ?? 1);
const SETTLE_S = Number(process.env.KUMO_BENCH_LAT_SETTLE_S ?? 35);
const LAT_WARMUP_S = Number(process.env.KUMO_BENCH_LAT_WARMUP_S ?? 3);
const DOMAIN = BENCH_DOMAIN;
const results: Record<string, unknown> = { loadavgAtStart: loadAverage(), calls: N, limit: LIMIT, sipWorkers: WORKERS, runs: [] as unknown[] };
const say = (s: string): void => void process.stdout.write(`${s}\n`);

const SDP = `v=0
o=user1 [call_number] 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
`;

/** Phone 1001 calling through Kumo: 407 → ACK → INVITE with digest → 200 → ACK → BYE. */
const UAC_DIGEST = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench-uac-digest">
  <send retrans="500" start_txn="inv1"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:1001@${DOMAIN}>;tag=[pid]T[call_number]
To: <sip:[service]@${DOMAIN}>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:1001@[local_ip]:[local_port]>
Max-Forwards: 70
User-Agent: sipp-bench
Content-Type: application/sdp
Content-Length: [len]

${SDP}
]]></send>
  <recv response="100" optional="true" response_txn="inv1"/>
  <recv response="407" auth="true" response_txn="inv1"/>
  <send ack_txn="inv1"><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-of:inv1];rport
From: <sip:1001@${DOMAIN}>;tag=[pid]T[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <send retrans="500" start_txn="inv2" start_rtd="1"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:1001@${DOMAIN}>;tag=[pid]T[call_number]
To: <sip:[service]@${DOMAIN}>
Call-ID: [call_id]
CSeq: 2 INVITE
Contact: <sip:1001@[local_ip]:[local_port]>
Max-Forwards: 70
User-Agent: sipp-bench
[authentication username=1001 password=pass1001x]
Content-Type: application/sdp
Content-Length: [len]

${SDP}
]]></send>
  <recv response="100" optional="true" response_txn="inv2"/>
  <recv response="180" optional="true" rtd="1" response_txn="inv2"/>
  <recv response="200" rrs="true" response_txn="inv2"/>
  <send ack_txn="inv2"><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:1001@${DOMAIN}>;tag=[pid]T[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:1001@${DOMAIN}>;tag=[pid]T[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
`;

let procs: CallBenchProcs;
const dir = mkdtempSync(join(tmpdir(), 'kumo-bench-calls-'));
const uacFile = join(dir, 'bench-uac-digest.xml');

beforeAll(async () => {
  writeFileSync(uacFile, UAC_DIGEST);
  procs = await startCallBenchProcs({ workers: WORKERS });
});

afterAll(async () => {
  results.loadavgAtEnd = loadAverage();
  say(`load average at start ${(results.loadavgAtStart as number[]).join(' ')}, at end ${(results.loadavgAtEnd as number[]).join(' ')}`);
  await procs?.close();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../results/calls.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`);
});

function rate(r: SippResult): number {
  return Math.round((r.successful / (r.durationMs / 1000)) * 10) / 10;
}

function uasOn(port: number, calls: number) {
  return startSipp({ scenario: { builtin: 'uas' }, localPort: port, calls, timeoutS: 900, args: ['-l', String(LIMIT)] });
}

/** Runs a scenario; with `rtt`, sipp's response-time counters (`<name>_<pid>_rtt.csv` in the working directory) are read back. */
async function runKumo(o: SippOptions & { scenario: { file: string } }, rtt: boolean): Promise<{ result: SippResult; rtd: Rtd | undefined }> {
  // KUMO_BENCH_PCAP=<file>: capture the latency step on loopback for pcap-latency.mjs (which hop the time goes to).
  const capture = rtt && process.env.KUMO_BENCH_PCAP ? await startCapture(process.env.KUMO_BENCH_PCAP) : undefined;
  const h = startSipp({ ...o, args: [...(o.args ?? []), ...(rtt ? ['-trace_rtt', '-rtt_freq', '1'] : [])] });
  const pid = h.process.pid;
  const result = await h.done.finally(() => capture?.stop());
  if (!rtt) return { result, rtd: undefined };
  const kept = takeRttCsv(o.scenario.file, pid, dir);
  const values: number[] = [];
  if (kept !== undefined) {
    // KUMO_BENCH_PROC_LOG=<dir>: keep the per-call timings (date_ms;response_time_ms;rtd) to line stalls up with the processes' logs.
    if (process.env.KUMO_BENCH_PROC_LOG) writeFileSync(join(process.env.KUMO_BENCH_PROC_LOG, 'invite-180-rtt.csv'), readFileSync(kept));
    for (const line of readFileSync(kept, 'utf8').trim().split('\n').slice(1)) {
      const [, ms, no] = line.split(';');
      if (no === '1' && ms !== undefined) values.push(Number(ms));
    }
  }
  return { result, rtd: percentiles(values) };
}

/** dumpcap on the loopback interface, writing classic pcap to `file`, until stop(). */
async function startCapture(file: string): Promise<{ stop(): Promise<void> }> {
  const child = spawn('dumpcap', ['-q', '-i', 'lo', '-P', '-B', '64', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // dumpcap says "Capturing on 'Loopback: lo'" once it is capturing.
  for (let i = 0; i < 100 && !/Capturing on/.test(err) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  if (child.exitCode !== null) throw new Error(`dumpcap exited ${child.exitCode}: ${err}`);
  return {
    async stop() {
      child.kill('SIGINT');
      await exited;
    },
  };
}

/** Redis commands served so far, by command (INFO commandstats; scripts count as evalsha). */
async function commandStats(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of (await procs.redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1] as string] = Number(m[2]);
  return out;
}

/** One step: the sipp → sipp baseline, then the same calls through Kumo, each with its CPU per process. */
async function step(r: number, calls: number, o: { baseline: boolean; rtt: boolean }) {
  let base: { result: SippResult; cpu: Record<string, ProcessCpu> } | undefined;
  if (o.baseline) {
    const bport = await freePort();
    const meter = startCpuMeter({}, { exitedChildrenAs: 'sipp' });
    const buas = uasOn(bport, calls);
    const result = await runSipp({ scenario: { builtin: 'uac' }, target: `127.0.0.1:${bport}`, calls, rate: r, limit: LIMIT, timeoutS: 900 });
    await buas.stop();
    base = { result, cpu: meter.stop(result.successful) };
  }
  const uport = await freePort();
  const uas = uasOn(uport, calls);
  await procs.registerCallee(uport);
  const streams = new CdrStreams(procs.redis, procs.keys, 4);
  const stream = streams.streamKey(streams.shardOf('bench'));
  await procs.redis.del(stream);
  const loadBefore = loadAverage();
  const cmdsBefore = await commandStats();
  const meter = startCpuMeter(procs.pids(), { exitedChildrenAs: 'sipp' });
  const { result: kumo, rtd } = await runKumo({ scenario: { file: uacFile }, target: `127.0.0.1:${procs.sipPort}`, service: '1002', calls, rate: r, limit: LIMIT, timeoutS: 900 }, o.rtt);
  await uas.stop();
  const cpu = meter.stop(kumo.successful);
  const loadAfter = loadAverage();
  // CDRs are published as the BYE is answered: give the last ones a moment.
  let cdrs = 0;
  for (let i = 0; i < 50 && (cdrs = await procs.redis.xlen(stream)) < kumo.successful; i++) await new Promise((res) => setTimeout(res, 100));
  const cmdsAfter = await commandStats();
  const redisPerCall: Record<string, number> = {};
  for (const [c, n] of Object.entries(cmdsAfter)) {
    const d = n - (cmdsBefore[c] ?? 0);
    if (d > 0) redisPerCall[c] = Math.round((d / Math.max(kumo.successful, 1)) * 100) / 100;
  }
  const rss = Object.fromEntries(Object.entries(procs.pids()).map(([n, pid]) => [n, Math.round(processRssBytes(pid) / 2 ** 20)]));
  return {
    rate: r,
    baseline: base && { successful: base.result.successful, failed: base.result.failed, callsPerSecond: rate(base.result), cpu: base.cpu },
    kumo: { ok: kumo.ok, successful: kumo.successful, failed: kumo.failed, retransmissions: kumo.retransmissions, callsPerSecond: rate(kumo), cdrs, cpu, rssMiB: rss, redisCommandsPerCall: redisPerCall },
    ratio: base ? Math.round((rate(kumo) / Math.max(rate(base.result), 0.1)) * 1000) / 1000 : undefined,
    invite180: rtd,
    loadavg: { before: loadBefore, after: loadAfter },
  };
}

type Step = Awaited<ReturnType<typeof step>>;

function print(label: string, s: Step): void {
  const k = s.kumo;
  say(`calls ${label} @${s.rate}/s, ${WORKERS} sip worker(s): kumo ${k.successful} ok, ${k.failed} failed, ${k.retransmissions} retransmissions, ${k.callsPerSecond} calls/s, ${k.cdrs} CDRs`);
  if (s.baseline) say(`  baseline sipp→sipp: ${s.baseline.successful} ok, ${s.baseline.failed} failed, ${s.baseline.callsPerSecond} calls/s; ratio kumo/baseline ${s.ratio}; baseline ${formatCpu(s.baseline.cpu, 'calls')}`);
  say(`  CPU: ${formatCpu(k.cpu, 'calls')}`);
  if (s.invite180) say(`  INVITE→180 (digest INVITE to relayed 180): p50 ${s.invite180.p50} ms, p99 ${s.invite180.p99} ms, max ${s.invite180.max} ms over ${s.invite180.n} calls`);
  const perCall = Object.entries(k.redisCommandsPerCall).sort((a, b) => b[1] - a[1]);
  say(`  Redis commands per call: ${perCall.reduce((a, [, n]) => a + n, 0).toFixed(1)} (${perCall.map(([c, n]) => `${c} ${n}`).join(', ')})`);
  say(`  load average ${s.loadavg.before.join(' ')} → ${s.loadavg.after.join(' ')}; RSS MiB ${JSON.stringify(k.rssMiB)}`);
}

describe('calls benchmark', () => {
  it('sipp → sipp baseline, then extension → extension through Kumo', async () => {
    const runs = results.runs as unknown[];
    if (WARMUP > 0) {
      const w = await step(Math.min(200, RATES[0] ?? 200), WARMUP, { baseline: false, rtt: false });
      print('warm-up', w);
      results.warmup = w;
    }
    let best: Step | undefined;
    for (const r of RATES) {
      const s = await step(r, N, { baseline: true, rtt: false });
      runs.push(s);
      print('step', s);
      if (!s.kumo.ok || s.kumo.failed > 0) break;
      best = s;
    }
    const latRate = Number(process.env.KUMO_BENCH_LAT_RATE ?? (best ? Math.max(1, Math.floor(best.kumo.callsPerSecond / 2)) : 0));
    if (latRate > 0) {
      const latCalls = Number(process.env.KUMO_BENCH_LAT_CALLS ?? latRate * 30);
      // The latency step measures its own rate's steady state, not the tail of the faster step before it: the
      // engine keeps each INVITE transaction 32 s after its 2xx (RFC 6026 Timer L, 64×T1), and collecting that
      // much state while the latency step runs would be measured as its latency.
      if (SETTLE_S > 0 && runs.length > 0) {
        say(`  settling ${SETTLE_S} s before the latency step (the previous step's transactions end)`);
        await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
      }
      // Then a short run at the step's own rate, printed but not part of the step: after the settle the processes
      // have been idle for half a minute (V8 shrank their young generations, the engine's QuietGc collected), and
      // the first second at full rate pays for that (the step response, not the steady state the step measures).
      if (LAT_WARMUP_S > 0) {
        const w = await step(latRate, Math.ceil(latRate * LAT_WARMUP_S), { baseline: false, rtt: true });
        results.latencyWarmup = w;
        print(`latency warm-up (the first ${LAT_WARMUP_S} s at this rate after the settle; not counted)`, w);
      }
      const s = await step(latRate, latCalls, { baseline: false, rtt: true });
      results.latency = s;
      print('latency (half the highest clean rate)', s);
    }
    if (best) {
      const sip = Object.entries(best.kumo.cpu).filter(([n]) => n.startsWith('sip-'));
      const perCall = sip.reduce((a, [, c]) => a + c.cpuSecondsPer1000, 0);
      // what one core of sip workers carries at that rate: the scaling figure, comparable across machines and worker counts
      const perSipCore = perCall > 0 ? Math.round(1000 / perCall) : 0;
      results.summary = { highestCleanRate: best.rate, achieved: best.kumo.callsPerSecond, ratio: best.ratio, sipCpuMsPerCall: perCall, callsPerSipCore: perSipCore, workers: WORKERS };
      say(`RESULT calls: highest clean offered rate ${best.rate}/s (achieved ${best.kumo.callsPerSecond}/s, ratio to sipp→sipp ${best.ratio}) with ${WORKERS} sip worker(s); sip-process CPU ${perCall.toFixed(3)} ms per call (all workers) = ${perSipCore} calls/s per sip core`);
    }
  });
});
