/**
 * Leak regression: after a few hundred finished calls (answered, cancelled, busy, nobody
 * registered) and the end of their transactions' timers, every piece of per-call state is
 * gone: the engine's transactions and dialogs, drachtio-srf's dialogs and pending requests,
 * and the sip app's ringing (pickup) registry. Short SIP timers (T1 = 20 ms) keep the wait
 * short; the answered calls run over UDP, the failure paths over TCP (no 32 s timer D).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateExtension, validateTenantCreate } from '@kumo/domain';
import { ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { freePort, runSipp, startSipp, type SippResult } from '@kumo/testkit';
import { startStack, type Stack } from '../helpers/stack.js';

const tenantId = 'leak';
const domain = 'leak.kumo.test';
const T1 = 20;
const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(0, 1500)} ${r.stderr.slice(0, 300)}`;

const SDP = `v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
`;

const hdrs = (cseq: number, method: string, to = '[last_To:]', branch = '[branch]') => `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=${branch};rport
From: <sip:1001@${domain}>;tag=[pid]T[call_number]
${to}
Call-ID: [call_id]
CSeq: ${cseq} ${method}
Max-Forwards: 70`;

const invite = (cseq: number, auth: string) => `
  <send retrans="500" start_txn="inv${cseq}"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
${hdrs(cseq, 'INVITE', `To: <sip:[service]@${domain}>`)}
Contact: <sip:1001@[local_ip]:[local_port];transport=[transport]>
User-Agent: sipp-leak
${auth}Content-Type: application/sdp
Content-Length: [len]

${SDP}
]]></send>
  <recv response="100" optional="true" response_txn="inv${cseq}"/>`;

/** ACK: for a 2xx a transaction of its own (new branch), for a non-2xx part of the INVITE's (its branch). */
const ack = (cseq: number, uri: string, to2xx = false) => `
  <send ack_txn="inv${cseq}"><![CDATA[
ACK ${uri} SIP/2.0
${hdrs(cseq, 'ACK', '[last_To:]', to2xx ? '[branch]' : `[branch-of:inv${cseq}]`)}
Content-Length: 0

]]></send>`;

/** 1001 calls with digest, then: `answer` (ACK, BYE), `cancel` (CANCEL after 180) or a final status. */
function uac(outcome: 'answer' | 'cancel' | number): string {
  let body = invite(1, '');
  body += `\n  <recv response="407" auth="true" response_txn="inv1"/>`;
  body += ack(1, 'sip:[service]@[remote_ip]:[remote_port]');
  body += invite(2, '[authentication username=1001 password=pass1001x]\n');
  if (outcome === 'answer') {
    body += `
  <recv response="180" optional="true" response_txn="inv2"/>
  <recv response="200" rrs="true" response_txn="inv2"/>${ack(2, '[next_url]', true)}
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
${hdrs(3, 'BYE')}
Content-Length: 0

]]></send>
  <recv response="200"/>`;
  } else if (outcome === 'cancel') {
    body += `
  <recv response="180" response_txn="inv2"/>
  <send><![CDATA[
CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
${hdrs(2, 'CANCEL', `To: <sip:[service]@${domain}>`, '[branch-of:inv2]')}
Content-Length: 0

]]></send>
  <recv response="200" response_txn="inv2"/>
  <recv response="487" response_txn="inv2"/>${ack(2, 'sip:[service]@[remote_ip]:[remote_port]')}`;
  } else {
    body += `
  <recv response="180" optional="true" response_txn="inv2"/>
  <recv response="${outcome}" response_txn="inv2"/>${ack(2, 'sip:[service]@[remote_ip]:[remote_port]')}`;
  }
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="uac">${body}\n</scenario>\n`;
}

const reply = (code: string, cseq = '[last_CSeq:]') => `
  <send><![CDATA[
SIP/2.0 ${code}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]U[call_number]
[last_Call-ID:]
${cseq}
Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

]]></send>`;

/** The callee's phone: rings then answers 486, or rings until CANCELled (200 + 487). */
function uas(kind: 'busy' | 'ring'): string {
  if (kind === 'busy') {
    const body = `\n  <recv request="INVITE"/>${reply('180 Ringing')}${reply('486 Busy Here')}\n  <recv request="ACK"/>`;
    return `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="uas-busy">${body}\n</scenario>\n`;
  }
  let body = `\n  <recv request="INVITE"><action><ereg regexp="([0-9]+)" search_in="hdr" header="CSeq:" assign_to="all,cs"/></action></recv>`;
  body += reply('180 Ringing');
  body += `\n  <recv request="CANCEL"/>${reply('200 OK')}${reply('487 Request Terminated', 'CSeq: [$cs] INVITE')}`;
  body += `\n  <recv request="ACK"/>\n  <Reference variables="all"/>`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="uas-ring">${body}\n</scenario>\n`;
}

describe('per-call state is released after calls end', () => {
  let s: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'kumo-leak-'));
  let n = 0;
  const file = (xml: string): { file: string } => {
    const f = join(dir, `s${n++}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };

  beforeAll(async () => {
    s = await startStack({
      redisUrl: inject('redisUrl'),
      calls: { cdrShards: 1, trunkSetupTimeoutSec: 2, trunkRingCapSec: 30 },
      timers: { T1, T2: 8 * T1, T4: 10 * T1 },
    });
    const repo = new ProvisioningRepo(s.redis, s.keys);
    const t = validateTenantCreate({ id: tenantId, name: 'Leak', sipDomain: domain, ports: 1000, trunkChannels: 10, callsPerSecond: 1000 });
    if (!t.ok) throw new Error('tenant');
    await repo.createTenant(t.value, SYSTEM_ACTOR);
    for (const number of ['1001', '1002', '1003', '1004', '1005']) {
      const e = validateExtension({ number, displayName: number, password: `pass${number}x` });
      if (!e.ok) throw new Error('extension');
      await repo.createExtension(tenantId, e.value, SYSTEM_ACTOR);
    }
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A sipp UAS registered as `ext`, taking `calls` calls. */
  async function phone(ext: string, scenario: { file: string } | { builtin: string }, transport: 'udp' | 'tcp', calls: number) {
    const port = await freePort();
    const h = startSipp({ scenario, transport, localPort: port, calls, timeoutS: 30, args: ['-l', '100'] });
    await s.app.location.register({
      tenantId,
      extension: ext,
      callId: `reg-${ext}-${port}`,
      cseq: n++,
      maxContacts: 5,
      policy: 'replace-oldest',
      mode: 'update',
      updates: [{ id: `b${port}`, expires: 300, contact: `sip:${ext}@127.0.0.1:${port}`, source: { address: '127.0.0.1', port, transport } }],
    });
    return h;
  }
  const calls = async (service: string, outcome: 'answer' | 'cancel' | number, transport: 'udp' | 'tcp', count: number) =>
    runSipp({ scenario: file(uac(outcome)), target: s.sipTarget, transport, service, calls: count, rate: 100, limit: 50, timeoutS: 40, localPort: await freePort() });

  /** Everything that holds per-call state, in the engine, in drachtio-srf and in the sip app. */
  const state = () => {
    const e = s.engine.stats();
    const srf = s.conn.stats();
    return {
      engine: { serverTransactions: e.serverTransactions, clientTransactions: e.clientTransactions, dialogs: e.dialogs },
      srf: { ...srf },
      app: { ...s.app.stats() },
    };
  };
  const zero = {
    engine: { serverTransactions: 0, clientTransactions: 0, dialogs: 0 },
    srf: { dialogs: 0, pendingRequests: 0, pendingSipRequests: 0, pendingNetworkInvites: 0, pendingAckOrPrack: 0 },
    app: { ringing: 0, bridgedLegs: 0, relayed: 0 },
  };

  async function settled(): Promise<ReturnType<typeof state>> {
    // 64·T1 is 1.28 s here; allow for a loaded machine.
    const until = Date.now() + 15_000;
    let st = state();
    while (Date.now() < until && JSON.stringify(st) !== JSON.stringify(zero)) {
      await new Promise((r) => setTimeout(r, 200));
      st = state();
    }
    return st;
  }

  it('answered calls over UDP (bench shape: 407, digest, B2BUA, BYE)', async () => {
    const callee = await phone('1002', { builtin: 'uas' }, 'udp', 200);
    const r = await calls('1002', 'answer', 'udp', 200);
    expect(r.ok, explain(r)).toBe(true);
    expect(r.successful).toBe(200);
    await callee.stop();
    expect(await settled()).toEqual(zero);
  });

  it('cancelled, busy and unregistered calls over TCP', async () => {
    const ringing = await phone('1003', file(uas('ring')), 'tcp', 40);
    const busy = await phone('1005', file(uas('busy')), 'tcp', 40);
    for (const [service, outcome] of [['1003', 'cancel'], ['1005', 486], ['1004', 480]] as const) {
      const r = await calls(service, outcome, 'tcp', 40);
      expect(r.ok, `${service}: ${explain(r).slice(0, 900)}`).toBe(true);
      expect(r.successful).toBe(40);
    }
    expect((await ringing.done).ok).toBe(true);
    expect((await busy.done).ok).toBe(true);
    expect(await settled()).toEqual(zero);
  });
});
