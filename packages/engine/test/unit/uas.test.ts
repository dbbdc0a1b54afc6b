/**
 * The UAS half on its own: fake clock, a recording transport, a stand-in for the engine's public face and a fake app
 * connection. Each step of a request from the network, one case each.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '@kumo/runtime';
import type { AppConnection } from '../../src/control/server.js';
import { DialogTable } from '../../src/dialog/table.js';
import type { EngineCore, ClientTxn, ServerTxn } from '../../src/engine.js';
import { parseMessage, type SipRequest } from '../../src/index.js';
import { OverloadGuard } from '../../src/overload.js';
import { buildResponse } from '../../src/transaction/requests.js';
import { serverKey } from '../../src/transaction/table.js';
import { TransactionTable } from '../../src/transaction/table.js';
import type { LocalPoint, Peer } from '../../src/transport/types.js';
import { UasSide } from '../../src/uas.js';
import { FakeClock, FakeTransport, TIMERS } from './txn-fakes.js';

const LOCAL: LocalPoint = { proto: 'udp', host: '127.0.0.1', port: 5060, family: 4 };
const PEER: Peer = { proto: 'udp', addr: '127.0.0.1', port: 5070, local: LOCAL };

function req(method: string, opts: { user?: string; branch?: string; toTag?: string; cseq?: number } = {}): SipRequest {
  const lines = [
    `${method} sip:${opts.user ?? 'bob'}@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=${opts.branch ?? 'z9hG4bK-1'}`,
    'Max-Forwards: 70',
    'From: <sip:alice@127.0.0.1>;tag=fa',
    `To: <sip:bob@127.0.0.1>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
    'Call-ID: uas-unit-1',
    `CSeq: ${opts.cseq ?? 1} ${method}`,
    'Contact: <sip:alice@127.0.0.1:5070>',
    'Content-Length: 0',
    '',
    '',
  ];
  const r = parseMessage(Buffer.from(lines.join('\r\n')));
  if (!r.ok || r.msg.isResponse) throw new Error('bad request');
  return r.msg;
}

function setup(o: { pendingHigh?: number; tryingDelayMs?: number } = {}) {
  const clock = new FakeClock();
  const wire = new FakeTransport(clock);
  const frames: string[] = [];
  const app = { closed: false, send: (rest: string, body?: Buffer) => (frames.push(rest + (body?.toString('utf8') ?? '')), 'id') } as unknown as AppConnection;
  const overload = new OverloadGuard({ lagHighMs: 250, pendingHigh: o.pendingHigh ?? 1000, retryAfterS: 7, latencyHighMs: 0 }, clock, () => clock.now);
  const dialogs = new DialogTable({ clock, timers: TIMERS, transport: wire });
  const txns = new TransactionTable<ServerTxn, ClientTxn>();
  const core = {
    log: silentLogger(),
    overload,
    dialogs,
    control: { pick: () => app, routedMethods: () => ['INVITE', 'BYE'] },
    countOut: () => undefined,
    countResponseOut: () => undefined,
    removeDialog: (d: never) => dialogs.remove(d),
    engineBye: () => undefined,
    localContact: () => '<sip:127.0.0.1:5060>',
  } as unknown as EngineCore;
  const uas = new UasSide(core, {
    metrics: undefined,
    timers: TIMERS,
    clock,
    txns,
    owner: new Map(),
    txp: wire,
    policy: { supported: ['replaces'], forwarding: true },
    maxServerTxns: 100,
    appTimeoutMs: 64000,
    advertisedHost: undefined,
    neverShedUsers: new Set(['119']),
    tryingDelayMs: o.tryingDelayMs,
    send: (d, b) => wire.send(d, b),
  });
  const out = (): string[] => wire.sent.map((s) => s.text.split('\r\n')[0] ?? '');
  return { uas, wire, frames, txns, overload, clock, out };
}

describe('UasSide', () => {
  it('a new INVITE: 100 Trying at once, a server transaction, the request handed to the app', () => {
    const { uas, frames, txns, out } = setup();
    uas.onRequest(req('INVITE'), PEER);
    expect(out()).toEqual(['SIP/2.0 100 Trying']);
    expect(txns.serverCount).toBe(1);
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatch(/^sip\|network\|\d+\|udp\|127\.0\.0\.1\|5070\|/);
  });

  it('its retransmission is absorbed by the transaction: 100 Trying again, nothing more for the app', () => {
    const { uas, frames, txns, out } = setup();
    uas.onRequest(req('INVITE'), PEER);
    uas.onRequest(req('INVITE'), PEER);
    expect(out()).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 100 Trying']);
    expect(frames).toHaveLength(1);
    expect(txns.serverCount).toBe(1);
  });

  it('with a trying delay: an app answering within it gets no 100 Trying from the stack (one datagram less per call)', () => {
    const { uas, frames, txns, out, clock } = setup({ tryingDelayMs: 100 });
    const r = req('INVITE');
    uas.onRequest(r, PEER);
    expect(out()).toEqual([]); // the app sees the request first
    expect(frames).toHaveLength(1);
    clock.advance(40);
    const t = txns.server(serverKey(r, 'INVITE'));
    if (!t?.tu.req) throw new Error('no transaction');
    uas.sendFinal(t, buildResponse(t.tu.req, 486, undefined, 'tt'));
    clock.advance(400); // past the delay, before timer G re-sends the 486
    expect(out()).toEqual(['SIP/2.0 486 Busy Here']);
  });

  it('with a trying delay: a slow app still gets the 100 after the delay; a retransmission before it is answered with it at once', () => {
    const slow = setup({ tryingDelayMs: 100 });
    slow.uas.onRequest(req('INVITE'), PEER);
    slow.clock.advance(99);
    expect(slow.out()).toEqual([]);
    slow.clock.advance(1);
    expect(slow.wire.sent.map((x) => [x.at, x.text.split('\r\n')[0]])).toEqual([[100, 'SIP/2.0 100 Trying']]);
    expect(slow.wire.sent[0]?.text).toMatch(/\r\nTo: <sip:bob@127\.0\.0\.1>\r\n/); // no To-tag on a 100
    const re = setup({ tryingDelayMs: 100 });
    re.uas.onRequest(req('INVITE'), PEER);
    re.clock.advance(30);
    re.uas.onRequest(req('INVITE'), PEER); // retransmitted (timer A) before the delay ran out
    expect(re.wire.sent.map((x) => [x.at, x.text.split('\r\n')[0]])).toEqual([[30, 'SIP/2.0 100 Trying']]);
    expect(re.frames).toHaveLength(1);
    re.clock.advance(1000);
    expect(re.out()).toEqual(['SIP/2.0 100 Trying']); // not sent twice
    // CANCEL before the 100: 200 and 487, and no 100 afterwards
    const c = setup({ tryingDelayMs: 100 });
    c.uas.onRequest(req('INVITE'), PEER);
    c.uas.onRequest(req('CANCEL'), PEER);
    c.clock.advance(400);
    expect(c.out()).toEqual(['SIP/2.0 200 OK', 'SIP/2.0 487 Request Terminated']);
  });

  it('a non-2xx ACK with another branch (RFC 2543 peer) ends timer G: the INVITE is indexed by Call-ID|CSeq|From-tag only once it sent its 3xx-6xx', () => {
    const { uas, txns, out, clock } = setup();
    const r = req('INVITE', { branch: 'z9hG4bK-inv' });
    uas.onRequest(r, PEER);
    expect(txns.ackIndexed).toBe(0); // a call answered 2xx never needs the lenient match
    const t = txns.server(serverKey(r, 'INVITE'));
    if (!t?.tu.req) throw new Error('no transaction');
    uas.sendFinal(t, buildResponse(t.tu.req, 486, undefined, 'tt'));
    expect(txns.ackIndexed).toBe(1);
    uas.onRequest(req('ACK', { branch: 'z9hG4bK-ack-other', toTag: 'tt' }), PEER);
    expect(t.state).toBe('confirmed');
    clock.advance(2000); // no timer G retransmission after the ACK
    expect(out()).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 486 Busy Here']);
    clock.advance(64000);
    expect(txns.ackIndexed).toBe(0); // forgotten with the transaction
  });

  it('shedding: a new INVITE gets a stateless 503 with Retry-After and a kshed To-tag; no transaction, no app', () => {
    const { uas, frames, txns, overload, wire } = setup({ pendingHigh: 0 });
    overload.delivered(); // backlog over the limit: the backstop sheds
    uas.onRequest(req('INVITE', { branch: 'z9hG4bK-shed' }), PEER);
    const text = wire.sent[0]?.text ?? '';
    expect(text).toMatch(/^SIP\/2\.0 503 Service Unavailable\r\n/);
    expect(text).toMatch(/\r\nRetry-After: 7\r\n/);
    expect(text).toMatch(/\r\nTo: <sip:bob@127\.0\.0\.1>;tag=kshed/);
    expect(txns.serverCount).toBe(0);
    expect(frames).toHaveLength(0);
    // an emergency call is admitted all the same
    uas.onRequest(req('INVITE', { user: '119', branch: 'z9hG4bK-sos' }), PEER);
    expect(frames).toHaveLength(1);
  });

  it('an in-dialog request for no dialog: 481, statelessly', () => {
    const { uas, frames, txns, out } = setup();
    uas.onRequest(req('BYE', { toTag: 'nope', cseq: 2 }), PEER);
    expect(out()).toEqual(['SIP/2.0 481 Call/Transaction Does Not Exist']);
    expect(frames).toHaveLength(0);
    expect(txns.serverCount).toBe(0);
  });

  it('CANCEL of a pending INVITE: 200 to the CANCEL, 487 to the INVITE, the app told', () => {
    const { uas, frames, out } = setup();
    uas.onRequest(req('INVITE'), PEER);
    uas.onRequest(req('CANCEL'), PEER);
    expect(out()).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 200 OK', 'SIP/2.0 487 Request Terminated']);
    expect(frames).toHaveLength(2);
    expect(frames[1]).toMatch(/\r\nCANCEL sip:bob@127\.0\.0\.1 SIP\/2\.0/);
    // a CANCEL for nothing: 481
    uas.onRequest(req('CANCEL', { branch: 'z9hG4bK-other' }), PEER);
    expect(out().at(-1)).toBe('SIP/2.0 481 Call/Transaction Does Not Exist');
  });

  it('a request that fails the wire verdicts never reaches the app (Require of an unknown extension: 420)', () => {
    const { uas, frames, out } = setup();
    const r = req('INVITE', { branch: 'z9hG4bK-ext' });
    r.headers.append('Require', 'foo');
    uas.onRequest(r, PEER);
    expect(out()).toEqual(['SIP/2.0 420 Bad Extension']);
    expect(frames).toHaveLength(0);
  });
});
