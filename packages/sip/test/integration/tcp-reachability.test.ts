/**
 * TCP reachability of registered phones (issue 12 item 4): the registration's connection is used
 * while it lives; when it is gone (a restart of either side drops it) the registered Contact is
 * dialled instead of the dead connection's ephemeral port; when nothing is reachable the caller
 * gets 480 with a Reason at once and the CDR says `unreachable`. Real engine, real Redis.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateExtension, validateTenantCreate, type Cdr } from '@kumo/domain';
import { CdrStreams, ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { externalDrachtio, freePort, startSipp } from '@kumo/testkit';
import { RawPhone, TcpPhone, tcpPortListening } from '../helpers/raw-phone.js';
import { startStack, type Stack } from '../helpers/stack.js';

const DOMAIN = 'tcp.kumo.test';
const TENANT = 'tcpreach';

/** A sipp phone listening on TCP that answers INVITE with 486 (so the test sees the INVITE reached it). */
const BUSY_UAS = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="busy">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 486 Busy Here
[last_Via:]
[last_From:]
[last_To:];tag=[pid]B[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <recv request="ACK" timeout="10000"/>
</scenario>
`;

describe('TCP reachability', () => {
  let s: Stack;
  let streams: CdrStreams;
  let caller: RawPhone;
  const dir = mkdtempSync(join(tmpdir(), 'kumo-tcp-'));
  const server = (): { host: string; port: number } => ({ host: '127.0.0.1', port: s.sipPort });
  const tcpPhone = (user: string, contactPort: number) =>
    TcpPhone.open(server(), { user, domain: DOMAIN, password: `pass${user}x`, contact: `sip:${user}@127.0.0.1:${contactPort};transport=tcp` });
  const call = async (target: string) => {
    const t0 = Date.now();
    const r = await caller.attempt({ method: 'INVITE', user: '1001', domain: DOMAIN, target }, 'pass1001x');
    return { status: r.final?.status, reason: r.final?.one('reason'), ms: Date.now() - t0 };
  };
  const cdrFor = async (callee: string): Promise<Cdr> => {
    const key = streams.streamKey(streams.shardOf(TENANT));
    for (let i = 0; i < 100; i++) {
      const found = (await s.redis.xrange(key, '-', '+')).map(([, f]) => JSON.parse(f[1] as string) as Cdr).filter((c) => c.calleeDialled === callee);
      if (found.length > 0) return found[found.length - 1] as Cdr;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no CDR for ${callee}`);
  };

  beforeAll(async () => {
    s = await startStack({ redisUrl: inject('redisUrl'), calls: { cdrShards: 1, trunkSetupTimeoutSec: 2, trunkRingCapSec: 30 } });
    streams = new CdrStreams(s.redis, s.keys, 1);
    const repo = new ProvisioningRepo(s.redis, s.keys);
    const t = validateTenantCreate({ id: TENANT, name: 'TCP', sipDomain: DOMAIN, ports: 100, trunkChannels: 1, callsPerSecond: 50 });
    if (!t.ok) throw new Error(JSON.stringify(t.problems));
    await repo.createTenant(t.value, SYSTEM_ACTOR);
    for (const number of ['1001', '1002', '1003', '1004', '1005']) {
      const e = validateExtension({ number, displayName: `User ${number}`, password: `pass${number}x` });
      if (!e.ok) throw new Error(JSON.stringify(e.problems));
      await repo.createExtension(TENANT, e.value, SYSTEM_ACTOR);
    }
    caller = await RawPhone.open('127.0.0.1', server());
  });
  afterAll(async () => {
    caller?.close();
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the registration connection is used while it lives', async () => {
    const phone = await tcpPhone('1002', await freePort());
    expect((await phone.register()).status).toBe(200);
    const r = await call('1002');
    expect(r.status).toBe(486);
    expect(phone.invites).toHaveLength(1);
    await phone.close();
  });

  it('connection gone (restart): the registered Contact is dialled, not the dead ephemeral port', async () => {
    const port = await freePort();
    const file = join(dir, 'busy.xml');
    writeFileSync(file, BUSY_UAS);
    const uas = startSipp({ scenario: { file }, transport: 'tcp', localPort: port, calls: 1, timeoutS: 15 });
    await tcpPortListening(port);
    const phone = await tcpPhone('1003', port);
    expect((await phone.register()).status).toBe(200);
    await phone.close();
    const r = await call('1003');
    if (externalDrachtio()) {
      // drachtio-server sends every INVITE for a registered user@host over the REGISTER's connection until
      // the phone registers again, whatever the app names as destination; that connection is gone, so it
      // answers 410 itself and Kumo tells the caller at once (docs/deploy-drachtio.md).
      expect(r.status).toBe(480);
      expect(r.ms).toBeLessThan(3000);
      await uas.stop();
      return;
    }
    expect(r.status).toBe(486);
    expect(r.ms).toBeLessThan(5000);
    expect((await uas.done).ok).toBe(true);
  });

  it('nothing reachable: 480 with a Reason at once, CDR unreachable (not no-answer)', async () => {
    const phone = await tcpPhone('1004', await freePort()); // nobody listens on the Contact's port
    expect((await phone.register()).status).toBe(200);
    await phone.close();
    const r = await call('1004');
    expect(r.status).toBe(480);
    expect(r.reason).toMatch(/cause=480/);
    expect(r.ms).toBeLessThan(3000);
    expect(await cdrFor('1004')).toMatchObject({ disposition: 'unreachable', finalStatus: 480, answeredAt: null });
  });

  it('RFC 5626 device (reg-id) whose flow is gone: not dialled at its Contact; unreachable until it re-registers', async () => {
    const phone = await tcpPhone('1005', await freePort());
    expect((await phone.register(';reg-id=1;+sip.instance="<urn:uuid:00000000-0000-4000-8000-000000001005>"')).status).toBe(200);
    await phone.close();
    const r = await call('1005');
    expect(r.status).toBe(480);
    expect(await cdrFor('1005')).toMatchObject({ disposition: 'unreachable' });
    // It re-registers on a new connection: reachable again over that flow.
    const again = await tcpPhone('1005', await freePort());
    expect((await again.register(';reg-id=1;+sip.instance="<urn:uuid:00000000-0000-4000-8000-000000001005>"')).status).toBe(200);
    expect((await call('1005')).status).toBe(486);
    expect(again.invites).toHaveLength(1);
    await again.close();
  });
});
