/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-srf ships no usable types */
/**
 * Issue 11's poison inputs: Via ports outside 1–65535 are refused with 400 at parse time, and a dialog whose remote
 * target is unusable (Contact port 0) cannot stop the app-disconnect clean-up from handling every other dialog.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSrf, disconnectSrf, installUas, newCounters } from '../apps/srf-apps.js';
import { startStack, waitFor, type Stack } from './harness.js';

const SDP = ['v=0', 'o=t 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', ''].join('\r\n');

function invite(o: { via: string; callId: string; contact: string; branch: string }): Buffer {
  return Buffer.from(
    [
      'INVITE sip:service@127.0.0.1 SIP/2.0',
      `Via: ${o.via};branch=${o.branch}`,
      'Max-Forwards: 70',
      'From: <sip:a@127.0.0.1>;tag=from-' + o.callId,
      'To: <sip:service@127.0.0.1>',
      `Call-ID: ${o.callId}`,
      'CSeq: 1 INVITE',
      `Contact: ${o.contact}`,
      'Content-Type: application/sdp',
      `Content-Length: ${SDP.length}`,
      '',
      SDP,
    ].join('\r\n'),
  );
}

function header(text: string, name: string): string | undefined {
  return new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im').exec(text)?.[1]?.trim();
}

describe('poison input, then an app disconnect', () => {
  let stack: Stack;
  let srf: any;
  let sock: UdpSocket;
  let port = 0;
  const inbox: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ T1: 50 });
    srf = await connectSrf(stack.controlPort);
    installUas(srf, newCounters());
    sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    port = sock.address().port;
    sock.on('message', (d) => inbox.push(d.toString('utf8')));
    await waitFor(() => stack.engine.stats().apps === 1);
  });
  afterAll(async () => {
    sock.close();
    disconnectSrf(srf);
    await stack.engine.close();
  });

  const send = (b: Buffer): void => sock.send(b, stack.sipPort, '127.0.0.1');
  const finalFor = (callId: string): string | undefined =>
    inbox.find((m) => /^SIP\/2\.0 [2-6]\d\d /.test(m) && header(m, 'Call-ID') === callId);

  it('refuses Via ports outside 1–65535 with 400, answered to the source port, with no state left', async () => {
    const cases = [
      ['port0', `SIP/2.0/UDP 127.0.0.1:0`],
      ['port0-rport', `SIP/2.0/UDP 127.0.0.1:0;rport`],
      ['rport0', `SIP/2.0/UDP 127.0.0.1:${port};rport=0`],
      ['port65536', `SIP/2.0/UDP 127.0.0.1:65536`],
      ['second-via-port0', `SIP/2.0/UDP 127.0.0.1:${port};rport, SIP/2.0/UDP 10.0.0.1:0`],
    ] as const;
    for (const [id, via] of cases) send(invite({ via, callId: `poison-${id}`, contact: `<sip:a@127.0.0.1:${port}>`, branch: `z9hG4bK-${id}` }));
    await waitFor(() => cases.every(([id]) => finalFor(`poison-${id}`) !== undefined));
    for (const [id] of cases) expect(finalFor(`poison-${id}`), id).toMatch(/^SIP\/2\.0 400 Malformed Via/);
    expect(stack.engine.stats().serverTransactions).toBe(0);
  });

  it('dialogs with an unusable remote target do not stop the clean-up of the others when the app disconnects', async () => {
    // one call whose Contact says port 0 (the BYE for it cannot be sent), among good calls on either side of it
    const calls = ['good-1', 'bad-contact', 'good-2', 'good-3'];
    for (const id of calls) {
      const contact = id === 'bad-contact' ? '<sip:a@127.0.0.1:0>' : `<sip:a@127.0.0.1:${port}>`;
      send(invite({ via: `SIP/2.0/UDP 127.0.0.1:${port};rport`, callId: `call-${id}`, contact, branch: `z9hG4bK-${id}` }));
    }
    await waitFor(() => calls.every((id) => finalFor(`call-${id}`) !== undefined));
    for (const id of calls) {
      const ok = finalFor(`call-${id}`)!;
      expect(ok, id).toMatch(/^SIP\/2\.0 200 /);
      const ack = [
        `ACK sip:service@127.0.0.1:${stack.sipPort} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};rport;branch=z9hG4bK-ack-${id}`,
        'Max-Forwards: 70',
        `From: ${header(ok, 'From')}`,
        `To: ${header(ok, 'To')}`,
        `Call-ID: call-${id}`,
        'CSeq: 1 ACK',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      send(Buffer.from(ack));
    }
    await waitFor(() => stack.engine.stats().dialogs === calls.length);
    // more poison while the calls are up: a retransmission-looking request with a bad Via, a stray BYE
    send(invite({ via: 'SIP/2.0/UDP 127.0.0.1:0', callId: 'call-good-1', contact: '<sip:a@127.0.0.1:0>', branch: 'z9hG4bK-good-1' }));

    disconnectSrf(srf);
    // every dialog is hung up: a BYE reaches each good call; the bad one is dropped without one
    await waitFor(() => stack.engine.stats().dialogs === 0);
    await waitFor(() => ['good-1', 'good-2', 'good-3'].every((id) => inbox.some((m) => m.startsWith('BYE ') && header(m, 'Call-ID') === `call-${id}`)));
    expect(inbox.some((m) => m.startsWith('BYE ') && header(m, 'Call-ID') === 'call-bad-contact')).toBe(false);
    // answer the BYEs so their client transactions complete; the one that could not be sent times out
    for (const m of inbox.filter((x) => x.startsWith('BYE '))) {
      const res = ['SIP/2.0 200 OK', ...['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((h) => `${h}: ${header(m, h)}`), 'Content-Length: 0', '', ''].join('\r\n');
      send(Buffer.from(res));
    }
    await waitFor(() => stack.engine.stats().clientTransactions === 0, 8000);
    await waitFor(() => stack.engine.stats().serverTransactions === 0, 8000);
  });

  it('with no app connected a new request gets 503 with Retry-After', async () => {
    await waitFor(() => stack.engine.stats().apps === 0);
    const opt = [
      `OPTIONS sip:service@127.0.0.1:${stack.sipPort} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};rport;branch=z9hG4bK-noapp`,
      'Max-Forwards: 70',
      'From: <sip:a@127.0.0.1>;tag=1',
      'To: <sip:service@127.0.0.1>',
      'Call-ID: no-app',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    send(Buffer.from(opt));
    await waitFor(() => finalFor('no-app') !== undefined);
    expect(finalFor('no-app')).toMatch(/^SIP\/2\.0 503 /);
    expect(header(finalFor('no-app')!, 'Retry-After')).toBe('5');
  });
});
