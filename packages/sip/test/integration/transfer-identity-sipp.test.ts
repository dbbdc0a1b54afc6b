/**
 * Connected identity after a blind transfer (issue 12 item 6): the transfer target sees the party
 * who stays on the line (the original caller), not the transferor; the transferee is told who it
 * now talks to by the re-INVITE that connects it (P-Asserted-Identity, RFC 4916-style). sipp phones,
 * the real engine, real Redis.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateExtension, validateTenantCreate } from '@kumo/domain';
import { ProvisioningRepo, SYSTEM_ACTOR } from '@kumo/store';
import { freePort, runSipp, startSipp, uacCall, uasAnswer, uasTransferor, type SippResult } from '@kumo/testkit';
import { udpPortBound } from '../helpers/raw-phone.js';
import { bindPhone } from '../helpers/bind-phone.js';
import { startStack, type Stack } from '../helpers/stack.js';

const DOMAIN = 'xfer-id.kumo.test';
const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(0, 1500)} ${r.stderr.slice(0, 300)}`;

describe('connected identity after a blind transfer', () => {
  let s: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'kumo-xferid-'));
  let n = 0;
  const file = (xml: string): { file: string } => {
    const f = join(dir, `s${n++}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };

  beforeAll(async () => {
    s = await startStack({ redisUrl: inject('redisUrl'), calls: { cdrShards: 1, trunkSetupTimeoutSec: 2, trunkRingCapSec: 30 } });
    const repo = new ProvisioningRepo(s.redis, s.keys);
    const t = validateTenantCreate({ id: 'xferid', name: 'Xfer', sipDomain: DOMAIN, ports: 100, trunkChannels: 1, callsPerSecond: 50 });
    if (!t.ok) throw new Error(JSON.stringify(t.problems));
    await repo.createTenant(t.value, SYSTEM_ACTOR);
    for (const [number, displayName] of [['1001', 'Alice Caller'], ['1002', 'Bob Transferor'], ['1003', 'Carol Target']] as const) {
      const e = validateExtension({ number, displayName, password: `pass${number}x` });
      if (!e.ok) throw new Error(JSON.stringify(e.problems));
      await repo.createExtension('xferid', e.value, SYSTEM_ACTOR);
    }
  });
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const phone = async (ext: string, xml: string) => {
    const port = await freePort();
    const h = startSipp({ scenario: file(xml), transport: 'udp', localPort: port, calls: 1, timeoutS: 20 });
    await udpPortBound(port);
    await bindPhone(s, { tenantId: 'xferid', ext, port, transport: 'udp' });
    return h;
  };

  it('the target sees the original caller; the caller is told it now talks to the target', async () => {
    const target = await phone('1003', uasAnswer(200, { ringMs: 200, user: 'phone', fromMatches: 'Alice Caller.*sip:1001@' }));
    const xfer = await phone('1002', uasTransferor({ target: '1003', domain: DOMAIN }));
    const r = await runSipp({
      scenario: file(uacCall({ user: '1001', domain: DOMAIN, display: '', password: 'pass1001x', expect: 200, mode: 'transferred', transferredPai: 'Carol Target.*sip:1003@', ring: 'optional' })),
      target: s.sipTarget,
      transport: 'udp',
      service: '1002',
      calls: 1,
      timeoutS: 20,
      localPort: await freePort(),
    });
    expect(r.ok, explain(r)).toBe(true);
    const [rt, rx] = await Promise.all([target.done, xfer.done]);
    expect(rx.ok, explain(rx)).toBe(true);
    expect(rt.ok, explain(rt)).toBe(true);
  });
});
