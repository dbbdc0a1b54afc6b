/**
 * CANCEL Reason (issue 12 item 5, RFC 3326): forks that lose a ring race — a second device of the
 * same extension, a ring-all group member, a phone whose call is picked up — get
 * `Reason: SIP;cause=200;text="Call completed elsewhere"` on their CANCEL, so they log no missed
 * call; a caller's own CANCEL carries no such Reason. sipp phones, the real engine, real Redis.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateExtension, validatePickupGroup, validateRingGroup, validateTenantCreate } from '@kumo/domain';
import { ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { freePort, runSipp, startSipp, type SippResult } from '@kumo/testkit';
import { udpPortBound } from '../helpers/raw-phone.js';
import { startStack, type Stack } from '../helpers/stack.js';

const DOMAIN = 'forks.kumo.test';
const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(0, 1500)} ${r.stderr.slice(0, 300)}`;

const SDP = `v=0
o=- 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
`;

const head = (method: string, cseq: string, extra = ''): string => `${method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field0]@${DOMAIN}>;tag=[pid]C[call_number]
To: <sip:[service]@${DOMAIN}>
Call-ID: [call_id]
CSeq: ${cseq}
Contact: <sip:[field0]@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
User-Agent: sipp-kumo
${extra}`;

/** The caller: digest, then either waits for 200 (hangs up after `holdMs`) or CANCELs after 180. */
function caller(o: { user: string; password: string; cancelAfterMs?: number; holdMs?: number; waitBye?: boolean; ring?: 'required' | 'optional' }): string {
  const inv = (cseq: number, auth: string) => `
  <send retrans="500" start_txn="i${cseq}"><![CDATA[
${head('INVITE', `${cseq} INVITE`, auth).replace(/\[field0\]/g, o.user)}Content-Type: application/sdp
Content-Length: [len]

${SDP}]]></send>
  <recv response="100" optional="true" response_txn="i${cseq}"/>`;
  const ack = (cseq: number) => `
  <send ack_txn="i${cseq}"><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:${o.user}@${DOMAIN}>;tag=[pid]C[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: ${cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>`;
  let x = `${inv(1, '')}
  <recv response="407" auth="true" response_txn="i1"/>${ack(1)}${inv(2, `[authentication username=${o.user} password=${o.password}]\n`)}
  <recv response="180"${o.ring === 'optional' ? ' optional="true"' : ''} response_txn="i2"/>`;
  if (o.cancelAfterMs !== undefined) {
    x += `
  <pause milliseconds="${o.cancelAfterMs}"/>
  <send><![CDATA[
CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:${o.user}@${DOMAIN}>;tag=[pid]C[call_number]
To: <sip:[service]@${DOMAIN}>
Call-ID: [call_id]
CSeq: 2 CANCEL
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
  <recv response="487" response_txn="i2"/>${ack(2)}`;
  } else {
    x += `
  <recv response="180" optional="true" response_txn="i2"/>
  <recv response="200" response_txn="i2" rrs="true"/>
  <send ack_txn="i2"><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${o.user}@${DOMAIN}>;tag=[pid]C[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  ${
    o.waitBye === true
      ? `<recv request="BYE" timeout="15000"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>`
      : `<pause milliseconds="${o.holdMs ?? 300}"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${o.user}@${DOMAIN}>;tag=[pid]C[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>`
  }`;
  }
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="caller">${x.replace(/\[field0\]/g, o.user)}\n</scenario>\n`;
}

const ringing = `
  <recv request="INVITE"><action><ereg regexp="([0-9]+)" search_in="hdr" header="CSeq:" assign_to="all,cs"/></action></recv>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]P[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:phone@[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

]]></send>`;

/**
 * A phone that rings until CANCELled and checks the CANCEL's Reason: `elsewhere` requires
 * cause=200 "Call completed elsewhere", `none` requires its absence (sipp fails the call otherwise).
 */
function loser(expectReason: 'elsewhere' | 'none'): string {
  const check =
    expectReason === 'elsewhere'
      ? `<ereg regexp="SIP;cause=200;text=\\"Call completed elsewhere\\"" search_in="hdr" header="Reason:" check_it="true" assign_to="r"/>`
      : `<ereg regexp="cause=200" search_in="hdr" header="Reason:" check_it_inverse="true" assign_to="r"/>`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loser">${ringing}
  <recv request="CANCEL" timeout="15000"><action>${check}</action></recv>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]P[call_number]
[last_Call-ID:]
CSeq: [$cs] INVITE
Content-Length: 0

]]></send>
  <recv request="ACK" timeout="15000"/>
  <Reference variables="all,r"/>
</scenario>
`;
}

/** A phone that rings for `ringMs`, answers, and waits for the BYE. */
function winner(ringMs: number): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="winner">${ringing}
  <pause milliseconds="${ringMs}"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]P[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:phone@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

${SDP}]]></send>
  <recv request="ACK" timeout="15000"/>
  <recv request="BYE" timeout="15000"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <Reference variables="all,cs"/>
</scenario>
`;
}

describe('CANCEL Reason for forks answered elsewhere', () => {
  let s: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'kumo-forks-'));
  let n = 0;
  const file = (xml: string): { file: string } => {
    const f = join(dir, `s${n++}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };

  /** KUMO_SIPP_TRACE=1 KUMO_KEEP=1: sipp message logs in the scenario directory. */
  const trace = (who: string): { args?: string[] } => (process.env.KUMO_SIPP_TRACE ? { args: ['-trace_msg', '-message_file', join(dir, `${who}-${n++}.log`)] } : {});

  beforeAll(async () => {
    s = await startStack({ redisUrl: inject('redisUrl'), calls: { cdrShards: 1, trunkSetupTimeoutSec: 2, trunkRingCapSec: 30 } });
    const repo = new ProvisioningRepo(s.redis, s.keys);
    const t = validateTenantCreate({ id: 'forks', name: 'Forks', sipDomain: DOMAIN, ports: 100, trunkChannels: 1, callsPerSecond: 50 });
    if (!t.ok) throw new Error(JSON.stringify(t.problems));
    await repo.createTenant(t.value, SYSTEM_ACTOR);
    for (const number of ['1001', '1002', '1003', '1004']) {
      const e = validateExtension({ number, displayName: `User ${number}`, password: `pass${number}x` });
      if (!e.ok) throw new Error(JSON.stringify(e.problems));
      await repo.createExtension('forks', e.value, SYSTEM_ACTOR);
    }
    const g = validateRingGroup({ number: '700', name: 'All', strategy: 'ring-all', members: [{ extension: '1003' }, { extension: '1004' }], totalTimeoutSec: 20 });
    if (!g.ok) throw new Error(JSON.stringify(g.problems));
    await repo.createRingGroup('forks', g.value, SYSTEM_ACTOR);
    const p = validatePickupGroup({ id: 'desk', name: 'Desk', members: ['1002', '1003'] });
    if (!p.ok) throw new Error(JSON.stringify(p.problems));
    await repo.createPickupGroup('forks', p.value, SYSTEM_ACTOR);
  });
  afterAll(async () => {
    await s?.close();
    if (!process.env.KUMO_KEEP) rmSync(dir, { recursive: true, force: true });
  });

  /** A sipp phone registered (straight into the location store) as a device of `ext`. */
  const phone = async (ext: string, xml: string) => {
    const port = await freePort();
    const h = startSipp({ scenario: file(xml), transport: 'udp', localPort: port, calls: 1, timeoutS: 20, ...trace('phone') });
    await udpPortBound(port);
    await s.app.location.register({
      tenantId: 'forks',
      extension: ext,
      callId: `reg-${ext}-${port}`,
      cseq: 1,
      maxContacts: 5,
      policy: 'replace-oldest',
      mode: 'update',
      updates: [{ id: `b${port}`, expires: 300, contact: `sip:${ext}@127.0.0.1:${port}`, source: { address: '127.0.0.1', port, transport: 'udp' } }],
    });
    return h;
  };
  const call = async (service: string, xml: string) =>
    runSipp({ scenario: file(xml), target: s.sipTarget, transport: 'udp', service, calls: 1, timeoutS: 20, localPort: await freePort(), ...trace('caller') });

  it('two devices on one extension: the one that did not answer gets "Call completed elsewhere"', async () => {
    const a = await phone('1002', winner(300));
    const b = await phone('1002', loser('elsewhere'));
    const r = await call('1002', caller({ user: '1001', password: 'pass1001x' }));
    expect(r.ok, explain(r)).toBe(true);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.ok, explain(ra)).toBe(true);
    expect(rb.ok, explain(rb)).toBe(true);
    await s.app.location.unregister('forks', '1002');
  });

  it('ring-all group: the member who lost the race gets the Reason', async () => {
    const a = await phone('1003', loser('elsewhere'));
    const b = await phone('1004', winner(300));
    const r = await call('700', caller({ user: '1001', password: 'pass1001x' }));
    expect(r.ok, explain(r)).toBe(true);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.ok, explain(ra)).toBe(true);
    expect(rb.ok, explain(rb)).toBe(true);
    await s.app.location.unregister('forks', '1003');
    await s.app.location.unregister('forks', '1004');
  });

  it('pickup: the phone whose call was picked up gets the Reason', async () => {
    const ringingPhone = await phone('1002', loser('elsewhere'));
    const original = call('1002', caller({ user: '1001', password: 'pass1001x', holdMs: 600 }));
    await new Promise((res) => setTimeout(res, 400));
    const picker = await call('*8', caller({ user: '1003', password: 'pass1003x', waitBye: true, ring: 'optional' }));
    expect(picker.ok, explain(picker)).toBe(true);
    const r = await original;
    expect(r.ok, explain(r)).toBe(true);
    const rr = await ringingPhone.done;
    expect(rr.ok, explain(rr)).toBe(true);
    await s.app.location.unregister('forks', '1002');
  });

  it("the caller's own CANCEL: no \"completed elsewhere\" (the phone shows a missed call)", async () => {
    const b = await phone('1002', loser('none'));
    const r = await call('1002', caller({ user: '1001', password: 'pass1001x', cancelAfterMs: 200 }));
    expect(r.ok, explain(r)).toBe(true);
    const rb = await b.done;
    expect(rb.ok, explain(rb)).toBe(true);
    await s.app.location.unregister('forks', '1002');
  });
});
