/**
 * Two trunks to one carrier IP on different ports, one `ordinary` and one `emergency` (issue 12
 * item 9): outside calls leave through the ordinary trunk's gateway, 110 through the emergency one,
 * and inbound calls are told apart by the gateway's port. sipp gateways and phones, Kumo's engine,
 * the sip app, real Redis.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateDid, validateExtension, validateTenantCreate, validateTrunk, type Cdr } from '@kumo/domain';
import { CdrStreams, ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { freePort, runSipp, startSipp, uacCall, uasAnswer, type SippResult } from '@kumo/testkit';
import { bindPhone } from '../helpers/bind-phone.js';
import { startStack, type Stack } from '../helpers/stack.js';

function ok<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}
const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(0, 2000)} ${r.stderr.slice(0, 500)}`;

describe('trunk roles and two trunks on one carrier IP', () => {
  const tenantId = 'roles';
  const domain = 'roles.kumo.test';
  const IP = '127.0.0.10';
  const port = { main: 0, sos: 0 };
  let s: Stack;
  let streams: CdrStreams;
  const dir = mkdtempSync(join(tmpdir(), 'kumo-roles-'));
  let n = 0;
  const file = (xml: string): { file: string } => {
    const f = join(dir, `s${n++}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };
  const callArgs = (): { args: string[]; callId: string } => {
    const tag = `roles-${Date.now().toString(36)}-${n++}`;
    return { args: ['-cid_str', `${tag}-%u`], callId: `${tag}-1` };
  };
  async function cdrOf(callId: string): Promise<Cdr | undefined> {
    for (let i = 0; i < 200; i++) {
      const cdr = (await s.redis.xrange(streams.streamKey(0), '-', '+')).map(([, f]) => JSON.parse(f[1] as string) as Cdr).find((c) => c.callIdA === callId);
      if (cdr) return cdr;
      await new Promise((r) => setTimeout(r, 25));
    }
    return undefined;
  }

  beforeAll(async () => {
    s = await startStack({ redisUrl: inject('redisUrl'), calls: { cdrShards: 1, trunkSetupTimeoutSec: 3, trunkRingCapSec: 30 } });
    streams = new CdrStreams(s.redis, s.keys, 1);
    const repo = new ProvisioningRepo(s.redis, s.keys);
    await repo.createTenant(ok(validateTenantCreate({ id: tenantId, name: 'Roles', sipDomain: domain, ports: 100, trunkChannels: 10, callsPerSecond: 50 })), SYSTEM_ACTOR);
    await repo.createExtension(tenantId, ok(validateExtension({ number: '1001', password: 'pass1001x', permissionClass: 'national' })), SYSTEM_ACTOR);
    port.main = await freePort(IP);
    port.sos = await freePort(IP);
    for (const [id, roles] of [['main', ['ordinary']], ['sos', ['emergency']]] as const) {
      await repo.createTrunk(
        tenantId,
        ok(validateTrunk({ id, name: id, channelLimit: 5, callerId: '+81312340000', roles, gateways: [{ host: IP, port: port[id], transport: 'udp' }] })),
        SYSTEM_ACTOR,
      );
    }
    await repo.createDid(tenantId, ok(validateDid({ number: '0312340011', target: { type: 'extension', number: '1001' } })), SYSTEM_ACTOR);
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an outside call leaves through the ordinary trunk, 110 through the emergency trunk (same IP, other port)', async () => {
    const main = startSipp({ scenario: file(uasAnswer(200)), localHost: IP, localPort: port.main, calls: 1, timeoutS: 20 });
    const sos = startSipp({ scenario: file(uasAnswer(200)), localHost: IP, localPort: port.sos, calls: 1, timeoutS: 20 });
    for (const [dialled, trunkId] of [['00312345678', 'main'], ['110', 'sos']] as const) {
      const c = callArgs();
      const r = await runSipp({ scenario: file(uacCall({ user: '1001', domain, password: 'pass1001x', expect: 200 })), target: s.sipTarget, service: dialled, calls: 1, timeoutS: 10, args: c.args });
      expect(r.ok, explain(r)).toBe(true);
      expect(await cdrOf(c.callId)).toMatchObject({ trunkId, disposition: 'answered' });
    }
    expect((await main.done).ok).toBe(true);
    expect((await sos.done).ok).toBe(true);
  });

  it('inbound calls from the two ports of one IP are each their own trunk’s', async () => {
    for (const trunkId of ['main', 'sos'] as const) {
      const phonePort = await freePort();
      const phone = startSipp({ scenario: file(uasAnswer(200)), localPort: phonePort, calls: 1, timeoutS: 20 });
      await bindPhone(s, { tenantId, ext: '1001', port: phonePort, transport: 'udp' });
      const c = callArgs();
      const r = await runSipp({
        scenario: file(uacCall({ user: '0901234567', domain: IP, ruriHost: domain, expect: 200 })),
        target: s.sipTarget,
        localHost: IP,
        localPort: port[trunkId],
        service: '0312340011',
        calls: 1,
        timeoutS: 10,
        args: c.args,
      });
      expect(r.ok, explain(r)).toBe(true);
      expect((await phone.done).ok).toBe(true);
      expect(await cdrOf(c.callId)).toMatchObject({ direction: 'inbound', trunkId, calleeExtension: '1001' });
      await s.app.location.unregister(tenantId, '1001');
    }
  });
});
