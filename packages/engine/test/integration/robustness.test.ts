/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-srf ships no usable types */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runSipp } from '@kumo/testkit';
import { silentLogger } from '@kumo/runtime';
import { startEngine, type EngineHandle } from '../../src/index.js';
import { connectSrf, disconnectSrf, installUas, newCounters } from '../apps/srf-apps.js';
import { scenario, startStack, waitFor, type Stack } from './harness.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('robustness', () => {
  let stack: Stack;
  let srf: any;
  const c = newCounters();

  beforeAll(async () => {
    stack = await startStack();
    srf = await connectSrf(stack.controlPort);
    installUas(srf, c);
    await sleep(100);
  });
  afterAll(async () => {
    disconnectSrf(srf);
    await stack.engine.close();
  });

  const basicCall = async (transport: 'udp' | 'tcp' = 'udp'): Promise<void> => {
    const r = await runSipp({ scenario: scenario('uac-basic-call-expect-200.xml'), target: `127.0.0.1:${stack.sipPort}`, transport, localPort: await freePort(), calls: 1, timeoutS: 15 });
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
  };

  it('a flood of garbage datagrams (5,000, seeded) does not stop the next call', async () => {
    const s = createSocket('udp4');
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const prefixes = ['INVITE sip:x SIP/2.0\r\n', 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 1.2.3.4\r\n', 'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\n', '', '\r\n\r\n'];
    for (let i = 0; i < 5000; i++) {
      const junk = randomBytes(Math.floor(rnd() * 600));
      const p = prefixes[Math.floor(rnd() * prefixes.length)] ?? '';
      s.send(Buffer.concat([Buffer.from(p), junk]), stack.sipPort, '127.0.0.1');
      if (i % 500 === 0) await sleep(5);
    }
    await sleep(200);
    s.close();
    await basicCall('udp');
  });

  it('half-open TCP connections (idle, partial messages) are bounded and the next call over TCP works', async () => {
    const socks: Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const so = connect({ host: '127.0.0.1', port: stack.sipPort });
      so.on('error', () => undefined);
      socks.push(so);
      if (i % 2 === 0) so.write('INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKq\r\nContent-Length: 100\r\n\r\nshort');
    }
    await sleep(100);
    await basicCall('tcp');
    for (const so of socks) so.destroy();
  });

  it('an oversized TCP message closes that connection only', async () => {
    const so = connect({ host: '127.0.0.1', port: stack.sipPort });
    so.on('error', () => undefined);
    await new Promise((r) => so.once('connect', r));
    let got = '';
    so.on('data', (d: Buffer) => (got += d.toString()));
    so.write(`OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKbig\r\nX: ${'a'.repeat(70000)}\r\n`);
    await new Promise((r) => so.once('close', r));
    expect(got.startsWith('SIP/2.0 513 ')).toBe(true);
    await basicCall('tcp');
  });

  it('an app that disconnects mid-call: its calls are cleaned up and the next call is served by another app', async () => {
    const c2 = newCounters();
    const quitter = await connectSrf(stack.controlPort);
    // a second app that takes INVITEs round-robin and disconnects on the first one without answering
    quitter.invite(() => {
      c2.invites++;
      disconnectSrf(quitter);
    });
    await sleep(100);
    // two calls: round-robin gives one to each app; the quitter's call is failed with 480 by the engine
    const r = await runSipp({ scenario: scenario('uac-basic-call-expect-200.xml'), target: `127.0.0.1:${stack.sipPort}`, localPort: await freePort(), calls: 2, rate: 20, timeoutS: 15 });
    expect(c2.invites).toBe(1);
    expect(r.successful + r.failed).toBe(2);
    expect(r.failed).toBeLessThanOrEqual(1);
    await waitFor(() => stack.engine.stats().apps === 1);
    await basicCall('udp');
    await basicCall('tcp');
  });

  it('a connected call whose app vanishes is hung up with BYE', async () => {
    const e2: EngineHandle = await startEngine({
      listen: [{ proto: 'udp', host: '127.0.0.1', port: 0 }],
      control: { host: '127.0.0.1', port: 0 },
      secret: 'cymru',
      log: silentLogger(),
    });
    const app = await connectSrf(e2.control.port);
    installUas(app, newCounters());
    await sleep(100);
    const sipPort = e2.sip[0]!.port;
    const run = runSipp({ scenario: scenario('uac-callee-hangs-up-expect-bye.xml'), target: `127.0.0.1:${sipPort}`, localPort: await freePort(), calls: 1, service: 'service', timeoutS: 15 });
    await waitFor(() => e2.stats().dialogs === 1);
    await sleep(100);
    disconnectSrf(app);
    const r = await run;
    expect(r.successful).toBe(1);
    await waitFor(() => e2.stats().dialogs === 0);
    await e2.close();
    await e2.close(); // idempotent
  });
});
