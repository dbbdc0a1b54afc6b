/**
 * Call routing end to end: sipp phones and a sipp carrier, the in-process engine, the sip
 * app over the drachtio protocol, real Redis. Each case asserts the SIP outcome at sipp and
 * the CDR on the stream. Phones live on 127.0.0.1, the carrier's gateways on 127.0.0.2/.3
 * (trunks are recognised by source address).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateDid, validateExtension, validatePickupGroup, validateRingGroup, validateTenantCreate, validateTrunk, type Cdr } from '@kumo/domain';
import { CdrStreams, ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { freePort, runSipp, startSipp, uacCall, uasAnswer as uas, uasInDialog, uasRingCancel, uasTransferor, type SippResult, type UacCall } from '@kumo/testkit';
import { bindPhone } from '../helpers/bind-phone.js';
import { startStack, type Stack } from '../helpers/stack.js';

function ok<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}
const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(0, 2000)} ${r.stderr.slice(0, 500)}`;

describe.each(['udp', 'tcp'] as const)('call routing with sipp over %s', (transport) => {
  const tenantId = `acme-${transport}`;
  const domain = `${tenantId}.kumo.test`;
  let s: Stack;
  let streams: CdrStreams;
  const gw = { a: 0, b: 0 };
  const dir = mkdtempSync(join(tmpdir(), 'kumo-calls-'));
  let n = 0;
  const file = (xml: string): { file: string } => {
    const f = join(dir, `s${n++}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };

  beforeAll(async () => {
    s = await startStack({ redisUrl: inject('redisUrl'), calls: { cdrShards: 2, trunkSetupTimeoutSec: 2, trunkRingCapSec: 30 } });
    streams = new CdrStreams(s.redis, s.keys, 2);
    const repo = new ProvisioningRepo(s.redis, s.keys);
    await repo.createTenant(
      ok(validateTenantCreate({ id: tenantId, name: 'Acme', sipDomain: domain, ports: 100, trunkChannels: 10, callsPerSecond: 50 })),
      SYSTEM_ACTOR,
    );
    for (const [number, extra] of [
      ['1001', { permissionClass: 'mobile' as const, outboundCallerId: '+81312340001' }],
      ['1002', {}],
      ['1003', { forwarding: { busy: '1002' } }],
      ['1004', {}],
    ] as const) {
      await repo.createExtension(tenantId, ok(validateExtension({ number, displayName: `User ${number}`, password: `pass${number}x`, ...extra })), SYSTEM_ACTOR);
    }
    gw.a = await freePort('127.0.0.2');
    gw.b = await freePort('127.0.0.3');
    await repo.createTrunk(
      tenantId,
      ok(
        validateTrunk({
          id: 'carrier',
          name: 'Carrier',
          channelLimit: 10,
          numberFormat: 'national',
          callerId: '+81312340000',
          gateways: [
            { host: '127.0.0.2', port: gw.a, transport, priority: 1 },
            { host: '127.0.0.3', port: gw.b, transport, priority: 2 },
          ],
        }),
      ),
      SYSTEM_ACTOR,
    );
    await repo.createDid(tenantId, ok(validateDid({ number: '0312340002', target: { type: 'extension', number: '1002' } })), SYSTEM_ACTOR);
    await repo.createPickupGroup(tenantId, ok(validatePickupGroup({ id: 'desk', name: 'Desk', members: ['1001', '1002', '1003'] })), SYSTEM_ACTOR);
    const members = [
      { extension: '1003', timeoutSec: 5 },
      { extension: '1004', timeoutSec: 5 },
    ];
    await repo.createRingGroup(tenantId, ok(validateRingGroup({ number: '600', name: 'RR', strategy: 'round-robin', members, totalTimeoutSec: 30 })), SYSTEM_ACTOR);
    await repo.createRingGroup(tenantId, ok(validateRingGroup({ number: '601', name: 'Seq', strategy: 'sequential', members, totalTimeoutSec: 30 })), SYSTEM_ACTOR);
  });
  afterAll(async () => {
    await s.close();
    if (!process.env.KUMO_SIPP_TRACE) rmSync(dir, { recursive: true, force: true });
  });

  /** A sipp UAS as the registered phone of `ext`. */
  async function phone(ext: string, xml: string) {
    const port = await freePort();
    const h = startSipp({
      scenario: file(xml),
      transport,
      localPort: port,
      calls: 1,
      timeoutS: 20,
      ...(process.env.KUMO_SIPP_TRACE ? { args: ['-trace_msg', '-message_file', join(dir, `msg-uas-${n++}.log`)] } : {}),
    });
    await bindPhone(s, { tenantId, ext, port, transport });
    return h;
  }
  const unregister = (ext: string) => s.app.location.unregister(tenantId, ext);
  const call = (service: string, o: UacCall, localHost = '127.0.0.1') =>
    runSipp({
      scenario: file(uacCall(o)),
      target: s.sipTarget,
      transport,
      service,
      calls: 1,
      timeoutS: 20,
      localHost,
      ...(process.env.KUMO_SIPP_TRACE ? { args: ['-trace_msg', '-message_file', join(dir, `msg-${n++}.log`)] } : {}),
    });
  const caller = (expect: number, extra: Partial<UacCall> = {}) => ({ user: '1001', domain, password: 'pass1001x', expect, ...extra });
  /** A refusal says why on the wire (issue 12 item 8): `Reason` (RFC 3326) and `X-Kumo-Reason`. */
  const saysWhy = (status: number, reason: string): Partial<UacCall> => ({
    check: [
      ['X-Kumo-Reason', `^ *${reason}$`],
      ['Reason', `SIP;cause=${status};text=&quot;${reason}&quot;`],
    ],
  });

  async function cdrFor(calleeDialled: string): Promise<Cdr> {
    const key = streams.streamKey(streams.shardOf(tenantId));
    for (let i = 0; i < 50; i++) {
      const entries = await s.redis.xrange(key, '-', '+');
      const found = entries.map(([id, f]) => ({ id, cdr: JSON.parse(f[1] as string) as Cdr })).filter((e) => e.cdr.calleeDialled === calleeDialled);
      const last = found[found.length - 1];
      if (last) {
        await s.redis.xdel(key, ...found.map((e) => e.id));
        return last.cdr;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no CDR for ${calleeDialled}`);
  }

  it('extension → extension: answered, both legs in the CDR', async () => {
    const callee = await phone('1002', uas(200));
    const r = await call('1002', caller(200));
    expect(r.ok, explain(r)).toBe(true);
    expect((await callee.done).ok).toBe(true);
    const cdr = await cdrFor('1002');
    expect(cdr).toMatchObject({
      tenantId,
      direction: 'internal',
      disposition: 'answered',
      finalStatus: 200,
      callerExtension: '1001',
      calleeExtension: '1002',
      hangupBy: 'caller',
      codecs: ['PCMU', 'PCMA'],
      userAgent: 'sipp-kumo',
    });
    expect(cdr.callIdB).not.toBeNull();
    expect(cdr.answeredAt).not.toBeNull();
    await unregister('1002');
  });

  it('nothing registered → 480, CDR no-answer', async () => {
    const r = await call('1004', caller(480, saysWhy(480, 'not-registered')));
    expect(r.ok, explain(r)).toBe(true);
    expect(await cdrFor('1004')).toMatchObject({ disposition: 'no-answer', finalStatus: 480, rejectionReason: null });
  });

  it('busy → busy forwarding to another extension', async () => {
    const busy = await phone('1003', uas(486));
    const fwd = await phone('1002', uas(200));
    const r = await call('1003', caller(200));
    expect(r.ok, explain(r)).toBe(true);
    expect((await busy.done).ok).toBe(true);
    expect((await fwd.done).ok).toBe(true);
    expect(await cdrFor('1003')).toMatchObject({ disposition: 'answered', calleeExtension: '1002' });
    await unregister('1003');
    await unregister('1002');
  });

  it('unknown number → 404 rejected; international without permission → 403', async () => {
    let r = await call('1999', caller(404, saysWhy(404, 'not-found')));
    expect(r.ok, explain(r)).toBe(true);
    expect(await cdrFor('1999')).toMatchObject({ disposition: 'rejected', rejectionReason: 'not-found' });
    r = await call('001014155550100', caller(403, saysWhy(403, 'permission-denied')));
    expect(r.ok, explain(r)).toBe(true);
    expect(await cdrFor('001014155550100')).toMatchObject({ disposition: 'rejected', rejectionReason: 'permission-denied', direction: 'outbound' });
  });

  it('outside line: 503 from the first gateway → the second answers; national format, caller ID', async () => {
    const a = startSipp({ scenario: file(uas(503)), transport, localHost: '127.0.0.2', localPort: gw.a, calls: 1, timeoutS: 20 });
    const b = startSipp({ scenario: file(uas(200)), transport, localHost: '127.0.0.3', localPort: gw.b, calls: 1, timeoutS: 20 });
    const r = await call('00312345678', caller(200));
    expect(r.ok, explain(r)).toBe(true);
    expect((await a.done).ok).toBe(true);
    expect((await b.done).ok).toBe(true);
    expect(await cdrFor('00312345678')).toMatchObject({
      direction: 'outbound',
      disposition: 'answered',
      calleeE164: '+81312345678',
      trunkId: 'carrier',
      gatewayId: `127.0.0.3:${gw.b}`,
    });
  });

  it('emergency 110 goes to the trunk even without the prefix', async () => {
    const a = startSipp({ scenario: file(uas(200)), transport, localHost: '127.0.0.2', localPort: gw.a, calls: 1, timeoutS: 20 });
    const r = await call('110', caller(200));
    expect(r.ok, explain(r)).toBe(true);
    expect((await a.done).ok).toBe(true);
    expect(await cdrFor('110')).toMatchObject({ direction: 'emergency', disposition: 'answered', privacy: false });
  });

  it('inbound: DID → extension without digest; unknown DID → 404; unknown source → 403', async () => {
    const callee = await phone('1002', uas(200));
    let r = await call('0312340002', { user: '09011112222', domain: '127.0.0.2', expect: 200 }, '127.0.0.2');
    expect(r.ok, explain(r)).toBe(true);
    expect((await callee.done).ok).toBe(true);
    expect(await cdrFor('0312340002')).toMatchObject({
      direction: 'inbound',
      disposition: 'answered',
      trunkId: 'carrier',
      calleeExtension: '1002',
      callerE164: '+819011112222',
    });
    r = await call('0312349999', { user: '09011112222', domain: '127.0.0.2', expect: 404, ...saysWhy(404, 'unknown-did') }, '127.0.0.2');
    expect(r.ok, explain(r)).toBe(true);
    expect(await cdrFor('0312349999')).toMatchObject({ direction: 'inbound', rejectionReason: 'unknown-did' });
    r = await call('0312340002', { user: '09011112222', domain: 'nowhere.test', expect: 403, ...saysWhy(403, 'unknown-source') }, '127.0.0.9');
    expect(r.ok, explain(r)).toBe(true);
    await unregister('1002');
  });

  it('unparseable SDP → 488', async () => {
    const r = await call('1002', caller(488, { sdp: 'this is not sdp\n' }));
    expect(r.ok, explain(r)).toBe(true);
    expect(await cdrFor('1002')).toMatchObject({ disposition: 'rejected', rejectionReason: 'bad-sdp', finalStatus: 488 });
  });

  it('round-robin group: the next call starts after the member who took the last one (cursor in Redis)', async () => {
    let first = await phone('1003', uas(200));
    let r = await call('600', caller(200));
    expect(r.ok, explain(r)).toBe(true);
    expect((await first.done).ok).toBe(true);
    expect(await cdrFor('600')).toMatchObject({ group: '600', calleeExtension: '1003', disposition: 'answered' });
    expect(await s.redis.hget(s.keys.tenant.huntLast(tenantId), '600')).toBe('1003');
    first = await phone('1003', uasRingCancel());
    const second = await phone('1004', uas(200));
    r = await call('600', caller(200));
    expect(r.ok, explain(r)).toBe(true);
    expect((await second.done).ok).toBe(true);
    await first.stop();
    expect(await cdrFor('600')).toMatchObject({ group: '600', calleeExtension: '1004' });
    expect(await s.redis.hget(s.keys.tenant.huntLast(tenantId), '600')).toBe('1004');
    await unregister('1003');
    await unregister('1004');
  });

  it('sequential group: the first member rings out its time, the next answers', async () => {
    const a = await phone('1003', uasRingCancel());
    const b = await phone('1004', uas(200));
    const r = await call('601', caller(200));
    expect(r.ok, explain(r)).toBe(true);
    expect((await a.done).ok).toBe(true);
    expect((await b.done).ok).toBe(true);
    const cdr = await cdrFor('601');
    expect(cdr).toMatchObject({ group: '601', calleeExtension: '1004', disposition: 'answered' });
    expect(cdr.ringSeconds).toBeGreaterThanOrEqual(5);
    await unregister('1003');
    await unregister('1004');
  });

  it('caller CANCEL: 487, the ringing phone is cancelled, CDR cancelled', async () => {
    const callee = await phone('1002', uasRingCancel());
    const r = await call('1002', caller(487, { cancelAfterMs: 300 }));
    expect(r.ok, explain(r)).toBe(true);
    expect((await callee.done).ok).toBe(true);
    expect(await cdrFor('1002')).toMatchObject({ disposition: 'cancelled', finalStatus: 487 });
    await unregister('1002');
  });

  it('*8 picks up a call ringing another member of the pickup group', async () => {
    const ringing = await phone('1002', uasRingCancel());
    const original = call('1002', caller(200, { holdMs: 800 }));
    await new Promise((res) => setTimeout(res, 500));
    const picker = await call('*8', { user: '1003', domain, password: 'pass1003x', expect: 200, mode: 'wait-bye' });
    expect(picker.ok, explain(picker)).toBe(true);
    const r = await original;
    expect(r.ok, explain(r)).toBe(true);
    expect((await ringing.done).ok).toBe(true);
    expect(await cdrFor('1002')).toMatchObject({ disposition: 'answered', calleeExtension: '1003', hangupBy: 'caller' });
    expect(await cdrFor('*8')).toMatchObject({ disposition: 'answered', callerExtension: '1003', hangupBy: 'callee' });
    await unregister('1002');
  });

  it('in-dialog: re-INVITE (hold) and INFO (DTMF) are relayed to the other party; OPTIONS is answered by Kumo', async () => {
    const callee = await phone('1002', uasInDialog());
    const r = await call('1002', caller(200, { mode: 'in-dialog' }));
    expect(r.ok, explain(r)).toBe(true);
    const c = await callee.done;
    expect(c.ok, explain(c)).toBe(true);
    expect(await cdrFor('1002')).toMatchObject({ disposition: 'answered', hangupBy: 'caller' });
    await unregister('1002');
  });

  it('blind transfer: the callee REFERs the caller to another extension (NOTIFY sipfrag, transferor released)', async () => {
    const transferor = await phone('1002', uasTransferor({ target: '1004', domain }));
    const target = await phone('1004', uas(200));
    const r = await call('1002', caller(200, { mode: 'transferred' }));
    expect(r.ok, explain(r)).toBe(true);
    const t = await transferor.done;
    expect(t.ok, explain(t)).toBe(true);
    const x = await target.done;
    expect(x.ok, explain(x)).toBe(true);
    expect(await cdrFor('1002')).toMatchObject({ disposition: 'answered', calleeExtension: '1002', hangupBy: 'callee' });
    expect(await cdrFor('1004')).toMatchObject({ disposition: 'answered', callerExtension: '1002', calleeExtension: '1004' });
    await unregister('1002');
    await unregister('1004');
  });
});
