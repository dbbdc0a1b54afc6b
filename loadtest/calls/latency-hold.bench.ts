/**
 * Call-routing benchmark, second part: INVITE→180 relay latency and 60 s hold time.
 * Same path as `calls.bench.ts` (engine → sip app: tenant, 407/digest, planRoute over Redis,
 * B2BUA to a registered sipp UAS, CDR published), each phase against sipp calling sipp
 * directly in the same run as the baseline.
 *
 *   npx tsc -b && KUMO_BENCH_FILE=loadtest/calls/latency-hold.bench.ts \
 *     npx vitest run --config loadtest/calls/vitest.config.ts
 *
 * Phases (KUMO_BENCH_PHASES, default "latency,hold"):
 * - latency: KUMO_BENCH_LAT_CALLS (default 6000) calls at KUMO_BENCH_LAT_RATE (default 100)
 *   calls/s, held 0 s. sipp measures response times (`start_rtd`/`rtd`, `-trace_rtt -rtt_freq 1`,
 *   whole ms, seen in 4 ms steps here): rtd 1 = authenticated INVITE → 180 (the relay through Kumo), rtd 2 = first
 *   INVITE → 407 (the challenge); baseline: INVITE → 180 sipp to sipp. p50/p99 from the rtt CSV.
 * - hold: KUMO_BENCH_HOLD_RATE (default 50) calls/s for KUMO_BENCH_HOLD_OFFER_S (default 60) s,
 *   each call held KUMO_BENCH_HOLD_S (default 60) s. Peak concurrent calls (sipp's CurrentCall),
 *   failed calls, and RSS/heap growth at the peak divided by the concurrent calls.
 * Results go to loadtest/results/calls-latency-hold.json.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BENCH_DOMAIN, startCallBenchStack, type CallBenchStack } from './stack.js';
import { percentiles, registerCallee, takeRttCsv, type Rtd } from './bench-tenant.js';
import { CdrStreams, type RedisClient, type KeySchema } from '@kumo/store';
import type { SipApp } from '@kumo/sip';
import { freePort, startSipp, type SippOptions, type SippResult } from '@kumo/testkit';

const PHASES = (process.env.KUMO_BENCH_PHASES ?? 'latency,hold').split(',');
const LAT_CALLS = Number(process.env.KUMO_BENCH_LAT_CALLS ?? 6000);
const LAT_RATE = Number(process.env.KUMO_BENCH_LAT_RATE ?? 100);
const HOLD_RATE = Number(process.env.KUMO_BENCH_HOLD_RATE ?? 50);
const HOLD_OFFER_S = Number(process.env.KUMO_BENCH_HOLD_OFFER_S ?? 60);
const HOLD_S = Number(process.env.KUMO_BENCH_HOLD_S ?? 60);
const HOLD_CALLS = HOLD_RATE * HOLD_OFFER_S;
const LIMIT = Math.max(2000, HOLD_CALLS + 100);
const DOMAIN = BENCH_DOMAIN;
const results: Record<string, unknown> = { loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))) };

function gcIfExposed(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

const SDP = `v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
`;

function pause(holdMs: number): string {
  return holdMs > 0 ? `  <pause milliseconds="${holdMs}"/>\n` : '';
}

function ack(user: string, cseq: number, txn?: string): string {
  return `  <send${txn ? ` ack_txn="${txn}"` : ''}><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${user}@${DOMAIN}>;tag=[pid]T[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: ${cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
`;
}

function bye(user: string, cseq: number): string {
  return `  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${user}@${DOMAIN}>;tag=[pid]T[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: ${cseq} BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
`;
}

function invite(user: string, cseq: number, attrs: string, auth: boolean): string {
  return `  <send retrans="500" ${attrs}><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${user}@${DOMAIN}>;tag=[pid]T[call_number]
To: <sip:[service]@${DOMAIN}>
Call-ID: [call_id]
CSeq: ${cseq} INVITE
Contact: <sip:${user}@[local_ip]:[local_port]>
Max-Forwards: 70
User-Agent: sipp-bench
${auth ? `[authentication username=${user} password=pass${user}x]\n` : ''}Content-Type: application/sdp
Content-Length: [len]

${SDP}
]]></send>
`;
}

/** 1001 through Kumo: INVITE (rtd 2 starts) → 407 (rtd 2) → ACK → INVITE with digest (rtd 1 starts) → 180 (rtd 1) → 200 → ACK → [hold] → BYE. */
function uacDigest(holdMs: number): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench-uac-digest-rtd">
${invite('1001', 1, 'start_txn="inv1" start_rtd="2"', false)}  <recv response="100" optional="true" response_txn="inv1"/>
  <recv response="407" auth="true" rtd="2" response_txn="inv1"/>
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
${invite('1001', 2, 'start_txn="inv2" start_rtd="1"', true)}  <recv response="100" optional="true" response_txn="inv2"/>
  <recv response="180" rtd="1" response_txn="inv2"/>
  <recv response="200" rrs="true" response_txn="inv2"/>
${ack('1001', 2, 'inv2')}${pause(holdMs)}${bye('1001', 3)}</scenario>
`;
}

/** Baseline sipp → sipp: INVITE (rtd 1 starts) → 180 (rtd 1) → 200 → ACK → [hold] → BYE. */
function uacPlain(holdMs: number): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench-uac-plain-rtd">
${invite('1001', 1, 'start_rtd="1"', false)}  <recv response="100" optional="true"/>
  <recv response="180" rtd="1"/>
  <recv response="200" rrs="true"/>
${ack('1001', 1)}${pause(holdMs)}${bye('1001', 2)}</scenario>
`;
}

let stack: CallBenchStack;
let redis: RedisClient;
let app: SipApp;
let sipPort = 0;
let keys: KeySchema;
const dir = mkdtempSync(join(tmpdir(), 'kumo-bench-lathold-'));

beforeAll(async () => {
  stack = await startCallBenchStack({ ports: 20_000 });
  ({ redis, sipPort, keys } = stack);
  app = stack.app;
});

afterAll(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../results/calls-latency-hold.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`);
});

/** Runs a scenario file with `-trace_rtt -rtt_freq 1`; sipp writes `<name>_<pid>_rtt.csv` in its working directory. */
async function runWithRtt(o: SippOptions & { scenario: { file: string } }): Promise<{ result: SippResult; rtd: Record<string, Rtd>; steady: Record<string, Rtd> }> {
  const h = startSipp({ ...o, args: [...(o.args ?? []), '-trace_rtt', '-rtt_freq', '1'] });
  const pid = h.process.pid;
  const result = await h.done;
  const kept = takeRttCsv(o.scenario.file, pid, dir);
  const rtd: Record<string, number[]> = {};
  const steady: Record<string, number[]> = {};
  let firstAt = NaN;
  if (kept !== undefined) {
    for (const line of readFileSync(kept, 'utf8').trim().split('\n').slice(1)) {
      const [at, ms, no] = line.split(';');
      if (at === undefined || ms === undefined || no === undefined) continue;
      (rtd[no] ??= []).push(Number(ms));
      if (Number.isNaN(firstAt)) firstAt = Number(at);
      // Steady state: leave out the first 10 s (JIT warm-up, first Redis scripts).
      if (Number(at) - firstAt >= 10_000) (steady[no] ??= []).push(Number(ms));
    }
  }
  const pct = (m: Record<string, number[]>): Record<string, Rtd> => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, percentiles(v)]));
  return { result, rtd: pct(rtd), steady: pct(steady) };
}

/** Resident memory of a process (sipp) from /proc, in KiB; 0 when gone. */
function rssKiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function uasOn(port: number, calls: number) {
  return startSipp({ scenario: { builtin: 'uas' }, localPort: port, calls, timeoutS: 600, args: ['-l', String(LIMIT)] });
}

function summary(r: SippResult) {
  return { ok: r.ok, successful: r.successful, failed: r.failed, retransmissions: r.retransmissions, peakCurrentCalls: r.peakCurrentCalls, durationS: Math.round(r.durationMs / 100) / 10, ...(r.ok ? {} : { stderr: r.stderr.slice(0, 500), errors: r.errors.slice(0, 500) }) };
}

async function cdrStream(): Promise<string> {
  const streams = new CdrStreams(redis, keys, 4);
  const stream = streams.streamKey(streams.shardOf('bench'));
  await redis.del(stream);
  return stream;
}

describe.skipIf(!PHASES.includes('latency'))('INVITE→180 relay latency', () => {
  it(`at ${LAT_RATE} calls/s: sipp → sipp baseline, then through Kumo`, async () => {
    const bport = await freePort();
    const buas = uasOn(bport, LAT_CALLS);
    const bf = join(dir, 'lat-plain.xml');
    writeFileSync(bf, uacPlain(0));
    const base = await runWithRtt({ scenario: { file: bf }, target: `127.0.0.1:${bport}`, calls: LAT_CALLS, rate: LAT_RATE, limit: LIMIT, timeoutS: 600 });
    await buas.stop();

    const uport = await freePort();
    const uas = uasOn(uport, LAT_CALLS);
    await registerCallee(redis, keys, uport);
    const stream = await cdrStream();
    const kf = join(dir, 'lat-digest.xml');
    writeFileSync(kf, uacDigest(0));
    const kumo = await runWithRtt({ scenario: { file: kf }, target: `127.0.0.1:${sipPort}`, service: '1002', calls: LAT_CALLS, rate: LAT_RATE, limit: LIMIT, timeoutS: 600 });
    await uas.stop();
    await new Promise((res) => setTimeout(res, 500));
    const cdrs = await redis.xlen(stream);
    const relay = kumo.rtd['1'];
    const baseRtd = base.rtd['1'];
    const run = {
      rate: LAT_RATE,
      calls: LAT_CALLS,
      baseline: { ...summary(base.result), invite180Ms: baseRtd, invite180MsAfter10s: base.steady['1'] },
      kumo: { ...summary(kumo.result), cdrs, authInvite180Ms: relay, invite407Ms: kumo.rtd['2'], authInvite180MsAfter10s: kumo.steady['1'], invite407MsAfter10s: kumo.steady['2'] },
      ratioP99: relay && baseRtd ? Math.round((relay.p99 / Math.max(baseRtd.p99, 1)) * 100) / 100 : null,
      ratioP50: relay && baseRtd ? Math.round((relay.p50 / Math.max(baseRtd.p50, 1)) * 100) / 100 : null,
      note: 'sipp reports whole ms (observed in steps of 4 ms on this machine); ratios divide by max(baseline, 1 ms)',
    };
    results.latency = run;
    process.stdout.write(`calls latency @${LAT_RATE}/s: ${JSON.stringify(run)}\n`);
  });
});

describe.skipIf(!PHASES.includes('hold'))('hold time', () => {
  it(`${HOLD_RATE} calls/s for ${HOLD_OFFER_S} s, held ${HOLD_S} s: sipp → sipp baseline, then through Kumo`, async () => {
    const holdMs = HOLD_S * 1000;
    const timeoutS = HOLD_OFFER_S + HOLD_S + 120;
    const bport = await freePort();
    const buas = uasOn(bport, HOLD_CALLS);
    const bf = join(dir, 'hold-plain.xml');
    writeFileSync(bf, uacPlain(holdMs));
    const base = startSipp({ scenario: { file: bf }, target: `127.0.0.1:${bport}`, calls: HOLD_CALLS, rate: HOLD_RATE, limit: LIMIT, timeoutS });
    // sipp's own memory at the plateau (all calls up), both ends.
    let sippRss = { uacKiB: 0, uasKiB: 0 };
    const atPlateau = setTimeout(() => (sippRss = { uacKiB: rssKiB(base.process.pid), uasKiB: rssKiB(buas.process.pid) }), (HOLD_OFFER_S + 1) * 1000);
    const baseResult = await base.done;
    clearTimeout(atPlateau);
    await buas.stop();

    const uport = await freePort();
    const uas = uasOn(uport, HOLD_CALLS);
    await registerCallee(redis, keys, uport);
    const stream = await cdrStream();
    const kf = join(dir, 'hold-digest.xml');
    writeFileSync(kf, uacDigest(holdMs));
    gcIfExposed();
    const before = process.memoryUsage();
    // Sample every second; the peak is the sample with the most calls in the sip app.
    let peak = { legs: 0, rss: before.rss, heapUsed: before.heapUsed, atS: 0 };
    // Once every call is up: a forced GC, so what remains is the live state of the held calls.
    let afterGc: { legs: number; rss: number; heapUsed: number; atS: number } | undefined;
    const t0 = Date.now();
    const sampler = setInterval(() => {
      const legs = app.stats().bridgedLegs;
      if (legs >= peak.legs) {
        const m = process.memoryUsage();
        peak = { legs, rss: m.rss, heapUsed: m.heapUsed, atS: Math.round((Date.now() - t0) / 1000) };
      }
      if (afterGc === undefined && legs >= 2 * HOLD_CALLS * 0.99) {
        gcIfExposed();
        const m = process.memoryUsage();
        afterGc = { legs: app.stats().bridgedLegs, rss: m.rss, heapUsed: m.heapUsed, atS: Math.round((Date.now() - t0) / 1000) };
      }
    }, 1000);
    const kumo = await startSipp({ scenario: { file: kf }, target: `127.0.0.1:${sipPort}`, service: '1002', calls: HOLD_CALLS, rate: HOLD_RATE, limit: LIMIT, timeoutS }).done;
    clearInterval(sampler);
    await uas.stop();
    await new Promise((res) => setTimeout(res, 500));
    const cdrs = await redis.xlen(stream);
    const concurrent = Math.max(kumo.peakCurrentCalls, 1);
    const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
    const run = {
      rate: HOLD_RATE,
      offeredS: HOLD_OFFER_S,
      holdS: HOLD_S,
      calls: HOLD_CALLS,
      baseline: { ...summary(baseResult), sippRssAtPlateau: sippRss },
      kumo: {
        ...summary(kumo),
        cdrs,
        appBridgedLegsAtPeak: peak.legs,
        peakSampleAtS: peak.atS,
        rssBeforeMiB: mib(before.rss),
        rssAtPeakMiB: mib(peak.rss),
        heapUsedBeforeMiB: mib(before.heapUsed),
        heapUsedAtPeakMiB: mib(peak.heapUsed),
        rssPerConcurrentCallKiB: Math.round(((peak.rss - before.rss) / concurrent / 1024) * 10) / 10,
        heapPerConcurrentCallKiB: Math.round(((peak.heapUsed - before.heapUsed) / concurrent / 1024) * 10) / 10,
        plateauAfterGc: afterGc && {
          atS: afterGc.atS,
          bridgedLegs: afterGc.legs,
          rssMiB: mib(afterGc.rss),
          heapUsedMiB: mib(afterGc.heapUsed),
          heapPerCallKiB: Math.round(((afterGc.heapUsed - before.heapUsed) / (afterGc.legs / 2) / 1024) * 10) / 10,
          rssPerCallKiB: Math.round(((afterGc.rss - before.rss) / (afterGc.legs / 2) / 1024) * 10) / 10,
        },
      },
      ratioPeakConcurrent: Math.round((kumo.peakCurrentCalls / Math.max(baseResult.peakCurrentCalls, 1)) * 1000) / 1000,
    };
    results.hold = run;
    process.stdout.write(`calls hold ${HOLD_S}s @${HOLD_RATE}/s: ${JSON.stringify(run)}\n`);
  });
});
