/**
 * Call-routing benchmark: registered extension calls registered extension, digest on the
 * INVITE, through the whole path (engine → sip app: tenant, 407/digest, planRoute over
 * Redis, B2BUA with forking, hunt state, CDR published to Redis), against sipp calling sipp
 * directly in the same run as the baseline.
 *
 *   npx tsc -b && npx vitest run --config loadtest/calls/vitest.config.ts
 *
 * Env: KUMO_BENCH_CALLS (default 20000) calls per run, KUMO_BENCH_RATES (default "300")
 * comma-separated call rates to try in order (calls/s), KUMO_BENCH_LIMIT (default 2000)
 * simultaneous calls. Engine and sip app run in this one Node process (one core); sipp in
 * its own processes. Results go to loadtest/results/calls.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BENCH_DOMAIN, startCallBenchStack, type CallBenchStack } from './stack.js';
import type { EngineHandle } from '@kumo/engine';
import { CdrStreams, type RedisClient, type KeySchema } from '@kumo/store';
import type { EngineConnection } from '@kumo/sip';
import { freePort, runSipp, startSipp, type SippResult } from '@kumo/testkit';

const N = Number(process.env.KUMO_BENCH_CALLS ?? 20_000);
const RATES = (process.env.KUMO_BENCH_RATES ?? '300').split(',').map(Number);
const LIMIT = Number(process.env.KUMO_BENCH_LIMIT ?? 2000);
const DOMAIN = BENCH_DOMAIN;
/** Wait after a run before the settled memory figures: past 64·T1 (32 s) so transactions have ended. */
const SETTLE_MS = Number(process.env.KUMO_BENCH_SETTLE_MS ?? 34_000);
function gcIfExposed(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}
const results: Record<string, unknown> = { loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))), calls: N, limit: LIMIT, runs: [] as unknown[] };

const SDP = `v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
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

let stack: CallBenchStack;
let redis: RedisClient;
let engine: EngineHandle;
let conn: EngineConnection;
let sipPort = 0;
let keys: KeySchema;
const dir = mkdtempSync(join(tmpdir(), 'kumo-bench-calls-'));

beforeAll(async () => {
  stack = await startCallBenchStack({ ports: 100 });
  ({ redis, engine, conn, sipPort, keys } = stack);
});

afterAll(async () => {
  await stack.close();
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

describe('calls benchmark', () => {
  it('sipp → sipp baseline, then extension → extension through Kumo', async () => {
    const runs = results.runs as unknown[];
    for (const r of RATES) {
      // Baseline: the same call shape (INVITE, 180, 200, ACK, BYE) sipp to sipp.
      const bport = await freePort();
      const buas = uasOn(bport, N);
      const base = await runSipp({ scenario: { builtin: 'uac' }, target: `127.0.0.1:${bport}`, calls: N, rate: r, limit: LIMIT, timeoutS: 900 });
      await buas.stop();

      // Kumo: 1002 registered at a sipp UAS; 1001 calls it with digest.
      const uport = await freePort();
      const uas = uasOn(uport, N);
      await redis.del(keys.tenant.regBindings('bench', '1002'));
      const { LocationStore } = await import('@kumo/store');
      await new LocationStore(redis, keys).register({
        tenantId: 'bench',
        extension: '1002',
        callId: `bench-${uport}`,
        cseq: 1,
        maxContacts: 5,
        policy: 'replace-oldest',
        mode: 'update',
        updates: [{ id: `b${uport}`, expires: 3600, contact: `sip:1002@127.0.0.1:${uport}`, source: { address: '127.0.0.1', port: uport, transport: 'udp' } }],
      });
      const f = join(dir, `uac-${r}.xml`);
      writeFileSync(f, UAC_DIGEST);
      const streams = new CdrStreams(redis, keys, 4);
      const stream = streams.streamKey(streams.shardOf('bench'));
      await redis.del(stream);
      gcIfExposed();
      const rssBefore = process.memoryUsage().rss;
      const heapBefore = process.memoryUsage().heapUsed;
      let rssPeak = rssBefore;
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 1000);
      const kumo = await runSipp({ scenario: { file: f }, target: `127.0.0.1:${sipPort}`, service: '1002', calls: N, rate: r, limit: LIMIT, timeoutS: 900 });
      await uas.stop();
      await new Promise((res) => setTimeout(res, 500));
      const cdrs = await redis.xlen(stream);
      clearInterval(sampler);
      const rssRightAfter = process.memoryUsage().rss;
      const inWindow = engine.stats();
      // Transactions stay for their RFC 3261 timers (64·T1 = 32 s) after a call ends: wait them
      // out, then collect garbage, so what remains is what finished calls really keep.
      await new Promise((res) => setTimeout(res, SETTLE_MS));
      gcIfExposed();
      const settled = process.memoryUsage();
      const mib = (b: number): number => Math.round(b / 2 ** 20);
      const run = {
        rate: r,
        baseline: { ok: base.ok, successful: base.successful, failed: base.failed, callsPerSecond: rate(base) },
        kumo: {
          ok: kumo.ok,
          successful: kumo.successful,
          failed: kumo.failed,
          retransmissions: kumo.retransmissions,
          callsPerSecond: rate(kumo),
          cdrs,
          memory: {
            rssBeforeMiB: mib(rssBefore),
            rssPeakMiB: mib(rssPeak),
            rssRightAfterMiB: mib(rssRightAfter),
            engineRightAfter: inWindow,
            rssSettledMiB: mib(settled.rss),
            heapUsedGrowthSettledMiB: Math.round(((settled.heapUsed - heapBefore) / 2 ** 20) * 10) / 10,
            heapUsedGrowthPerCallB: Math.round((settled.heapUsed - heapBefore) / Math.max(kumo.successful, 1)),
            engineSettled: engine.stats(),
            srfSettled: conn.stats(),
            gcExposed: typeof globalThis.gc === 'function',
          },
        },
        ratio: Math.round((rate(kumo) / Math.max(rate(base), 0.1)) * 1000) / 1000,
      };
      runs.push(run);
      process.stdout.write(`calls benchmark @${r}/s: ${JSON.stringify(run)}\n`);
      if (!kumo.ok || kumo.failed > 0) break;
    }
  });
});
