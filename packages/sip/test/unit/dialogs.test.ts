import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { LocalDialogRegistry, parseReplaces } from '../../src/call/dialogs.js';
import { holdEarlyRequests, replayEarlyRequests, sessionTimerOf, type SrfDialog } from '../../src/call/srf-io.js';
import type { BridgedLeg } from '../../src/call/types.js';

describe('parseReplaces', () => {
  it.each([
    ['<sip:1004@x.test?Replaces=abc%40h%3Bto-tag%3Dt1%3Bfrom-tag%3Df1>', { callId: 'abc@h', toTag: 't1', fromTag: 'f1' }],
    ['<sip:1004@x.test?Replaces=abc%3Bfrom-tag%3Df1%3Bto-tag%3Dt1>', { callId: 'abc', toTag: 't1', fromTag: 'f1' }],
    ['<sip:1004@x.test?foo=1&replaces=abc;to-tag=t1;from-tag=f1>', { callId: 'abc', toTag: 't1', fromTag: 'f1' }],
    ['<sip:1004@x.test?Replaces=abc%3Bto-tag%3Dt1%3Bfrom-tag%3Df1%3Bearly-only>', { callId: 'abc', toTag: 't1', fromTag: 'f1' }],
  ])('%s', (referTo, want) => {
    expect(parseReplaces(referTo)).toEqual(want);
  });
  it.each([
    '<sip:1004@x.test>',
    '<sip:1004@x.test?Replaces=abc%3Bto-tag%3Dt1>',
    '<sip:1004@x.test?Replaces=%3Bto-tag%3Dt1%3Bfrom-tag%3Df1>',
    '<sip:1004@x.test?Replaces=%E0%A4%A>',
  ])('rejects %s', (referTo) => {
    expect(parseReplaces(referTo)).toBeUndefined();
  });
});

describe('LocalDialogRegistry', () => {
  const leg = (callId: string, localTag: string, remoteTag: string): BridgedLeg => ({ key: { callId, localTag, remoteTag }, takeOver: () => undefined });

  it('finds a leg by Replaces (to-tag = Kumo’s local tag), per tenant, and forgets it', () => {
    const reg = new LocalDialogRegistry();
    const a = leg('c1', 'kumo1', 'phone1');
    const off = reg.forTenant('t1').add(a, leg('c2', 'kumo2', 'phone2'));
    expect(reg.forTenant('t1').find({ callId: 'c1', toTag: 'kumo1', fromTag: 'phone1' })).toEqual({ kind: 'found', leg: a });
    expect(reg.forTenant('t1').find({ callId: 'c1', toTag: 'phone1', fromTag: 'kumo1' })).toEqual({ kind: 'none' });
    expect(reg.forTenant('t2').find({ callId: 'c1', toTag: 'kumo1', fromTag: 'phone1' })).toEqual({ kind: 'other-tenant' });
    expect(reg.list().map((e) => e.peerKey)).toEqual(['c2;kumo2;phone2', 'c1;kumo1;phone1']);
    off();
    expect(reg.size).toBe(0);
    expect(reg.forTenant('t1').find({ callId: 'c1', toTag: 'kumo1', fromTag: 'phone1' })).toEqual({ kind: 'none' });
  });
});

describe('sessionTimerOf (RFC 4028, from the 2xx of a dialog Kumo started)', () => {
  const dialog = (h: Record<string, string>, type: 'uac' | 'uas' = 'uac') => ({ type, res: { get: (n: string) => h[n] } });
  it.each([
    [{ 'Session-Expires': '1800;refresher=uac', Allow: 'INVITE, ACK, BYE, UPDATE' }, { expiresS: 1800, kumoRefreshes: true, update: true }],
    [{ 'Session-Expires': '90 ; refresher=UAS' }, { expiresS: 90, kumoRefreshes: false, update: false }],
    [{ 'Session-Expires': '600' }, { expiresS: 600, kumoRefreshes: true, update: false }],
    [{ 'Session-Expires': 'soon' }, undefined],
    [{ 'Session-Expires': '0;refresher=uac' }, undefined],
    [{}, undefined],
  ])('%j → %j', (h, want) => {
    expect(sessionTimerOf(dialog(h))).toEqual(want);
  });
  it('a dialog Kumo answered (the caller side) has none of its own', () => {
    expect(sessionTimerOf(dialog({ 'Session-Expires': '1800;refresher=uac' }, 'uas'))).toBeUndefined();
  });
});

describe('in-dialog requests before the bridge (held, then replayed)', () => {
  it('a REFER that arrives before the transfer handler is attached reaches it once the legs are bridged', () => {
    const d = new EventEmitter() as unknown as SrfDialog;
    const emitter = d as unknown as EventEmitter;
    holdEarlyRequests(d);
    // drachtio-srf answers 200 itself when nobody listens; the hold is a listener, so it emits.
    expect(emitter.listenerCount('refer')).toBe(1);
    const req = { get: () => '<sip:1004@x.test>' };
    const res = { send: () => undefined };
    emitter.emit('refer', req, res);
    const seen: unknown[] = [];
    d.on('refer', (q, r) => seen.push(q, r));
    replayEarlyRequests(d);
    expect(seen).toEqual([req, res]);
    expect(emitter.listenerCount('refer')).toBe(1);
    replayEarlyRequests(d); // idempotent
    expect(seen).toHaveLength(2);
  });

  it('a re-INVITE right after the ACK (srf answers one nobody listens to at once) waits for the relay, in order with a REFER', () => {
    const d = Object.assign(new EventEmitter(), { local: { sdp: 'v=0 local' } }) as unknown as SrfDialog;
    const emitter = d as unknown as EventEmitter;
    holdEarlyRequests(d);
    holdEarlyRequests(d); // once
    expect(emitter.listenerCount('modify')).toBe(1);
    const reinvite = { res: { send: () => undefined } };
    const refer = { res: { send: () => undefined } };
    emitter.emit('modify', 'reinvite', reinvite.res);
    emitter.emit('refer', 'refer', refer.res);
    const seen: string[] = [];
    d.on('modify', (q) => seen.push(`modify:${String(q)}`));
    d.on('refer', (q) => seen.push(`refer:${String(q)}`));
    replayEarlyRequests(d);
    expect(seen).toEqual(['modify:reinvite', 'refer:refer']);
  });

  it('one nobody listens to after the replay is answered as srf would have: 200, a re-INVITE with the current SDP', () => {
    const d = Object.assign(new EventEmitter(), { local: { sdp: 'v=0 local' } }) as unknown as SrfDialog;
    holdEarlyRequests(d);
    const sent: unknown[][] = [];
    (d as unknown as EventEmitter).emit('modify', {}, { send: (...a: unknown[]) => sent.push(a) });
    (d as unknown as EventEmitter).emit('refer', {}, { send: (...a: unknown[]) => sent.push(a) });
    replayEarlyRequests(d);
    expect(sent).toEqual([[200, { body: 'v=0 local', headers: { 'Content-Type': 'application/sdp' } }], [200]]);
  });
});
