import { describe, expect, it } from 'vitest';
import { parseMessage, type SipRequest } from '../../src/index.js';
import { TransactionTable, ackKey, serverKey, type TableTxn } from '../../src/transaction/table.js';

function req(lines: string[]): SipRequest {
  const r = parseMessage(Buffer.from([...lines, 'Content-Length: 0', '', ''].join('\r\n')));
  if (!r.ok || r.msg.isResponse) throw new Error('bad request');
  return r.msg;
}

const head = (method: string, via: string, cseq = `1 ${method}`): string[] => [
  `${method} sip:bob@b.example SIP/2.0`,
  `Via: ${via}`,
  'From: <sip:a@a.example>;tag=fa',
  'To: <sip:bob@b.example>',
  'Call-ID: c9',
  `CSeq: ${cseq}`,
];

class Txn implements TableTxn {
  stopped = 0;
  constructor(
    readonly id: string,
    readonly key: string,
  ) {}
  stop(): void {
    this.stopped++;
  }
}

describe('transaction matching keys (RFC 3261 §17.2.3)', () => {
  it('an RFC 3261 branch: branch, sent-by host and method; the ACK and CANCEL find their INVITE with method INVITE', () => {
    const inv = req(head('INVITE', 'SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKabc'));
    const ack = req(head('ACK', 'SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKabc', '1 ACK'));
    const cancel = req(head('CANCEL', 'SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKabc', '1 CANCEL'));
    expect(serverKey(inv, 'INVITE')).toBe('z9hG4bKabc|192.0.2.9|INVITE');
    expect(serverKey(ack, 'INVITE')).toBe(serverKey(inv, 'INVITE'));
    expect(serverKey(cancel, 'INVITE')).toBe(serverKey(inv, 'INVITE'));
    expect(serverKey(cancel, 'CANCEL')).not.toBe(serverKey(inv, 'INVITE'));
    // the same branch from another host is another transaction
    expect(serverKey(req(head('INVITE', 'SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKabc')), 'INVITE')).not.toBe(serverKey(inv, 'INVITE'));
  });

  it('an RFC 2543 peer (no magic cookie): Call-ID, CSeq number and From-tag', () => {
    const inv = req(head('INVITE', 'SIP/2.0/UDP 192.0.2.9;branch=old1'));
    expect(serverKey(inv, 'INVITE')).toBe('c9|1|fa|INVITE');
    expect(ackKey(inv)).toBe('c9|1|fa');
  });
});

describe('TransactionTable', () => {
  it('finds server transactions by key, id and ACK key; a CANCEL’s (untracked) by key only', () => {
    const t = new TransactionTable<Txn, Txn>();
    const inv = new Txn('s1', 'k-inv');
    const can = new Txn('s2', 'k-can');
    t.addServer(inv, true, 'c9|1|fa');
    t.addServer(can, false, '');
    expect(t.server('k-inv')).toBe(inv);
    expect(t.serverById('s1')).toBe(inv);
    expect(t.inviteByAck('c9|1|fa')).toBe(inv);
    expect(t.server('k-can')).toBe(can);
    expect(t.serverById('s2')).toBeUndefined();
    expect(t.serverCount).toBe(1);
    t.removeServer(inv, 'c9|1|fa');
    t.removeServer(can, '');
    expect([t.server('k-inv'), t.serverById('s1'), t.inviteByAck('c9|1|fa'), t.server('k-can')]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('removing an old transaction leaves the one that took its key', () => {
    const t = new TransactionTable<Txn, Txn>();
    const a = new Txn('a', 'same');
    const b = new Txn('b', 'same');
    t.addServer(a, true, 'ak');
    t.addServer(b, true, 'ak');
    t.removeServer(a, 'ak');
    expect(t.server('same')).toBe(b);
    expect(t.inviteByAck('ak')).toBe(b);
    expect(t.serverById('b')).toBe(b);
    const c1 = new Txn('c1', 'br|INVITE');
    const c2 = new Txn('c2', 'br|INVITE');
    t.addClient(c1);
    t.addClient(c2);
    t.removeClient(c1);
    expect(t.client('br|INVITE')).toBe(c2);
    expect(t.clientById('c1')).toBeUndefined();
    expect(t.clientCount).toBe(1);
  });

  it('clear stops every transaction and forgets them', () => {
    const t = new TransactionTable<Txn, Txn>();
    const s = new Txn('s', 'ks');
    const c = new Txn('c', 'kc');
    t.addServer(s, true, '');
    t.addClient(c);
    t.clear();
    expect(s.stopped).toBeGreaterThan(0);
    expect(c.stopped).toBe(1);
    expect([t.serverCount, t.clientCount, t.server('ks'), t.client('kc')]).toEqual([0, 0, undefined, undefined]);
  });
});
