/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-srf ships no usable types */
/**
 * Load shedding on the wire: beyond the apps' backlog limit a new INVITE gets 503 with Retry-After before any app
 * sees it, while retransmissions of admitted INVITEs are still absorbed; once the backlog drains, calls are
 * admitted again.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineMetrics, createRegistry, silentLogger } from '@kumo/runtime';
import { startEngine, type EngineHandle } from '../../src/index.js';
import { connectSrf, disconnectSrf, installUas, newCounters, type AppCounters } from '../apps/srf-apps.js';
import { waitFor } from './harness.js';

function invite(port: number, n: number, sipPort: number, user = 'silent'): Buffer {
  return Buffer.from(
    [
      `INVITE sip:${user}@127.0.0.1:${sipPort} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};rport;branch=z9hG4bK-shed-${n}`,
      'Max-Forwards: 70',
      `From: <sip:a@127.0.0.1>;tag=f${n}`,
      'To: <sip:silent@127.0.0.1>',
      `Call-ID: shed-${n}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:a@127.0.0.1:${port}>`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

const header = (text: string, name: string): string | undefined => new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im').exec(text)?.[1]?.trim();

describe('load shedding', () => {
  let engine: EngineHandle;
  let srf: any;
  let sock: UdpSocket;
  let c: AppCounters;
  const inbox: string[] = [];
  const registry = createRegistry('engine-overload-test');

  beforeAll(async () => {
    engine = await startEngine({
      metrics: createEngineMetrics(registry),
      listen: [{ proto: 'udp', host: '127.0.0.1', port: 0 }],
      control: { host: '127.0.0.1', port: 0 },
      secret: 'cymru',
      log: silentLogger(),
      appResponseTimeoutMs: 1500,
      // the answered emergency call's transaction (RFC 6026 Accepted, 64·T1) ends within the test
      timers: { T1: 50 },
      overload: { pendingHigh: 3, lagHighMs: 5000 },
    });
    srf = await connectSrf(engine.control.port);
    c = newCounters();
    installUas(srf, c); // `silent`: the app takes the INVITE and never answers
    sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    sock.on('message', (d) => inbox.push(d.toString('utf8')));
    await waitFor(() => engine.stats().apps === 1);
  });
  afterAll(async () => {
    sock.close();
    disconnectSrf(srf);
    await engine.close();
  });

  const sipPort = (): number => engine.sip[0]!.port;
  const send = (n: number, user?: string): void => sock.send(invite(sock.address().port, n, sipPort(), user), sipPort(), '127.0.0.1');
  const answers = (n: number): string[] => inbox.filter((m) => m.startsWith('SIP/2.0') && header(m, 'Call-ID') === `shed-${n}`);

  it('sheds new INVITEs past the backlog limit, keeps absorbing admitted ones, and admits again once it drains', async () => {
    for (let n = 1; n <= 4; n++) send(n);
    await waitFor(() => c.invites === 4);
    expect(engine.stats().shedding).toBe(true);
    // the fifth call is refused before the app, cheaply and statelessly
    send(5);
    await waitFor(() => answers(5).length === 1);
    expect(answers(5)[0]).toMatch(/^SIP\/2\.0 503 /);
    expect(header(answers(5)[0]!, 'Retry-After')).toBe('5');
    // answered from its raw lines (no parse while shedding): the empty rport filled in, a kshed To-tag for its ACK
    expect(header(answers(5)[0]!, 'Via')).toBe(`SIP/2.0/UDP 127.0.0.1:${sock.address().port};rport=${sock.address().port};branch=z9hG4bK-shed-5`);
    expect(header(answers(5)[0]!, 'To')).toMatch(/^<sip:silent@127\.0\.0\.1>;tag=kshed\w+$/);
    expect(c.invites).toBe(4);
    // a retransmission of an admitted INVITE is absorbed as before: its 100 Trying (at once if the delayed one was not
    // sent yet), never a 503
    const before = answers(1).length;
    send(1);
    await waitFor(() => answers(1).length === before + 1);
    expect(answers(1).every((m) => m.startsWith('SIP/2.0 100 '))).toBe(true);
    expect(engine.stats().shed).toBe(1);
    // an emergency call is never shed: 119 reaches the app while everything else is refused
    send(7, '119');
    await waitFor(() => c.invites === 5);
    expect(engine.stats().shed).toBe(1);
    await waitFor(() => answers(7).some((m) => m.startsWith('SIP/2.0 180 '))); // answered: out of the backlog
    expect(answers(7).some((m) => m.startsWith('SIP/2.0 503 '))).toBe(false);
    const text = await registry.metrics();
    expect(text).toMatch(/^kumo_engine_shed_invites_total\{[^}]*\} 1$/m);
    expect(text).toMatch(/^kumo_engine_overloaded\{[^}]*\} 1$/m);
    expect(text).toMatch(/^kumo_engine_pending_invites\{[^}]*\} 4$/m);
    // the app never answers: the app-response timeout settles the backlog and calls are admitted again
    await waitFor(() => engine.stats().serverTransactions === 0, 10_000);
    expect(engine.stats().shedding).toBe(false);
    send(6);
    await waitFor(() => c.invites === 6);
    await waitFor(() => answers(6).length > 0); // the app stays silent: the stack's 100 Trying after its delay
    expect(answers(6)[0]).toMatch(/^SIP\/2\.0 100 /);
  });
});
