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
import { freePort, runSipp, startSipp, uacCall, uasAnswer, uasRingCancel, type SippResult } from '@kumo/testkit';
import { bindPhone } from '../helpers/bind-phone.js';
import { startStack, type Stack } from '../helpers/stack.js';

const tenantId = 'leak';
const domain = 'leak.kumo.test';
const T1 = 20;
const explain = (r: SippResult): string => `sipp exit ${r.code}: ${r.errors.slice(0, 1500)} ${r.stderr.slice(0, 300)}`;

/** 1001 calls with digest, then: `answer` (ACK, BYE), `cancel` (CANCEL after 180) or a final status. */
function uac(outcome: 'answer' | 'cancel' | number): string {
  const me = { user: '1001', domain, password: 'pass1001x', display: '' } as const;
  if (outcome === 'answer') return uacCall({ ...me, expect: 200, holdMs: 0 });
  if (outcome === 'cancel') return uacCall({ ...me, expect: 487, cancelAfterMs: 0 });
  return uacCall({ ...me, expect: outcome });
}

/** The callee's phone: rings then answers 486, or rings until CANCELled (200 + 487). */
const uas = (kind: 'busy' | 'ring'): string => (kind === 'busy' ? uasAnswer(486) : uasRingCancel());

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
    await bindPhone(s, { tenantId, ext, port, transport });
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
