/**
 * Phones and carriers told apart the way a real deployment needs (issue 12 items 2, 3): sipp phones
 * and a sipp carrier, Kumo's engine, the sip app, real Redis.
 *
 * - A phone configured with the server address (127.0.0.1) as its domain registers and calls: the
 *   call path names the tenant by the registrar's rule (KUMO_SIP_IP_HOST_DOMAIN).
 * - A phone on the same address as a carrier gateway (127.0.0.5) registers and calls like any phone
 *   (407, then connected); the carrier on that address still reaches its DID.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateDid, validateExtension, validateTenantCreate, validateTrunk, type Cdr } from '@kumo/domain';
import { CdrStreams, ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { freePort, register, runSipp, startSipp, uacCall, uasAnswer, type SippResult } from '@kumo/testkit';
import { bindPhone } from '../helpers/bind-phone.js';
import { startStack, type Stack } from '../helpers/stack.js';

function ok<T>(v: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}
const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(0, 2000)} ${r.stderr.slice(0, 500)}`;

describe.each(['udp', 'tcp'] as const)('phones and carriers told apart, over %s', (transport) => {
  const tenantId = `carriers-${transport}`;
  const domain = `${tenantId}.kumo.test`;
  const GW = '127.0.0.5';
  let s: Stack;
  let streams: CdrStreams;
  let gwPort = 0;
  const dir = mkdtempSync(join(tmpdir(), 'kumo-carriers-'));
  let n = 0;
  const file = (xml: string): { file: string } => {
    const f = join(dir, `s${n++}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };

  beforeAll(async () => {
    s = await startStack({ redisUrl: inject('redisUrl'), settings: { ipHostDomain: domain }, calls: { cdrShards: 1, trunkSetupTimeoutSec: 2, trunkRingCapSec: 30 } });
    streams = new CdrStreams(s.redis, s.keys, 1);
    const repo = new ProvisioningRepo(s.redis, s.keys);
    await repo.createTenant(ok(validateTenantCreate({ id: tenantId, name: 'Carriers', sipDomain: domain, ports: 100, trunkChannels: 10, callsPerSecond: 50 })), SYSTEM_ACTOR);
    for (const number of ['1001', '1002', '1003']) {
      await repo.createExtension(tenantId, ok(validateExtension({ number, displayName: `User ${number}`, password: `pass${number}x` })), SYSTEM_ACTOR);
    }
    gwPort = await freePort(GW);
    await repo.createTrunk(
      tenantId,
      ok(validateTrunk({ id: 'carrier', name: 'Carrier', channelLimit: 10, numberFormat: 'national', callerId: '+81312340000', gateways: [{ host: GW, port: gwPort, transport, priority: 1 }] })),
      SYSTEM_ACTOR,
    );
    await repo.createDid(tenantId, ok(validateDid({ number: '0312340002', target: { type: 'extension', number: '1002' } })), SYSTEM_ACTOR);
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A sipp UAS as the registered phone of `ext` (binding written to the location store). */
  async function phone(ext: string, status = 200) {
    const port = await freePort();
    const h = startSipp({ scenario: file(uasAnswer(status)), transport, localPort: port, calls: 1, timeoutS: 20 });
    await bindPhone(s, { tenantId, ext, port, transport });
    return h;
  }
  const unregister = (ext: string) => s.app.location.unregister(tenantId, ext);

  /** sipp's Call-ID for a run with `callArgs(tag)` is `<tag>-1`: the CDR of exactly that call. */
  let calls = 0;
  const callArgs = (): { args: string[]; callId: string } => {
    const tag = `carriers-${transport}-${Date.now().toString(36)}-${calls++}`;
    return { args: ['-cid_str', `${tag}-%u`], callId: `${tag}-1` };
  };
  async function cdrOf(callId: string): Promise<Cdr | undefined> {
    for (let i = 0; i < 200; i++) {
      const entries = await s.redis.xrange(streams.streamKey(0), '-', '+');
      const cdr = entries.map(([, f]) => JSON.parse(f[1] as string) as Cdr).find((c) => c.callIdA === callId);
      if (cdr) return cdr;
      await new Promise((r) => setTimeout(r, 25));
    }
    return undefined;
  }

  it('a phone whose domain is 127.0.0.1 (as the README says) registers, and its calls are challenged and connected', async () => {
    const reg = await runSipp({ scenario: file(register({ user: '1001', domain: '127.0.0.1', password: 'pass1001x' })), target: s.sipTarget, transport, calls: 1, timeoutS: 15 });
    expect(reg.ok, explain(reg)).toBe(true);
    const callee = await phone('1002');
    const c = callArgs();
    const r = await runSipp({ scenario: file(uacCall({ user: '1001', domain: '127.0.0.1', password: 'pass1001x', expect: 200 })), target: s.sipTarget, transport, service: '1002', calls: 1, timeoutS: 15, args: c.args });
    expect(r.ok, explain(r)).toBe(true);
    expect((await callee.done).ok).toBe(true);
    expect(await cdrOf(c.callId)).toMatchObject({ disposition: 'answered', callerExtension: '1001', calleeExtension: '1002', direction: 'internal' });
    await unregister('1002');
  });

  it('a phone on a carrier gateway’s address registers and calls like any phone (407, then connected)', async () => {
    const reg = await runSipp({ scenario: file(register({ user: '1003', domain, password: 'pass1003x' })), target: s.sipTarget, transport, localHost: GW, calls: 1, timeoutS: 15 });
    expect(reg.ok, explain(reg)).toBe(true);
    const callee = await phone('1002');
    const c = callArgs();
    const r = await runSipp({ scenario: file(uacCall({ user: '1003', domain, password: 'pass1003x', expect: 200 })), target: s.sipTarget, transport, localHost: GW, service: '1002', calls: 1, timeoutS: 15, args: c.args });
    expect(r.ok, explain(r)).toBe(true);
    expect((await callee.done).ok).toBe(true);
    expect(await cdrOf(c.callId)).toMatchObject({ disposition: 'answered', callerExtension: '1003', direction: 'internal' });
    await unregister('1002');
  });

  it('the carrier on that address still reaches its DID (no challenge)', async () => {
    const callee = await phone('1002');
    const c = callArgs();
    const r = await runSipp({
      scenario: file(uacCall({ user: '0901234567', domain: GW, ruriHost: domain, expect: 200 })),
      args: c.args,
      target: s.sipTarget,
      transport,
      localHost: GW,
      localPort: gwPort,
      service: '0312340002',
      calls: 1,
      timeoutS: 15,
    });
    expect(r.ok, explain(r)).toBe(true);
    expect((await callee.done).ok).toBe(true);
    expect(await cdrOf(c.callId)).toMatchObject({ disposition: 'answered', direction: 'inbound', trunkId: 'carrier', calleeExtension: '1002' });
    await unregister('1002');
  });
});
