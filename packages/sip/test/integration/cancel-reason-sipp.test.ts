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
import { freePort, runSipp, startSipp, uacCall, uasAnswer, uasRingCancel, type SippResult, type UacCall } from '@kumo/testkit';
import { udpPortBound } from '../helpers/raw-phone.js';
import { bindPhone } from '../helpers/bind-phone.js';
import { startStack, type Stack } from '../helpers/stack.js';

const DOMAIN = 'forks.kumo.test';
/** A phone that rings `ringMs`, then answers. */
const winner = (ringMs: number): string => uasAnswer(200, { ringMs, user: 'phone' });
/** A phone that loses the race; its CANCEL's Reason must be as said. */
const loser = (reason: 'elsewhere' | 'none'): string => uasRingCancel({ reason, user: 'phone' });
/** A phone calling with digest; ringing required unless said otherwise. */
const caller = (o: { user: string; password: string } & Partial<UacCall>): string => uacCall({ domain: DOMAIN, display: '', expect: o.cancelAfterMs !== undefined ? 487 : 200, ring: 'required', ...o });
const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(0, 1500)} ${r.stderr.slice(0, 300)}`;

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
    await bindPhone(s, { tenantId: 'forks', ext, port, transport: 'udp' });
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
    const picker = await call('*8', caller({ user: '1003', password: 'pass1003x', mode: 'wait-bye', ring: 'optional' }));
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
