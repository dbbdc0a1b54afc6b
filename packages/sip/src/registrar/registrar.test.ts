import { describe, expect, it } from 'vitest';
import { cachedDirectory } from './directory-store.js';
import { parseContacts, parseSipUri } from './headers.js';
import { bindingId, planBindings, renderContacts } from './registrar.js';

const settings = { minExpires: 60, maxExpires: 3600, defaultExpires: 1800 };
function req(h: Record<string, string>) {
  const lower = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (n: string) => lower[n.toLowerCase()], source_address: '192.0.2.7', source_port: 5062, protocol: 'udp' };
}

describe('contact parsing', () => {
  it('reads several contacts, params, quoted names with commas', () => {
    const r = parseContacts('"Desk, 1" <sip:1001@10.0.0.5:5062;transport=tcp>;expires=60;+sip.instance="<urn:uuid:abc>";reg-id=1, sip:1001@10.0.0.6;q=0.5');
    expect(r).toEqual({
      kind: 'list',
      contacts: [
        { uri: 'sip:1001@10.0.0.5:5062;transport=tcp', params: new Map([['expires', '60'], ['+sip.instance', '"<urn:uuid:abc>"'], ['reg-id', '1']]) },
        { uri: 'sip:1001@10.0.0.6', params: new Map([['q', '0.5']]) },
      ],
    });
  });
  it.each(['*', ' * '])('star %j', (h) => expect(parseContacts(h)).toEqual({ kind: 'star' }));
  it.each(['*, <sip:a@b>', '<sip:a@b', 'http://x', '<tel:123>'])('rejects %j', (h) => expect(parseContacts(h)).toBeNull());
  it('parses SIP URIs', () => {
    expect(parseSipUri('sip:1001@Demo.Kumo.Test:5060;transport=udp')).toEqual({ scheme: 'sip', user: '1001', host: 'demo.kumo.test', port: 5060 });
    expect(parseSipUri('sip:%31001@[::1]')).toEqual({ scheme: 'sip', user: '1001', host: '[::1]' });
    expect(parseSipUri('mailto:x')).toBeNull();
  });
});

describe('planBindings (RFC 3261 §10.3)', () => {
  it.each([
    { name: 'header Expires', h: { Contact: '<sip:1001@10.0.0.5>', Expires: '120' }, expires: [120] },
    { name: 'param wins over header', h: { Contact: '<sip:1001@10.0.0.5>;expires=300', Expires: '120' }, expires: [300] },
    { name: 'default when none', h: { Contact: '<sip:1001@10.0.0.5>' }, expires: [1800] },
    { name: 'capped at max', h: { Contact: '<sip:1001@10.0.0.5>', Expires: '99999' }, expires: [3600] },
    { name: 'zero removes', h: { Contact: '<sip:1001@10.0.0.5>;expires=0, <sip:1001@10.0.0.6>', Expires: '90' }, expires: [0, 90] },
  ])('$name', ({ h, expires }) => {
    const p = planBindings(req(h), settings);
    expect(p.kind).toBe('plan');
    if (p.kind === 'plan') expect(p.updates.map((u) => u.expires)).toEqual(expires);
  });

  it('423 with Min-Expires below the minimum', () => {
    expect(planBindings(req({ Contact: '<sip:1001@10.0.0.5>', Expires: '10' }), settings)).toMatchObject({
      kind: 'error', status: 423, headers: { 'Min-Expires': '60' },
    });
  });
  it.each([
    { h: { Contact: '*' }, status: 400 },
    { h: { Contact: '*', Expires: '60' }, status: 400 },
    { h: { Contact: '<sip:a@b>', Expires: 'soon' }, status: 400 },
    { h: { Contact: '<sip:a@b>;reg-id=x' }, status: 400 },
  ])('400 for $h', ({ h, status }) => expect(planBindings(req(h), settings)).toMatchObject({ kind: 'error', status }));

  it('wildcard and query', () => {
    expect(planBindings(req({ Contact: '*', Expires: '0' }), settings)).toEqual({ kind: 'plan', mode: 'wildcard', updates: [] });
    expect(planBindings(req({}), settings)).toEqual({ kind: 'plan', mode: 'query', updates: [] });
  });

  it('records source, user agent, instance; one id per device', () => {
    const h = { Contact: '<sip:1001@10.0.0.5:5062>;+sip.instance="<urn:uuid:A>";reg-id=1', 'User-Agent': 'Phone/1.0' };
    const p = planBindings(req(h), settings);
    if (p.kind !== 'plan') throw new Error('no plan');
    expect(p.updates[0]).toMatchObject({
      contact: 'sip:1001@10.0.0.5:5062', source: { address: '192.0.2.7', port: 5062, transport: 'udp' }, userAgent: 'Phone/1.0', instanceId: '<urn:uuid:A>', regId: 1,
    });
    // same device, new contact address → same binding id
    expect(bindingId({ uri: 'sip:1001@10.9.9.9', instanceId: '<urn:uuid:A>', regId: 1 })).toBe(p.updates[0]!.id);
    expect(bindingId({ uri: 'sip:1001@10.0.0.5:5062' })).not.toBe(p.updates[0]!.id);
  });

  it('renders remaining expiry per binding', () => {
    const b = { id: 'x', contact: 'sip:1001@h', source: { address: 'a', port: 1, transport: 'udp' }, expiresAt: 61_000, updatedAt: 0, callId: 'c', cseq: 1, instanceId: '<urn:uuid:A>', regId: 1 };
    expect(renderContacts([b], 1_000)).toBe('<sip:1001@h>;expires=60;+sip.instance="<urn:uuid:A>";reg-id=1');
  });
});

describe('cachedDirectory', () => {
  it('reuses tenant answers (hits and misses) for the TTL, then asks again', async () => {
    let calls = 0;
    let clock = 0;
    const inner = {
      tenantByDomain: (d: string) => {
        calls++;
        return Promise.resolve(d === 'a.test' ? { id: 'a', domain: d, status: 'active' as const } : undefined);
      },
      credentials: () => Promise.resolve(undefined),
    };
    const dir = cachedDirectory(inner, 1000, () => clock);
    expect(await dir.tenantByDomain('a.test')).toMatchObject({ id: 'a' });
    expect(await dir.tenantByDomain('a.test')).toMatchObject({ id: 'a' });
    expect(await dir.tenantByDomain('x.test')).toBeUndefined();
    expect(await dir.tenantByDomain('x.test')).toBeUndefined();
    expect(calls).toBe(2);
    clock = 1001;
    await dir.tenantByDomain('a.test');
    expect(calls).toBe(3);
  });
});
