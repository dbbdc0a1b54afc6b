/**
 * The UAC half on its own: fake clock, a recording wire, a stand-in for the engine's public face and a fake app
 * connection. An INVITE client transaction through its responses, one case each.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '@kumo/runtime';
import type { AppConnection } from '../../src/control/server.js';
import { DialogTable } from '../../src/dialog/table.js';
import type { EngineCore, ClientTxn, ServerTxn } from '../../src/engine.js';
import { parseMessage, serialize, type SipRequest, type SipResponse } from '../../src/index.js';
import type { Dest } from '../../src/transaction/types.js';
import { TransactionTable } from '../../src/transaction/table.js';
import type { LocalPoint, Peer } from '../../src/transport/types.js';
import { UacSide } from '../../src/uac.js';
import { FakeClock, FakeTransport, TIMERS } from './txn-fakes.js';

const LOCAL: LocalPoint = { proto: 'udp', host: '127.0.0.1', port: 5060, family: 4 };
const PEER: Peer = { proto: 'udp', addr: '127.0.0.1', port: 5080, local: LOCAL };
const DEST: Dest = { proto: 'udp', addr: '127.0.0.1', port: 5080 };
const BRANCH = 'z9hG4bK-uac-1';

function parse(lines: string[]): SipRequest | SipResponse {
  const r = parseMessage(Buffer.from([...lines, 'Content-Length: 0', '', ''].join('\r\n')));
  if (!r.ok) throw new Error(r.reason);
  return r.msg;
}

const invite = parse([
  'INVITE sip:bob@127.0.0.1:5080 SIP/2.0',
  `Via: SIP/2.0/UDP 127.0.0.1:5060;rport;branch=${BRANCH}`,
  'Max-Forwards: 70',
  'From: <sip:alice@127.0.0.1>;tag=la',
  'To: <sip:bob@127.0.0.1>',
  'Call-ID: uac-unit-1',
  'CSeq: 1 INVITE',
  'Contact: <sip:127.0.0.1:5060>',
]) as SipRequest;

const response = (status: number, reason: string, toTag?: string): SipResponse =>
  parse([
    `SIP/2.0 ${status} ${reason}`,
    `Via: SIP/2.0/UDP 127.0.0.1:5060;rport=5060;branch=${BRANCH}`,
    'From: <sip:alice@127.0.0.1>;tag=la',
    `To: <sip:bob@127.0.0.1>${toTag ? `;tag=${toTag}` : ''}`,
    'Call-ID: uac-unit-1',
    'CSeq: 1 INVITE',
    'Contact: <sip:bob@127.0.0.1:5080>',
  ]) as SipResponse;

function setup() {
  const clock = new FakeClock();
  const wire = new FakeTransport(clock);
  const frames: string[] = [];
  const app = { closed: false, send: (rest: string, body?: Buffer) => (frames.push(rest + (body?.toString('utf8') ?? '')), 'id') } as unknown as AppConnection;
  const dialogs = new DialogTable({ clock, timers: TIMERS, transport: wire });
  const txns = new TransactionTable<ServerTxn, ClientTxn>();
  const acks: string[] = [];
  const core = {
    log: silentLogger(),
    dialogs,
    transports: { send: (_p: string, addr: string, port: number, b: Buffer) => (wire.send({ proto: 'udp', addr, port }, b), true) },
    removeDialog: (d: never) => dialogs.remove(d),
    engineBye: () => undefined,
    sendDialogAck: (d: { id: string }) => (acks.push(d.id), Buffer.alloc(0)),
  } as unknown as EngineCore;
  const owner = new Map<string, AppConnection>();
  const uac = new UacSide(core, { metrics: undefined, timers: TIMERS, clock, txns, owner, send: (d, b) => wire.send(d, b), retransmitted: () => wire.retransmitted() });
  const t = uac.newClientTxn('INVITE', BRANCH, invite, serialize(invite), DEST, app, '');
  uac.startClient(t);
  const out = (): string[] => wire.sent.map((s) => s.text.split('\r\n')[0] ?? '');
  return { uac, t, wire, frames, txns, dialogs, clock, out, owner };
}

describe('UacSide', () => {
  it('sends the INVITE and retransmits it on timer A until a provisional', () => {
    const { clock, out, uac } = setup();
    expect(out()).toEqual(['INVITE sip:bob@127.0.0.1:5080 SIP/2.0']);
    clock.advance(500);
    expect(out()).toHaveLength(2);
    uac.onResponse(response(100, 'Trying'), PEER);
    clock.advance(5000);
    expect(out()).toHaveLength(2);
  });

  it('a 180 with a To-tag makes an early dialog and reaches the app; 100 Trying does not', () => {
    const { uac, frames, dialogs } = setup();
    uac.onResponse(response(100, 'Trying'), PEER);
    expect(frames).toHaveLength(0);
    uac.onResponse(response(180, 'Ringing', 'rb'), PEER);
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatch(/\|uac-unit-1;from-tag=la\|\r\nSIP\/2\.0 180 Ringing/);
    expect(dialogs.get('uac-unit-1;from-tag=la')?.state).toBe('early');
    // further provisionals are passed up in Proceeding (RFC 3261 §17.1.1.2); the dialog is not made twice
    uac.onResponse(response(180, 'Ringing', 'rb'), PEER);
    expect(frames).toHaveLength(2);
    expect(dialogs.size).toBe(1);
  });

  it('a 2xx confirms the dialog and reaches the app (which sends the ACK)', () => {
    const { uac, frames, dialogs, out } = setup();
    uac.onResponse(response(200, 'OK', 'rb'), PEER);
    expect(dialogs.get('uac-unit-1;from-tag=la')?.state).toBe('confirmed');
    expect(frames).toHaveLength(1);
    expect(out()).toEqual(['INVITE sip:bob@127.0.0.1:5080 SIP/2.0']);
  });

  it('a non-2xx is ACKed by the transaction itself (same branch) and reported once', () => {
    const { uac, frames, wire } = setup();
    uac.onResponse(response(486, 'Busy Here', 'rb'), PEER);
    const ack = wire.sent.at(-1)?.text ?? '';
    expect(ack).toMatch(/^ACK sip:bob@127\.0\.0\.1:5080 SIP\/2\.0\r\n/);
    expect(ack).toContain(`branch=${BRANCH}`);
    expect(frames).toHaveLength(1);
    uac.onResponse(response(486, 'Busy Here', 'rb'), PEER); // retransmitted: ACK again, app not told again
    expect(wire.sent.filter((s) => s.text.startsWith('ACK ')).length).toBe(2);
    expect(frames).toHaveLength(1);
  });

  it('a CANCEL asked for before any provisional is sent on the first one, once', () => {
    const { uac, t, out } = setup();
    uac.sendCancel(t);
    expect(out().filter((l) => l.startsWith('CANCEL'))).toHaveLength(0);
    uac.onResponse(response(100, 'Trying'), PEER);
    expect(out().filter((l) => l.startsWith('CANCEL'))).toEqual(['CANCEL sip:bob@127.0.0.1:5080 SIP/2.0']);
    uac.onResponse(response(180, 'Ringing', 'rb'), PEER);
    expect(out().filter((l) => l.startsWith('CANCEL'))).toHaveLength(1);
  });

  it('no answer: timer B reports a 408 to the app and the transaction ends', () => {
    const { clock, frames, txns } = setup();
    clock.advance(64 * 500 + 1);
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatch(/\r\nSIP\/2\.0 408 Request Timeout\r\n/);
    expect(txns.clientCount).toBe(0);
  });

  it('an in-dialog BYE sent as bytes only (no request kept): timer F still reports a 408 built from those bytes', () => {
    const { uac, clock, frames, txns } = setup();
    clock.advance(64 * 500 + 1); // the INVITE's own 408 first
    const bye = [
      'BYE sip:bob@127.0.0.1:5080 SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bK-bye-1',
      'Max-Forwards: 70',
      'From: <sip:alice@127.0.0.1>;tag=la',
      'To: <sip:bob@127.0.0.1>;tag=rb',
      'Call-ID: uac-unit-1',
      'CSeq: 2 BYE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const app = { closed: false, send: (rest: string, body?: Buffer) => (frames.push(rest + (body?.toString('utf8') ?? '')), 'id') } as unknown as AppConnection;
    const t = uac.newClientTxn('BYE', 'z9hG4bK-bye-1', undefined, Buffer.from(bye), DEST, app, '');
    uac.startClient(t);
    clock.advance(64 * 500 + 1);
    expect(frames).toHaveLength(2);
    expect(frames[1]).toMatch(/\r\nSIP\/2\.0 408 Request Timeout\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.1:5060;rport;branch=z9hG4bK-bye-1\r\n/);
    expect(frames[1]).toMatch(/\r\nCSeq: 2 BYE\r\n/);
    expect(txns.clientCount).toBe(0);
  });
});
