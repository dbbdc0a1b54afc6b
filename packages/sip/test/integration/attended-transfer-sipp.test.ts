/**
 * Attended transfer through the engine with sipp phones over UDP: A (1001) calls B (1002),
 * B calls C (1004) from a second sipp, then B REFERs A in call 1 with `Replaces` of its leg
 * of call 2. Kumo re-INVITEs A with C's SDP and C with A's, sends B NOTIFY `SIP/2.0 200 OK`
 * and BYEs both of B's legs; CDRs: call 1 and call 2 end at the transfer, the joined call has
 * its own. B's sipp cannot learn Kumo's tags on its other leg by itself (two sipp processes),
 * so the test hands it the Replaces value in an out-of-band INFO on call 1 (read from the
 * app's dialog registry, which is exactly what the phone would have known).
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateExtension, validateTenantCreate, type Cdr } from '@kumo/domain';
import { CdrStreams, ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { freePort, reply, runSipp, scenario, startSipp, type SippResult } from '@kumo/testkit';
import { bindPhone } from '../helpers/bind-phone.js';
import { startStack, type Stack } from '../helpers/stack.js';

const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(0, 2000)} ${r.stderr.slice(0, 500)}`;

/** SDP of a phone, told apart by its session name. */
const sdp = (name: string): string => `v=0
o=${name} 1 1 IN IP[local_ip_type] [local_ip]
s=${name}
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=sendrecv
`;

/** 200 OK to the last request (with `body`: an SDP answer, and a Contact). */
const ok200 = (body = ''): string => reply('200 OK', { contact: 'phone', ...(body !== '' ? { sdp: body } : {}) });

/** A phone calling `[service]` with digest and a fixed Call-ID; after the 200 it runs `then`. */
function caller(o: { user: string; domain: string; name: string; then: string; headers?: string; final?: number; answerOf?: string; connectedTo?: string }): string {
  const invite = (cseq: number, auth: string) => `
  <send retrans="500" start_txn="inv${cseq}"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${o.user}@${o.domain}>;tag=[pid]T[call_number]
To: <sip:[service]@${o.domain}>
Call-ID: [call_id]
CSeq: ${cseq} INVITE
Contact: <sip:${o.user}@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
User-Agent: sipp-kumo
${o.headers ?? ''}${auth}Content-Type: application/sdp
Content-Length: [len]

${sdp(o.name)}
]]></send>
  <recv response="100" optional="true" response_txn="inv${cseq}"/>`;
  // ACK: for a 2xx (sent to [next_url]) a transaction of its own, new branch; for a non-2xx the INVITE's branch.
  const ack = (cseq: number, to: string, uri = 'sip:[service]@[remote_ip]:[remote_port]') => `
  <send ack_txn="inv${cseq}"><![CDATA[
ACK ${uri} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=${uri === '[next_url]' ? '[branch]' : `[branch-of:inv${cseq}]`};rport
From: <sip:${o.user}@${o.domain}>;tag=[pid]T[call_number]
${to}
Call-ID: [call_id]
CSeq: ${cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller">${invite(1, '')}
  <recv response="407" auth="true" response_txn="inv1"/>${ack(1, '[last_To:]')}${invite(2, `[authentication username=${o.user} password=pass${o.user}x]\n`)}
  <recv response="180" optional="true" response_txn="inv2"/>${
    o.final !== undefined
      ? `
  <recv response="${o.final}" response_txn="inv2"/>${ack(2, '[last_To:]')}`
      : `
  <recv response="200" rrs="true" response_txn="inv2"><action><ereg regexp=".*" search_in="hdr" header="To:" assign_to="peerTo"/>${
    o.answerOf !== undefined ? `<ereg regexp="s=${o.answerOf}" search_in="body" check_it="true" assign_to="answer"/>` : ''
  }${o.connectedTo !== undefined ? pai(o.connectedTo, 'peerId') : ''}</action></recv>${ack(2, 'To: [$peerTo]', '[next_url]')}
${o.then.replaceAll('@FROM@', `<sip:${o.user}@${o.domain}>;tag=[pid]T[call_number]`)}${o.answerOf !== undefined ? '\n  <Reference variables="answer"/>' : ''}${
    o.connectedTo !== undefined ? '\n  <Reference variables="peerId"/>' : ''
  }`
  }
</scenario>
`;
}

/** `<ereg>` that a header must match (the connected identity a party is told). */
const pai = (regexp: string, name: string) => `<ereg regexp="${regexp}" search_in="hdr" header="P-Asserted-Identity:" check_it="true" assign_to="${name}"/>`;

/**
 * A's part after the 200: the re-INVITE that joins it to C (C's SDP, and C's identity in
 * P-Asserted-Identity: `connectedTo`), then hang up.
 */
const transferee = (expectSdpOf: string, mine: string, connectedTo: string) => `
  <recv request="INVITE" timeout="15000"><action><ereg regexp="s=${expectSdpOf}" search_in="body" check_it="true" assign_to="joined"/>${pai(connectedTo, 'who')}</action></recv>${ok200(sdp(mine))}
  <recv request="ACK"/>
  <pause milliseconds="300"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: @FROM@
To: [$peerTo]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
  <Reference variables="joined,who"/>`;

/** After the 200: wait for the far end's BYE. */
const waitBye = `
  <recv request="BYE" timeout="15000"/>${ok200()}`;

/** C: answers, accepts the re-INVITE with A's SDP (and A's identity: `connectedTo`), then the BYE. */
function target(mine: string, expectSdpOf: string, connectedTo: string): string {
  return scenario(
    'target',
    `
  <recv request="INVITE"/>${reply('200 OK', { toTag: 'U', contact: 'phone', sdp: sdp(mine) })}
  <recv request="ACK"/>
  <recv request="INVITE" timeout="15000"><action><ereg regexp="s=${expectSdpOf}" search_in="body" check_it="true" assign_to="joined"/>${pai(connectedTo, 'who')}</action></recv>${ok200(sdp(mine))}
  <recv request="ACK"/>
  <recv request="BYE" timeout="15000"/>${ok200()}
  <Reference variables="joined,who"/>`,
  );
}

/**
 * B's leg in call 1: answers, gets the Replaces value (INFO from the test, or `fixed`), REFERs
 * the caller to 1004 with it, expects NOTIFYs ending in `final`. On 200 Kumo BYEs it; otherwise it hangs up itself.
 */
function transferor(domain: string, final: 200 | 481, fixed?: string): string {
  const notify = (check: string) => `
  <recv request="NOTIFY" timeout="10000"><action><ereg regexp="SIP/2.0 ${check}" search_in="body" check_it="true" assign_to="n${check}"/></action></recv>${ok200()}`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="transferor">
  <recv request="INVITE" rrs="true"><action><ereg regexp=".*" search_in="hdr" header="From:" assign_to="peer"/></action></recv>${reply('200 OK', { toTag: 'U', contact: '1002', sdp: sdp('phoneB') })}
  <recv request="ACK"/>
${
  fixed === undefined
    ? `  <recv request="INFO" timeout="15000"><action><ereg regexp="Replaces=([^\\r\\n]*)" search_in="body" assign_to="all,rep"/></action></recv>`
    : ''
}
  <send retrans="500"><![CDATA[
REFER [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:1002@${domain}>;tag=[pid]U[call_number]
To: [$peer]
Call-ID: [call_id]
CSeq: 1 REFER
Contact: <sip:1002@[local_ip]:[local_port];transport=[transport]>
Refer-To: <sip:1004@${domain}?Replaces=${fixed ?? '[$rep]'}>
Referred-By: <sip:1002@${domain}>
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="202"/>${final === 200 ? notify('100') + notify('200') + waitBye : notify('481')}${
    final === 481
      ? `
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:1002@${domain}>;tag=[pid]U[call_number]
To: [$peer]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>`
      : ''
  }
  <Reference variables="${fixed === undefined ? 'all,rep,' : ''}peer,${final === 200 ? 'n100,n200' : 'n481'}"/>
</scenario>
`;
}

describe.each(['udp', 'tcp'] as const)('attended transfer (Replaces) with sipp over %s', (transport) => {
  const tenantId = `attended-${transport}`;
  const otherTenant = `attended-other-${transport}`;
  const domain = `${tenantId}.kumo.test`;
  let s: Stack;
  let streams: CdrStreams;
  const dir = mkdtempSync(join(tmpdir(), 'kumo-axfer-'));
  let n = 0;
  const file = (xml: string): { file: string } => {
    const f = join(dir, `s${n++}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };
  const trace = (tag: string): string[] => (process.env.KUMO_SIPP_TRACE ? ['-trace_msg', '-message_file', join(dir, `msg-${tag}-${n++}.log`)] : []);

  beforeAll(async () => {
    s = await startStack({ redisUrl: inject('redisUrl'), calls: { cdrShards: 1, trunkSetupTimeoutSec: 2, trunkRingCapSec: 30 } });
    streams = new CdrStreams(s.redis, s.keys, 1);
    const repo = new ProvisioningRepo(s.redis, s.keys);
    const t = validateTenantCreate({ id: tenantId, name: 'Attended', sipDomain: domain, ports: 100, trunkChannels: 10, callsPerSecond: 50 });
    if (!t.ok) throw new Error(JSON.stringify(t.problems));
    await repo.createTenant(t.value, SYSTEM_ACTOR);
    const t2 = validateTenantCreate({ id: otherTenant, name: 'Other', sipDomain: `${otherTenant}.kumo.test`, ports: 100, trunkChannels: 1, callsPerSecond: 10 });
    if (!t2.ok) throw new Error(JSON.stringify(t2.problems));
    await repo.createTenant(t2.value, SYSTEM_ACTOR);
    const e2 = validateExtension({ number: '2001', password: 'pass2001x' });
    if (!e2.ok) throw new Error(JSON.stringify(e2.problems));
    await repo.createExtension(otherTenant, e2.value, SYSTEM_ACTOR);
    for (const number of ['1001', '1002', '1004']) {
      const e = validateExtension({ number, displayName: `User ${number}`, password: `pass${number}x` });
      if (!e.ok) throw new Error(JSON.stringify(e.problems));
      await repo.createExtension(tenantId, e.value, SYSTEM_ACTOR);
    }
  });
  afterAll(async () => {
    await s.close();
    if (!process.env.KUMO_SIPP_TRACE) rmSync(dir, { recursive: true, force: true });
  });

  async function phone(ext: string, xml: string) {
    const port = await freePort();
    const h = startSipp({ scenario: file(xml), transport, localPort: port, calls: 1, timeoutS: 20, args: trace(`uas${ext}`) });
    await bindPhone(s, { tenantId, ext, port, transport });
    return { h, port };
  }
  /** The Call-ID is `<callId>-1` (sipp's -cid_str) so the test can find the call. */
  const dial = (service: string, xml: string, callId: string) =>
    runSipp({
      scenario: file(xml),
      target: s.sipTarget,
      transport,
      service,
      calls: 1,
      timeoutS: 20,
      localHost: '127.0.0.1',
      args: ['-cid_str', `${callId}-%u`, ...trace(`uac${service}`)],
    });

  async function waitFor<T>(what: string, f: () => T | undefined): Promise<T> {
    for (let i = 0; i < 200; i++) {
      const v = f();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}`);
  }
  const entry = (callId: string) => s.app.dialogs.list().find((e) => e.key.startsWith(`${callId};`));

  async function cdrs(): Promise<Cdr[]> {
    const key = streams.streamKey(0);
    const entries = await s.redis.xrange(key, '-', '+');
    return entries.map(([, f]) => JSON.parse(f[1] as string) as Cdr);
  }

  // The Replaces value reaches B's sipp in a UDP INFO from the test (see the file comment): UDP only.
  it.skipIf(transport === 'tcp')('B transfers A to C: A and C re-INVITEd with each other’s SDP, B gets NOTIFY 200 and BYEs, three CDRs', async () => {
    const u = `${Date.now().toString(36)}`;
    const callA = `call1-${u}-1`;
    const call2 = `call2-${u}-1`;
    // Each is told who it now talks to: C learns A (1001), A learns C (1004).
    const c = await phone('1004', target('phoneC', 'phoneA', 'User 1001.*sip:1001@'));
    const b = await phone('1002', transferor(domain, 200));
    const a = dial('1002', caller({ user: '1001', domain, name: 'phoneA', then: transferee('phoneC', 'phoneA', 'User 1004.*sip:1004@') }), `call1-${u}`);
    const aEntry = await waitFor('call 1 bridged', () => entry(callA));
    const b2 = dial('1004', caller({ user: '1002', domain, name: 'phoneB2', then: waitBye }), `call2-${u}`);
    const replaced = await waitFor('call 2 bridged', () => entry(call2));
    expect(replaced.tenantId).toBe(tenantId);
    const [cid, localTag, remoteTag] = replaced.key.split(';') as [string, string, string];
    const replaces = `${cid}%3Bto-tag%3D${localTag}%3Bfrom-tag%3D${remoteTag}`;
    // Hand B's call-1 sipp the Replaces of its own call-2 leg.
    const bLeg1 = aEntry.peerKey.split(';')[0] as string;
    const sock = createSocket('udp4');
    const info = [
      `INFO sip:1002@127.0.0.1:${b.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-test-${u}`,
      `From: <sip:test@${domain}>;tag=t${u}`,
      `To: <sip:1002@${domain}>;tag=x`,
      `Call-ID: ${bLeg1}`,
      'CSeq: 1 INFO',
      'Max-Forwards: 70',
      'Content-Type: text/plain',
      `Content-Length: ${`Replaces=${replaces}\r\n`.length}`,
      '',
      `Replaces=${replaces}\r\n`,
    ].join('\r\n');
    await new Promise<void>((res, rej) => sock.send(info, b.port, '127.0.0.1', (err) => (err ? rej(err) : res())));
    sock.close();

    const [ra, rb2, rb, rc] = await Promise.all([a, b2, b.h.done, c.h.done]);
    expect(ra.ok, `A: ${explain(ra)}`).toBe(true);
    expect(rb2.ok, `B (call 2): ${explain(rb2)}`).toBe(true);
    expect(rb.ok, `B (call 1): ${explain(rb)}`).toBe(true);
    expect(rc.ok, `C: ${explain(rc)}`).toBe(true);

    let list: Cdr[] = [];
    for (let i = 0; i < 100 && list.length < 3; i++) {
      list = (await cdrs()).filter((x) => x.callIdA === callA || x.callIdA === call2);
      if (list.length < 3) await new Promise((r) => setTimeout(r, 50));
    }
    const call1 = list.find((x) => x.callIdA === callA && x.calleeDialled === '1002');
    const cdr2 = list.find((x) => x.callIdA === call2);
    const joined = list.find((x) => x.callIdA !== call2 && x.calleeDialled === '1004');
    expect(call1).toMatchObject({ disposition: 'answered', callerExtension: '1001', calleeExtension: '1002', hangupBy: 'callee' });
    expect(cdr2).toMatchObject({ disposition: 'answered', callerExtension: '1002', calleeExtension: '1004', hangupBy: 'caller' });
    expect(joined).toMatchObject({ disposition: 'answered', callerExtension: '1002', calleeExtension: '1004', hangupBy: 'caller' });
    expect(joined?.cdrId).not.toBe(call1?.cdrId);
    expect(s.app.dialogs.size).toBe(0);
    await s.app.location.unregister(tenantId, '1002');
    await s.app.location.unregister(tenantId, '1004');
  });

  it('unknown Replaces: 202, then NOTIFY 481; the call goes on', async () => {
    const u = `${Date.now().toString(36)}`;
    const callA = `call1-${u}-1`;
    const b = await phone('1002', transferor(domain, 481, `nosuchcall%3Bto-tag%3Dx%3Bfrom-tag%3Dy`));
    const ra = await dial('1002', caller({ user: '1001', domain, name: 'phoneA', then: waitBye }), `call1-${u}`);
    expect(ra.ok, `A: ${explain(ra)}`).toBe(true);
    const rb = await b.h.done;
    expect(rb.ok, `B: ${explain(rb)}`).toBe(true);
    let call1: Cdr | undefined;
    for (let i = 0; i < 100 && !call1; i++) {
      call1 = (await cdrs()).find((x) => x.callIdA === callA);
      if (!call1) await new Promise((r) => setTimeout(r, 50));
    }
    expect(call1).toMatchObject({ disposition: 'answered', calleeExtension: '1002', hangupBy: 'callee' });
    await s.app.location.unregister(tenantId, '1002');
  });

  /** A phone that answers and waits for the BYE. */
  const answerWaitBye = scenario('answer', `\n  <recv request="INVITE"/>${reply('200 OK', { toTag: 'U', contact: 'phone', sdp: sdp('phoneB') })}\n  <recv request="ACK"/>${waitBye}`);

  it('INVITE with Replaces takes a bridged leg’s place: the other party is re-INVITEd, the replaced leg gets a BYE', async () => {
    const u = `${Date.now().toString(36)}`;
    const callA = `call1-${u}-1`;
    const b = await phone('1002', answerWaitBye);
    const a = dial('1002', caller({ user: '1001', domain, name: 'phoneA', then: transferee('phoneX', 'phoneA', 'User 1004.*sip:1004@') }), `call1-${u}`);
    const aEntry = await waitFor('call 1 bridged', () => entry(callA));
    // B's leg as B sees it: Call-ID, to-tag = Kumo's tag (local here), from-tag = B's.
    const [cid, localTag, remoteTag] = aEntry.peerKey.split(';') as [string, string, string];
    const xp = dial(
      '1002',
      caller({ user: '1004', domain, name: 'phoneX', then: waitBye, answerOf: 'phoneA', connectedTo: 'User 1001.*sip:1001@', headers: `Replaces: ${cid};to-tag=${localTag};from-tag=${remoteTag}\n` }),
      `callx-${u}`,
    );
    // Another tenant's phone naming the new leg of the same call: 403, nothing changes.
    const joinedLeg = (await waitFor('joined call bridged', () => entry(`callx-${u}-1`))).key.split(';') as [string, string, string];
    const o = await dial(
      '2001',
      caller({
        user: '2001',
        domain: `${otherTenant}.kumo.test`,
        name: 'phoneO',
        then: '',
        final: 403,
        headers: `Replaces: ${joinedLeg[0]};to-tag=${joinedLeg[1]};from-tag=${joinedLeg[2]}\n`,
      }),
      `callo-${u}`,
    );
    expect(o.ok, `other tenant: ${explain(o)}`).toBe(true);
    const [x, ra, rb] = await Promise.all([xp, a, b.h.done]);
    expect(x.ok, `X: ${explain(x)}`).toBe(true);
    expect(ra.ok, `A: ${explain(ra)}`).toBe(true);
    expect(rb.ok, `B: ${explain(rb)}`).toBe(true);
    let list: Cdr[] = [];
    for (let i = 0; i < 100 && list.length < 2; i++) {
      list = (await cdrs()).filter((c) => c.callIdA === callA || c.callIdA === `callx-${u}-1`);
      if (list.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(list.find((c) => c.callIdA === callA)).toMatchObject({ disposition: 'answered', calleeExtension: '1002', hangupBy: 'callee' });
    expect(list.find((c) => c.callIdA === `callx-${u}-1`)).toMatchObject({ disposition: 'answered', callerExtension: '1004', hangupBy: 'callee' });
    await s.app.location.unregister(tenantId, '1002');
  });

  it('INVITE with an unknown Replaces → 481', async () => {
    const u = `${Date.now().toString(36)}`;
    const x = await dial(
      '1002',
      caller({ user: '1004', domain, name: 'phoneX', then: '', final: 481, headers: 'Replaces: nosuchcall;to-tag=a;from-tag=b\n' }),
      `callx-${u}`,
    );
    expect(x.ok, `X: ${explain(x)}`).toBe(true);
  });
});
