/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-srf ships no usable types */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runSipp, startSipp } from '@kumo/testkit';
import { ANSWER_SDP, connectSrf, disconnectSrf, installB2b, newCounters } from '../apps/srf-apps.js';
import { scenario, startStack, waitFor, type Stack } from './harness.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each(['udp', 'tcp'] as const)('unmodified drachtio-srf as UAC, sipp as UAS, over %s', (transport) => {
  let stack: Stack;
  let srf: any;
  const tp = transport === 'tcp' ? ';transport=tcp' : '';

  beforeAll(async () => {
    stack = await startStack();
    srf = await connectSrf(stack.controlPort);
  });
  afterAll(async () => {
    disconnectSrf(srf);
    await stack.engine.close();
  });

  async function uas(file: string): Promise<{ port: number; sipp: ReturnType<typeof startSipp> }> {
    const port = await freePort();
    const sipp = startSipp({ scenario: scenario(file), transport, localPort: port, calls: 1, timeoutS: 15 });
    await sleep(150); // sipp bound
    return { port, sipp };
  }

  it('createUAC: call answered, ACK built from the dialog, app hangs up', async () => {
    const { port, sipp } = await uas('uas-answer-expect-ack-bye.xml');
    const dlg = await srf.createUAC(`sip:service@127.0.0.1:${port}${tp}`, { localSdp: ANSWER_SDP });
    expect(dlg.id).toMatch(/;from-tag=/);
    await sleep(100);
    await dlg.destroy();
    const r = await sipp.done;
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
  });

  it('createUAC: CANCEL after 180 gives 487', async () => {
    const { port, sipp } = await uas('uas-ring-expect-cancel.xml');
    let req: any;
    const p = srf.createUAC(`sip:service@127.0.0.1:${port}${tp}`, { localSdp: ANSWER_SDP }, {
      cbRequest: (_e: unknown, r: any) => {
        req = r;
      },
      cbProvisional: (res: any) => {
        if (res.status === 180) req.cancel();
      },
    });
    await expect(p).rejects.toMatchObject({ status: 487 });
    const r = await sipp.done;
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
  });

  it('createUAC to a destination the engine cannot send to: the app gets NOK with the reason, at once', async () => {
    await expect(srf.createUAC('sip:service@127.0.0.1:5060;transport=ws', { localSdp: ANSWER_SDP })).rejects.toThrow(/transport ws is not supported/);
  });

  it('createUAC: 486 is reported and ACKed by the engine', async () => {
    const { port, sipp } = await uas('uas-busy-expect-ack.xml');
    await expect(srf.createUAC(`sip:service@127.0.0.1:${port}${tp}`, { localSdp: ANSWER_SDP })).rejects.toMatchObject({ status: 486 });
    const r = await sipp.done;
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
  });

  it('in-dialog INFO, NOTIFY, REFER, UPDATE, re-INVITE (hold) and BYE from the app', async () => {
    const { port, sipp } = await uas('uas-in-dialog-requests-expect-bye.xml');
    const dlg = await srf.createUAC(`sip:service@127.0.0.1:${port}${tp}`, { localSdp: ANSWER_SDP });
    expect((await dlg.request({ method: 'INFO', headers: { 'Content-Type': 'application/dtmf-relay' }, body: 'Signal=1\r\nDuration=100\r\n' })).status).toBe(200);
    expect((await dlg.request({ method: 'NOTIFY', headers: { Event: 'refer', 'Subscription-State': 'active', 'Content-Type': 'message/sipfrag' }, body: 'SIP/2.0 100 Trying\r\n' })).status).toBe(200);
    expect((await dlg.request({ method: 'REFER', headers: { 'Refer-To': '<sip:bob@127.0.0.1>' } })).status).toBe(202);
    expect((await dlg.request({ method: 'UPDATE' })).status).toBe(200);
    await dlg.modify('hold');
    await dlg.destroy();
    const r = await sipp.done;
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
  });

  it('B2BUA: sipp uac → engine → createB2BUA → sipp uas, and a 486 passed back', async () => {
    const c = newCounters();
    const b2bSrf = await connectSrf(stack.controlPort);
    const uasPort = await freePort();
    installB2b(b2bSrf, (user) => `sip:${user}@127.0.0.1:${uasPort}${tp}`, c);
    await sleep(100);
    const uasSipp = startSipp({ scenario: { builtin: 'uas' }, transport, localPort: uasPort, calls: 3, timeoutS: 20 });
    await sleep(150);
    const r = await runSipp({ scenario: scenario('uac-basic-call-expect-200.xml'), target: `127.0.0.1:${stack.sipPort}`, transport, localPort: await freePort(), calls: 3, rate: 10, timeoutS: 20 });
    expect(r.errors).toBe('');
    expect(r.successful).toBe(3);
    const u = await uasSipp.done;
    expect(u.successful).toBe(3);
    // failure passed through: sipp uas answering 486
    const busyUas = startSipp({ scenario: scenario('uas-busy-expect-ack.xml'), transport, localPort: uasPort, calls: 1, timeoutS: 15 });
    await sleep(150);
    const r2 = await runSipp({ scenario: scenario('uac-busy-expect-486.xml'), target: `127.0.0.1:${stack.sipPort}`, transport, localPort: await freePort(), calls: 1, timeoutS: 15 });
    expect(r2.errors).toBe('');
    expect(r2.successful).toBe(1);
    expect((await busyUas.done).successful).toBe(1);
    expect(c.errors).toEqual([]);
    disconnectSrf(b2bSrf);
    await waitFor(() => stack.engine.stats().dialogs === 0, 3000);
  });

  it('B2BUA: the callee re-INVITEs (hold) and hangs up; the ACK of its re-INVITE is matched (no BYE from the engine)', async () => {
    const short = await startStack({ T1: 50 }); // timer H at 3.2 s: an unmatched ACK would end the call
    const c = newCounters();
    const b2bSrf = await connectSrf(short.controlPort);
    const uasPort = await freePort();
    installB2b(b2bSrf, (user) => `sip:${user}@127.0.0.1:${uasPort}${tp}`, c);
    await sleep(100);
    const callee = startSipp({ scenario: scenario('uas-answer-reinvite-then-bye-expect-200.xml'), transport, localPort: uasPort, calls: 1, timeoutS: 20 });
    await sleep(150);
    const r = await runSipp({ scenario: scenario('uac-callee-hangs-up-expect-bye.xml'), target: `127.0.0.1:${short.sipPort}`, transport, localPort: await freePort(), calls: 1, timeoutS: 20 });
    const u = await callee.done;
    expect(u.errors).toBe('');
    expect(u.successful).toBe(1);
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
    expect(c.errors).toEqual([]);
    disconnectSrf(b2bSrf);
    await waitFor(() => short.engine.stats().dialogs === 0, 3000);
    await short.engine.close();
  });

  it('createUAC: a callee ringing longer than timer B is still answered (timer B stops at the first provisional)', async () => {
    const short = await startStack({ T1: 50 }); // timer B = 3.2 s; the callee rings for 5 s
    const app = await connectSrf(short.controlPort);
    const port = await freePort();
    const sipp = startSipp({ scenario: scenario('uas-ring-5s-then-answer-expect-ack-bye.xml'), transport, localPort: port, calls: 1, timeoutS: 20 });
    await sleep(150);
    const dlg = await app.createUAC(`sip:service@127.0.0.1:${port}${tp}`, { localSdp: ANSWER_SDP });
    await dlg.destroy();
    const r = await sipp.done;
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
    disconnectSrf(app);
    await short.engine.close();
  });
});
