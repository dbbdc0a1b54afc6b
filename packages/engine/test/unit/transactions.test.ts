import { describe, expect, it } from 'vitest';
import type { Dialog } from '../../src/dialog/dialog.js';
import { DialogTable } from '../../src/dialog/table.js';
import { ClientTransaction, type ClientTimeout } from '../../src/transaction/client.js';
import { collectGarbage } from '../../src/memory.js';
import { Retransmitter } from '../../src/transaction/retransmit.js';
import { ServerTransaction } from '../../src/transaction/server.js';
import type { Dest } from '../../src/transaction/types.js';
import { FakeClock, FakeTransport, TCP, TIMERS, UDP } from './txn-fakes.js';

const B = (s: string): Buffer => Buffer.from(s);

function server(method: string, dest: Dest = UDP) {
  const clock = new FakeClock();
  const tp = new FakeTransport(clock);
  let terminated = 0;
  const t = new ServerTransaction(
    { id: 'st', key: 'k', method, dest, timers: TIMERS, clock, transport: tp, tuTimeoutMs: 64000, proceedingLimitMs: 600000, onTerminated: () => terminated++ },
    {},
  );
  return { t, clock, tp, terminated: () => terminated };
}

/** An INVITE server transaction whose stack 100 Trying waits `delay` ms for the TU (RFC 3261 §17.2.1). */
function delayedInvite(delay: number, dest: Dest = UDP) {
  const clock = new FakeClock();
  const tp = new FakeTransport(clock);
  let terminated = 0;
  let built = 0;
  const trying = (): Buffer => (built++, B('100'));
  const t = new ServerTransaction(
    { id: 'st', key: 'k', method: 'INVITE', dest, timers: TIMERS, clock, transport: tp, tuTimeoutMs: 64000, proceedingLimitMs: 600000, trying, tryingDelayMs: delay, onTerminated: () => terminated++ },
    {},
  );
  return { t, clock, tp, terminated: () => terminated, built: () => built };
}

function client(method: string, dest: Dest = UDP) {
  const clock = new FakeClock();
  const tp = new FakeTransport(clock);
  let terminated = 0;
  const timeouts: ClientTimeout[] = [];
  const t = new ClientTransaction(
    { id: 'ct', branch: 'z9hG4bKx', method, dest, bytes: B('REQ'), timers: TIMERS, clock, transport: tp, timerCMs: 181000, onTimeout: (x) => timeouts.push(x), onTerminated: () => terminated++ },
    {},
  );
  return { t, clock, tp, timeouts, terminated: () => terminated };
}

describe('Retransmitter', () => {
  it('doubles from the first interval up to the cap, until stopped', () => {
    const clock = new FakeClock();
    const at: number[] = [];
    const r = new Retransmitter(clock, () => at.push(clock.now));
    r.start(500, 4000);
    clock.advance(20000);
    expect(at).toEqual([500, 1500, 3500, 7500, 11500, 15500, 19500]);
    r.stop();
    clock.advance(20000);
    expect(at).toHaveLength(7);
    expect(clock.pending).toBe(0);
  });
});

describe('INVITE server transaction', () => {
  it('trying → proceeding with the stack 100; the TU timer drops it silently when the app never answers', () => {
    const { t, clock, tp, terminated } = server('INVITE');
    expect(t.state).toBe('trying');
    expect(t.onRequestRetransmission()).toBe(false); // nothing to re-send yet
    t.sendTrying(B('100'));
    expect(t.state).toBe('proceeding');
    expect(t.onRequestRetransmission()).toBe(true);
    expect(tp.times('100')).toEqual([0, 0]);
    clock.advance(63999);
    expect(terminated()).toBe(0);
    clock.advance(1);
    expect(t.state).toBe('terminated');
    expect(terminated()).toBe(1);
    expect(tp.sent).toHaveLength(2); // no response when the app never answered
  });

  it('delayed 100 Trying: a TU answering within the delay makes it unnecessary (one datagram less, never built)', () => {
    const { t, clock, tp, built } = delayedInvite(100);
    expect(clock.pending).toBe(1); // one timer, as without the delay
    clock.advance(99);
    t.sendProvisional(B('180'));
    clock.advance(1000);
    expect(tp.sent.map((s) => s.text)).toEqual(['180']);
    expect(built()).toBe(0);
    t.sendFinal(200, B('200'));
    expect(tp.sent.map((s) => s.text)).toEqual(['180', '200']);
    const f = delayedInvite(100);
    f.clock.advance(50);
    f.t.sendFinal(486, B('486')); // a quick final: no 100 either
    f.clock.advance(200);
    expect(f.tp.times('100')).toEqual([]);
    expect(f.built()).toBe(0);
  });

  it('delayed 100 Trying: sent after the delay when the TU is slow, well before timer A; the TU timer still ends a silent app at 64 s', () => {
    const { t, clock, tp, terminated, built } = delayedInvite(100);
    clock.advance(99);
    expect(t.state).toBe('trying');
    expect(tp.sent).toHaveLength(0);
    clock.advance(1);
    expect(t.state).toBe('proceeding');
    expect(tp.times('100')).toEqual([100]);
    expect(clock.pending).toBe(1);
    expect(t.onRequestRetransmission()).toBe(true); // a retransmission now gets the 100 again
    expect(tp.times('100')).toEqual([100, 100]);
    expect(tp.retransmissions).toBe(1);
    clock.advance(64000 - 101);
    expect(terminated()).toBe(0);
    clock.advance(1);
    expect(terminated()).toBe(1);
    expect(built()).toBe(1);
    expect(tp.sent).toHaveLength(2);
  });

  it('delayed 100 Trying: a retransmission before it is absorbed and answered with the 100 at once (the UAC timer A fired)', () => {
    const { t, clock, tp, built } = delayedInvite(200);
    clock.advance(50);
    expect(t.onRequestRetransmission()).toBe(true);
    expect(t.state).toBe('proceeding');
    expect(tp.times('100')).toEqual([50]);
    clock.advance(1000); // the delay timer is gone: no second 100
    expect(tp.times('100')).toEqual([50]);
    expect(built()).toBe(1);
    t.sendProvisional(B('180'));
    expect(t.onRequestRetransmission()).toBe(true); // then the latest provisional, as always
    expect(tp.sent.map((s) => s.text)).toEqual(['100', '180', '180']);
  });

  it('delayed 100 Trying over TCP too, and delay 0 sends it at once; CANCEL-style termination leaves nothing due', () => {
    const c = delayedInvite(100, TCP);
    c.clock.advance(100);
    expect(c.tp.times('100')).toEqual([100]);
    const z = delayedInvite(0);
    expect(z.tp.times('100')).toEqual([0]);
    expect(z.t.state).toBe('proceeding');
    const x = delayedInvite(100);
    x.clock.advance(10);
    x.t.terminate();
    x.clock.advance(100000);
    expect(x.tp.sent).toHaveLength(0);
    expect(x.clock.pending).toBe(0);
  });

  it('a TU provisional replaces the TU timer by the proceeding limit', () => {
    const { t, clock, terminated } = server('INVITE');
    t.sendTrying(B('100'));
    clock.advance(1000);
    t.sendProvisional(B('180'));
    clock.advance(100000);
    expect(t.state).toBe('proceeding');
    clock.advance(500000);
    expect(terminated()).toBe(1);
  });

  it('300-699 over UDP: completed, timer G (T1 doubling to T2) until the ACK, then confirmed and timer I', () => {
    const { t, clock, tp, terminated } = server('INVITE');
    t.sendTrying(B('100'));
    t.sendFinal(486, B('486'));
    expect(t.state).toBe('completed');
    expect(t.finalStatus).toBe(486);
    clock.advance(8000);
    expect(tp.times('486')).toEqual([0, 500, 1500, 3500, 7500]);
    expect(t.onRequestRetransmission()).toBe(true); // INVITE retransmission: the 486 again
    expect(t.onAck()).toBe(true);
    expect(t.state).toBe('confirmed');
    expect(t.onAck()).toBe(true); // a retransmitted ACK is absorbed
    clock.advance(20000);
    expect(tp.times('486')).toHaveLength(6); // no more G after the ACK
    expect(t.state).toBe('terminated');
    expect(clock.now).toBeGreaterThan(0);
    expect(terminated()).toBe(1);
  });

  it('timer I is T4 over UDP and 0 over TCP', () => {
    const u = server('INVITE');
    u.t.sendFinal(404, B('404'));
    u.t.onAck();
    u.clock.advance(4999);
    expect(u.t.state).toBe('confirmed');
    u.clock.advance(1);
    expect(u.t.state).toBe('terminated');
    const c = server('INVITE', TCP);
    c.t.sendFinal(404, B('404'));
    c.clock.advance(10000);
    expect(c.tp.times('404')).toEqual([0]); // no timer G over TCP
    expect(c.t.state).toBe('completed');
    c.t.onAck();
    c.clock.advance(0);
    expect(c.t.state).toBe('terminated');
  });

  it('timer H: no ACK in 64·T1 ends the transaction', () => {
    const { t, clock, terminated } = server('INVITE');
    t.sendFinal(500, B('500'));
    clock.advance(64 * 500 - 1);
    expect(t.state).toBe('completed');
    clock.advance(1);
    expect(t.state).toBe('terminated');
    expect(terminated()).toBe(1);
  });

  it('2xx: accepted (RFC 6026), the 2xx re-sent on a retransmitted INVITE, ACKs left to the dialog, timer L', () => {
    const { t, clock, tp } = server('INVITE');
    t.sendTrying(B('100'));
    t.sendFinal(200, B('200'));
    expect(t.state).toBe('accepted');
    clock.advance(10000);
    expect(tp.times('200')).toEqual([0]); // the transaction does not retransmit a 2xx
    expect(t.onRequestRetransmission()).toBe(true);
    expect(t.onAck()).toBe(false);
    clock.advance(64 * 500);
    expect(t.state).toBe('terminated');
  });

  it('2xx acknowledged (its dialog got the ACK): the 2xx is let go and a late retransmitted INVITE is absorbed', () => {
    const { t, clock, tp } = server('INVITE');
    t.sendFinal(200, B('200'));
    t.acknowledged();
    expect(t.lastResponse).toBeUndefined();
    expect(t.onRequestRetransmission()).toBe(false);
    expect(tp.times('200')).toEqual([0]);
    expect(t.state).toBe('accepted'); // timer L still runs
    clock.advance(64 * 500);
    expect(t.state).toBe('terminated');
  });

  it('acknowledged() outside Accepted changes nothing (a non-2xx keeps its response for timer G)', () => {
    const { t } = server('INVITE');
    t.sendFinal(486, B('486'));
    t.acknowledged();
    expect(t.lastResponse?.toString()).toBe('486');
  });

  it('a final response is sent once; later ones are ignored', () => {
    const { t, tp } = server('INVITE');
    t.sendFinal(486, B('486'));
    t.sendFinal(200, B('200'));
    t.sendProvisional(B('180'));
    expect(tp.sent.map((s) => s.text)).toEqual(['486']);
    expect(t.finalStatus).toBe(486);
  });
});

describe('INVITE server transaction memory', () => {
  it('lets go of the delayed 100 Trying builder (and the request it holds) once a response went out', async () => {
    const clock = new FakeClock();
    const tp = new FakeTransport(clock);
    let ref: WeakRef<object> | undefined;
    // as in uas.ts: the builder is made where the request is, the transaction (and its callbacks) elsewhere
    const txn = (trying: () => Buffer): ServerTransaction =>
      new ServerTransaction(
        { id: 'st', key: 'k', method: 'INVITE', dest: UDP, timers: TIMERS, clock, transport: tp, tuTimeoutMs: 64000, proceedingLimitMs: 600000, trying, tryingDelayMs: 100, onTerminated: () => undefined },
        {},
      );
    const make = (): ServerTransaction => {
      const req = { headers: new Array(1000).fill('x') };
      ref = new WeakRef(req);
      return txn((): Buffer => B(`100 ${req.headers.length}`));
    };
    const t = make();
    t.sendFinal(200, B('200'));
    expect(t.state).toBe('accepted'); // timer L: the transaction lives on for 64·T1
    await new Promise((r) => setImmediate(r)); // a WeakRef's target is kept until the end of the job that made it
    collectGarbage();
    expect(ref?.deref()).toBeUndefined();
  });

  it("keeps a key of its own, not a view of the request's text (1,000 keys cut from 64 KB texts)", async () => {
    const clock = new FakeClock();
    const tp = new FakeTransport(clock);
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const kept: ServerTransaction[] = [];
    for (let i = 0; i < 1000; i++) {
      // as serverKey makes it: the branch cut out of the decoded request (a V8 view of it), joined with host and method
      const text = `INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-${i}-abcdefgh\r\n${'x'.repeat(65536)}`;
      const at = text.indexOf('branch=') + 7;
      const key = `${text.slice(at, text.indexOf('\r\n', at))}|192.0.2.1|INVITE`;
      kept.push(
        new ServerTransaction({ id: `st${i}`, key, method: 'INVITE', dest: UDP, timers: TIMERS, clock, transport: tp, tuTimeoutMs: 64000, proceedingLimitMs: 600000, onTerminated: () => undefined }, {}),
      );
    }
    await new Promise((r) => setImmediate(r));
    collectGarbage();
    const grown = process.memoryUsage().heapUsed - before;
    expect(kept[999]?.key).toBe('z9hG4bK-999-abcdefgh|192.0.2.1|INVITE');
    expect(grown).toBeLessThan(16 * 1024 * 1024); // the texts: 64 MB
    for (const t of kept) t.stop();
  });

  it('keeps its final response in memory of its own, not as a view of a shared pool slab', () => {
    const { t, tp } = server('INVITE');
    const pooled = B('SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n'); // small: a view of Node's 8 KiB pool
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length);
    t.sendFinal(486, pooled);
    expect(tp.sent.map((x) => x.text)).toEqual([pooled.toString()]);
    expect(t.lastResponse?.equals(pooled)).toBe(true);
    expect(t.lastResponse?.buffer.byteLength).toBe(pooled.length);
  });
});

describe('non-INVITE server transaction', () => {
  it('trying absorbs retransmissions silently; final → completed; timer J (64·T1 over UDP)', () => {
    const { t, clock, tp, terminated } = server('OPTIONS');
    expect(t.onRequestRetransmission()).toBe(false);
    t.sendProvisional(B('183'));
    expect(t.state).toBe('proceeding');
    t.sendFinal(200, B('200'));
    expect(t.state).toBe('completed');
    expect(t.onRequestRetransmission()).toBe(true);
    expect(t.onAck()).toBe(false);
    clock.advance(64 * 500 - 1);
    expect(t.state).toBe('completed');
    clock.advance(1);
    expect(terminated()).toBe(1);
    expect(tp.times('200')).toEqual([0, 0]); // the original and the one re-sent; no timer G
  });

  it('timer J is 0 over TCP', () => {
    const { t, clock } = server('REGISTER', TCP);
    t.sendFinal(200, B('200'));
    clock.advance(0);
    expect(t.state).toBe('terminated');
  });

  it('terminate is idempotent and stops every timer', () => {
    const { t, clock, terminated } = server('INVITE');
    t.sendFinal(486, B('486'));
    t.terminate();
    t.terminate();
    expect(terminated()).toBe(1);
    expect(clock.pending).toBe(0);
  });
});

describe('INVITE client transaction', () => {
  it('calling: timer A over UDP (T1 doubling, no cap), timer B after 64·T1', () => {
    const { t, clock, tp, timeouts } = client('INVITE');
    t.start();
    clock.advance(64 * 500 - 1);
    expect(tp.times('REQ')).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(timeouts).toEqual([]);
    clock.advance(1);
    expect(timeouts).toEqual(['B']);
  });

  it('a provisional: proceeding, retransmissions and timer B stop, timer C runs', () => {
    const { t, clock, tp, timeouts } = client('INVITE');
    t.start();
    clock.advance(600);
    expect(t.receive(180)).toBe('provisional');
    expect(t.state).toBe('proceeding');
    expect(t.receive(183)).toBe('provisional');
    clock.advance(100000);
    expect(tp.times('REQ')).toEqual([0, 500]);
    expect(timeouts).toEqual([]);
    clock.advance(81000);
    expect(timeouts).toEqual(['C']);
  });

  it('a non-2xx final: completed, the ACK sent once and again on each retransmission, timer D 32 s', () => {
    const { t, clock, tp, terminated } = client('INVITE');
    t.start();
    let built = 0;
    const ack = (): Buffer => {
      built++;
      return B('ACK');
    };
    expect(t.receive(486, ack)).toBe('final');
    expect(t.state).toBe('completed');
    expect(t.receive(486, ack)).toBe('retransmission');
    expect(built).toBe(1);
    expect(tp.times('ACK')).toEqual([0, 0]);
    expect(t.receive(180)).toBe('retransmission');
    clock.advance(31999);
    expect(t.state).toBe('completed');
    clock.advance(1);
    expect(terminated()).toBe(1);
    expect(tp.times('REQ')).toEqual([0]);
  });

  it('timer D is 0 over TCP, and nothing is retransmitted over TCP', () => {
    const { t, clock, tp } = client('INVITE', TCP);
    t.start();
    clock.advance(20000);
    expect(tp.times('REQ')).toEqual([0]);
    t.receive(404, () => B('ACK'));
    clock.advance(0);
    expect(t.state).toBe('terminated');
  });

  it('a 2xx: accepted (RFC 6026); the 2xx again is a retransmission for the dialog; timer M', () => {
    const { t, clock } = client('INVITE');
    t.start();
    t.receive(100);
    expect(t.bytes.toString()).toBe('REQ');
    expect(t.receive(200)).toBe('final');
    expect(t.state).toBe('accepted');
    expect(t.bytes).toHaveLength(0); // the request is released at the final response
    expect(t.receive(200)).toBe('retransmission');
    clock.advance(64 * 500);
    expect(t.state).toBe('terminated');
  });

  it('holdFor keeps it to absorb answers, with no more timeouts', () => {
    const { t, clock, timeouts } = client('INVITE');
    t.start();
    t.receive(180);
    t.holdFor(1000);
    expect(t.receive(487, () => B('ACK'))).toBe('final');
    clock.advance(200000);
    expect(timeouts).toEqual([]);
    expect(t.state).toBe('terminated');
  });
});

describe('non-INVITE client transaction', () => {
  it('trying: timer E (T1 doubling to T2), timer F after 64·T1', () => {
    const { t, clock, tp, timeouts } = client('OPTIONS');
    t.start();
    clock.advance(64 * 500);
    expect(tp.times('REQ')).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(timeouts).toEqual(['F']);
  });

  it('a provisional: proceeding, retransmissions every T2', () => {
    const { t, clock, tp } = client('BYE');
    t.start();
    clock.advance(600);
    expect(t.receive(100)).toBe('provisional');
    expect(t.state).toBe('proceeding');
    clock.advance(9000);
    expect(tp.times('REQ')).toEqual([0, 500, 4600, 8600]);
  });

  it('a final: completed, no retransmission after it (the CANCEL bug of issue 19), timer K = T4', () => {
    const { t, clock, tp, terminated } = client('CANCEL');
    t.start();
    clock.advance(100);
    expect(t.receive(200)).toBe('final');
    expect(t.state).toBe('completed');
    expect(t.receive(200)).toBe('retransmission');
    clock.advance(4899);
    expect(t.state).toBe('completed');
    clock.advance(100000);
    expect(tp.times('REQ')).toEqual([0]);
    expect(terminated()).toBe(1);
  });

  it('timer K is 0 over TCP', () => {
    const { t, clock } = client('REGISTER', TCP);
    t.start();
    t.receive(401);
    clock.advance(0);
    expect(t.state).toBe('terminated');
  });
});

describe('dialog table: waiting for the ACK of a 2xx (RFC 6026)', () => {
  const dialog = (id: string, role: 'uas' | 'uac', localTag: string): Dialog => ({
    id, role, callId: 'c', localTag, remoteTag: 'r', localUri: '', remoteUri: '', remoteTarget: '', routeSet: [], localSeq: 1,
    remoteSeq: 1, localContact: '', app: undefined, dest: UDP, state: 'confirmed', isInvite: true, ackWait: undefined,
    inviteTxnId: '', inviteCSeq: 1, lastAck: undefined, byeAfterAck: false, created: 0,
  });

  it('retransmits the 2xx over UDP until the ACK stops it', () => {
    const clock = new FakeClock();
    const tp = new FakeTransport(clock);
    const table = new DialogTable({ clock, timers: TIMERS, transport: tp });
    const d = dialog('c;from-tag=r', 'uas', 'l');
    table.add(d);
    let gaveUp = 0;
    table.startAckWait(d, 'txn', 1, B('200'), UDP, () => gaveUp++);
    clock.advance(4000);
    expect(tp.times('200')).toEqual([500, 1500, 3500]);
    table.stopAckWait(d);
    clock.advance(60000);
    expect(tp.times('200')).toHaveLength(3);
    expect(gaveUp).toBe(0);
  });

  it('gives up after 64·T1 without an ACK; over TCP nothing is retransmitted', () => {
    const clock = new FakeClock();
    const tp = new FakeTransport(clock);
    const table = new DialogTable({ clock, timers: TIMERS, transport: tp });
    const d = dialog('c;from-tag=r', 'uas', 'l');
    table.add(d);
    let gaveUp = 0;
    table.startAckWait(d, 'txn', 1, B('200'), TCP, () => gaveUp++);
    clock.advance(64 * 500);
    expect(gaveUp).toBe(1);
    expect(tp.sent).toHaveLength(0);
    expect(d.ackWait).toBeUndefined();
  });

  it('finds in-dialog requests by either id form and removes dialogs idempotently', () => {
    const clock = new FakeClock();
    const table = new DialogTable({ clock, timers: TIMERS, transport: new FakeTransport(clock) });
    const uas = dialog('c;from-tag=them', 'uas', 'me');
    const uac = dialog('c2;from-tag=me2', 'uac', 'me2');
    table.add(uas);
    table.add(uac);
    expect(table.find('c', 'them', 'me')).toBe(uas);
    expect(table.find('c2', 'them2', 'me2')).toBe(uac);
    expect(table.forResponse('c2', 'me2', 'them2')).toBe(uac);
    table.remove(uas);
    table.remove(uas);
    expect(table.size).toBe(1);
    expect(uas.state).toBe('terminated');
  });
});
