/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-srf ships no usable types */
/**
 * The CANCEL the engine sends for an app is its own non-INVITE client transaction (RFC 3261 §9.1): it completes on
 * its 200 and is never retransmitted after it.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSWER_SDP, connectSrf, disconnectSrf } from '../apps/srf-apps.js';
import { startStack, waitFor, type Stack } from './harness.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function header(text: string, name: string): string {
  return new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im').exec(text)?.[1]?.trim() ?? '';
}

function reply(req: string, status: string, toTag?: string): Buffer {
  const to = toTag !== undefined && !/;tag=/.test(header(req, 'To')) ? `${header(req, 'To')};tag=${toTag}` : header(req, 'To');
  const lines = [`SIP/2.0 ${status}`, `Via: ${header(req, 'Via')}`, `From: ${header(req, 'From')}`, `To: ${to}`, `Call-ID: ${header(req, 'Call-ID')}`, `CSeq: ${header(req, 'CSeq')}`, 'Content-Length: 0', '', ''];
  return Buffer.from(lines.join('\r\n'));
}

describe('CANCEL client transaction', () => {
  let stack: Stack;
  let srf: any;
  let sock: UdpSocket;
  const got: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ T1: 50 });
    srf = await connectSrf(stack.controlPort);
    sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    await waitFor(() => stack.engine.stats().apps === 1);
  });
  afterAll(async () => {
    sock.close();
    disconnectSrf(srf);
    await stack.engine.close();
  });

  it('completes on its 200: one CANCEL on the wire, no retransmission after the 200', async () => {
    const port = sock.address().port;
    sock.on('message', (d, rinfo) => {
      const m = d.toString('utf8');
      got.push(m);
      const send = (b: Buffer): void => sock.send(b, rinfo.port, rinfo.address);
      if (m.startsWith('INVITE ')) send(reply(m, '180 Ringing', 'callee'));
      else if (m.startsWith('CANCEL ')) {
        send(reply(m, '200 OK', 'callee'));
        const inv = got.find((x) => x.startsWith('INVITE '))!;
        send(reply(inv, '487 Request Terminated', 'callee'));
      }
    });
    let req: any;
    const p = srf.createUAC(`sip:callee@127.0.0.1:${port}`, { localSdp: ANSWER_SDP }, {
      cbRequest: (_e: unknown, r: any) => {
        req = r;
      },
      cbProvisional: (res: any) => {
        if (res.status === 180) req.cancel();
      },
    });
    await expect(p).rejects.toMatchObject({ status: 487 });
    await waitFor(() => got.some((m) => m.startsWith('ACK ')));
    // T1 = 50 ms: an uncompleted CANCEL would be resent at 50, 150, 350, 750 ms ...
    await sleep(900);
    expect(got.filter((m) => m.startsWith('CANCEL ')).length).toBe(1);
    expect(got.filter((m) => m.startsWith('INVITE ')).length).toBe(1);
  });
});
