/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-srf ships no usable types */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runSipp } from '@kumo/testkit';
import { connectSrf, disconnectSrf, installUas, newCounters, type AppCounters } from '../apps/srf-apps.js';
import { scenario, startStack, waitFor, type Stack } from './harness.js';

interface Case {
  readonly name: string;
  readonly file: string;
  readonly service: string;
  readonly udpOnly?: boolean;
  readonly check?: (c: AppCounters, before: AppCounters) => void;
}

const cases: Case[] = [
  { name: 'basic call, caller hangs up', file: 'uac-basic-call-expect-200.xml', service: 'service' },
  { name: 'callee (app) hangs up', file: 'uac-callee-hangs-up-expect-bye.xml', service: 'hangup' },
  { name: 'CANCEL before any answer (quick cancel)', file: 'uac-cancel-before-180-expect-487.xml', service: 'silent', check: (c, b) => expect(c.cancels - b.cancels).toBe(1) },
  { name: 'CANCEL after 180', file: 'uac-cancel-after-180-expect-487.xml', service: 'ring', check: (c, b) => expect(c.cancels - b.cancels).toBe(1) },
  { name: '486 busy', file: 'uac-busy-expect-486.xml', service: 'busy' },
  { name: '404 not found', file: 'uac-notfound-expect-404.xml', service: 'notfound' },
  { name: 're-INVITE hold and unhold', file: 'uac-reinvite-hold-unhold-expect-200.xml', service: 'service' },
  { name: 'the app re-INVITEs the caller (hold), ACKs the 2xx and hangs up', file: 'uac-app-reinvites-then-hangs-up-expect-bye.xml', service: 'reinvite' },
  { name: 'INVITE retransmission absorbed while the app decides', file: 'uac-invite-retransmitted-expect-one-call.xml', service: 'slow', check: (c, b) => expect(c.invites - b.invites).toBe(1) },
  { name: '200 retransmitted until ACK', file: 'uac-late-ack-expect-200.xml', service: 'service', udpOnly: true },
  { name: 'packet loss recovered by retransmissions', file: 'uac-lossy-call-expect-200.xml', service: 'service', udpOnly: true },
  { name: 'REGISTER answered by the app', file: 'uac-register-expect-200.xml', service: 'service', check: (c, b) => expect(c.registers - b.registers).toBe(1) },
  { name: 'OPTIONS answered by the app', file: 'uac-options-expect-200.xml', service: 'service' },
  { name: 'Max-Forwards 0 gets 483', file: 'uac-max-forwards-0-expect-483.xml', service: 'service' },
  { name: 'BYE outside any dialog gets 481', file: 'uac-bye-unknown-dialog-expect-481.xml', service: 'service' },
  { name: 'CANCEL matching nothing gets 481', file: 'uac-cancel-unknown-expect-481.xml', service: 'service' },
  { name: 'a method no app routed gets 405 with Allow (drachtio-server: 503)', file: 'uac-unrouted-method-expect-405.xml', service: 'service' },
];

describe.each(['udp', 'tcp'] as const)('unmodified drachtio-srf as UAS, sipp as UAC, over %s', (transport) => {
  let stack: Stack;
  let srf: any;
  const c = newCounters();

  beforeAll(async () => {
    stack = await startStack();
    srf = await connectSrf(stack.controlPort);
    installUas(srf, c);
    await new Promise((r) => setTimeout(r, 100)); // routes registered
  });

  afterAll(async () => {
    disconnectSrf(srf);
    await stack.engine.close();
  });

  for (const k of cases) {
    it.skipIf(transport === 'tcp' && k.udpOnly === true)(k.name, async () => {
      const before = { ...c, errors: [...c.errors] };
      const r = await runSipp({
        scenario: scenario(k.file),
        target: `127.0.0.1:${stack.sipPort}`,
        transport,
        localPort: await freePort(),
        calls: 1,
        service: k.service,
        timeoutS: 20,
      });
      expect(r.errors).toBe('');
      expect(r.successful, r.stdout.slice(-2000)).toBe(1);
      expect(r.failed).toBe(0);
      k.check?.(c, before);
      expect(c.errors).toEqual([]);
    });
  }

  it('no state left behind', async () => {
    await waitFor(() => stack.engine.stats().dialogs === 0, 3000).catch(() => expect(stack.engine.stats()).toMatchObject({ dialogs: 0 }));
  });
});

describe('app response timeout', () => {
  it('a request the app answered with a provisional outlives the app-response timeout', async () => {
    const stack = await startStack({ appResponseTimeoutMs: 100 });
    const srf = await connectSrf(stack.controlPort);
    const c = newCounters();
    installUas(srf, c);
    await new Promise((r) => setTimeout(r, 100));
    // 'ring': the app sends 180 at once; the caller CANCELs 200 ms later, past the 100 ms app timeout: still known
    const r = await runSipp({ scenario: scenario('uac-cancel-after-180-expect-487.xml'), target: `127.0.0.1:${stack.sipPort}`, localPort: await freePort(), calls: 1, service: 'ring', timeoutS: 15 });
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
    disconnectSrf(srf);
    await stack.engine.close();
  });
});

describe('missing ACK', () => {
  it('retransmits the 200, then sends BYE and reports it to the app as unsolicited', async () => {
    const stack = await startStack({ T1: 50 });
    const srf = await connectSrf(stack.controlPort);
    const c = newCounters();
    installUas(srf, c);
    await new Promise((r) => setTimeout(r, 100));
    const r = await runSipp({ scenario: scenario('uac-no-ack-expect-bye.xml'), target: `127.0.0.1:${stack.sipPort}`, localPort: await freePort(), calls: 1, timeoutS: 15 });
    expect(r.successful, r.stdout.slice(-2000)).toBe(1);
    await waitFor(() => c.unsolicited === 1);
    disconnectSrf(srf);
    await stack.engine.close();
  });
});
