import { afterAll, describe, expect, inject, it } from 'vitest';
import { AuthGuardStore, LocationStore, createRedis, keySchema, type BindingUpdate, type RegisterRequest } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';

const redis = createRedis(inject('redisUrl'));
afterAll(() => redis.disconnect());

function setup() {
  const keys = keySchema(uniquePrefix('reg'));
  return { keys, loc: new LocationStore(redis, keys), guard: new AuthGuardStore(redis, keys) };
}

const src = { address: '192.0.2.10', port: 5060, transport: 'udp' };
const upd = (id: string, expires: number, extra: Partial<BindingUpdate> = {}): BindingUpdate => ({
  id, expires, contact: `sip:1001@10.0.0.${id.length}:5060;x=${id}`, source: src, userAgent: 'Test/1', ...extra,
});
const reqOf = (r: Partial<RegisterRequest>): RegisterRequest => ({
  tenantId: 'acme', extension: '1001', callId: 'cid-1', cseq: 1, maxContacts: 3, policy: 'replace-oldest', mode: 'update', updates: [], ...r,
});

describe('LocationStore', () => {
  it('adds, refreshes and removes bindings atomically, with index and TTL', async () => {
    const { loc, keys } = setup();
    const r1 = await loc.register(reqOf({ updates: [upd('a', 60), upd('b', 120)] }));
    expect(r1.kind).toBe('ok');
    if (r1.kind !== 'ok') return;
    expect(r1.bindings.map((b) => b.id).sort()).toEqual(['a', 'b']);
    expect(r1.bindings[0]).toMatchObject({ source: src, userAgent: 'Test/1', callId: 'cid-1', cseq: 1 });
    expect(await loc.countBindings('acme')).toBe(2);
    const ttl = await redis.pttl(keys.tenant.regBindings('acme', '1001'));
    expect(ttl).toBeGreaterThan(110_000);
    expect(ttl).toBeLessThanOrEqual(120_000);

    // refresh a with higher CSeq; remove b
    const r2 = await loc.register(reqOf({ cseq: 2, updates: [upd('a', 300), upd('b', 0)] }));
    if (r2.kind !== 'ok') throw new Error(r2.kind);
    expect(r2.bindings.map((b) => b.id)).toEqual(['a']);
    expect(r2.bindings[0]!.expiresAt - r2.now).toBe(300_000);
    expect(await loc.countBindings('acme')).toBe(1);
    expect((await loc.contactsFor('acme', '1001')).map((b) => b.id)).toEqual(['a']);

    // same Call-ID, not-higher CSeq: refused, nothing changes
    expect(await loc.register(reqOf({ cseq: 2, updates: [upd('a', 0)] }))).toEqual({ kind: 'out-of-order' });
    expect(await loc.countBindings('acme')).toBe(1);

    // wildcard removes all; keys disappear
    const r3 = await loc.register(reqOf({ cseq: 3, mode: 'wildcard' }));
    expect(r3).toMatchObject({ kind: 'ok', bindings: [] });
    expect(await redis.exists(keys.tenant.regBindings('acme', '1001'), keys.tenant.regIndex('acme'))).toBe(0);
  });

  it('too many contacts: replace-oldest evicts the least recently refreshed; reject refuses', async () => {
    const { loc } = setup();
    await loc.register(reqOf({ updates: [upd('a', 60)] }));
    await new Promise((r) => setTimeout(r, 5));
    await loc.register(reqOf({ cseq: 2, updates: [upd('b', 60)] }));
    await new Promise((r) => setTimeout(r, 5));
    await loc.register(reqOf({ cseq: 3, updates: [upd('c', 60)] }));
    expect(await loc.register(reqOf({ cseq: 4, policy: 'reject', updates: [upd('d', 60)] }))).toEqual({ kind: 'too-many', max: 3 });
    const r = await loc.register(reqOf({ cseq: 5, updates: [upd('d', 60)] }));
    if (r.kind !== 'ok') throw new Error(r.kind);
    expect(r.evicted).toBe(1);
    expect(r.bindings.map((b) => b.id).sort()).toEqual(['b', 'c', 'd']);
    // a single request with more contacts than allowed is refused whatever the policy
    expect(await loc.register(reqOf({ extension: '1002', updates: ['p', 'q', 'r', 's'].map((i) => upd(i, 60)) }))).toEqual({ kind: 'too-many', max: 3 });
  });

  it('bindings vanish when they expire (real TTL)', async () => {
    const { loc, keys } = setup();
    await loc.register(reqOf({ updates: [upd('a', 1)] }));
    expect(await loc.contactsFor('acme', '1001')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await loc.contactsFor('acme', '1001')).toHaveLength(0);
    expect(await loc.countBindings('acme')).toBe(0);
    expect(await redis.exists(keys.tenant.regBindings('acme', '1001'))).toBe(0);
    expect(await redis.exists(keys.tenant.regIndex('acme'))).toBe(0);
  });

  it('lists per tenant by extension and force-unregisters', async () => {
    const { loc } = setup();
    await loc.register(reqOf({ extension: '1002', updates: [upd('a', 60)] }));
    await loc.register(reqOf({ extension: '1001', updates: [upd('a', 60), upd('b', 60)] }));
    const all = await loc.listTenant('acme');
    expect(all.entries.map((e) => [e.extension, e.bindings.length])).toEqual([['1001', 2], ['1002', 1]]);
    const p1 = await loc.listTenant('acme', { limit: 1 });
    expect(p1).toMatchObject({ next: '1001' });
    expect((await loc.listTenant('acme', { after: '1001' })).entries.map((e) => e.extension)).toEqual(['1002']);
    expect(await loc.unregister('acme', '1001', ['b'])).toBe(1);
    expect(await loc.unregister('acme', '1001')).toBe(1);
    expect(await loc.unregister('acme', '1001')).toBe(0);
    expect(await loc.countBindings('acme')).toBe(1);
  });

  it('contactsOf reads several extensions’ live bindings in one command, as contactsFor does one by one', async () => {
    const { loc } = setup();
    await loc.register(reqOf({ extension: '1001', updates: [upd('a', 60), upd('b', 60, { q: 0.9 })] }));
    await loc.register(reqOf({ extension: '1002', updates: [upd('c', 60)] }));
    const exts = ['1001', '1002', '1003'];
    const many = await loc.contactsOf('acme', exts);
    expect(many).toEqual(await Promise.all(exts.map((e) => loc.contactsFor('acme', e))));
    expect(many.map((b) => b.map((x) => x.id))).toEqual([['b', 'a'], ['c'], []]);
    // Expired bindings are left out (the clock moved past their expiry).
    expect(await loc.contactsOf('acme', exts, Date.now() + 120_000)).toEqual([[], [], []]);
    expect(await loc.contactsOf('acme', [])).toEqual([]);
  });

  it('keeps a binding under 1 KB of Redis memory', async () => {
    const { loc, keys } = setup();
    const n = 500;
    for (let i = 0; i < n; i++) {
      await loc.register(reqOf({ extension: String(10000 + i), updates: [upd('3f2a9c1b7d4e5f60', 3600, {
        contact: `sip:${10000 + i}@192.168.10.${i % 250}:5060;transport=udp`, userAgent: 'Yealink SIP-T46S 66.86.0.15',
      })] }));
    }
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += Number(await redis.memory('USAGE', keys.tenant.regBindings('acme', String(10000 + i))));
    bytes += Number(await redis.memory('USAGE', keys.tenant.regIndex('acme')));
    const perBinding = bytes / n;
    expect(perBinding).toBeLessThan(1024);
  });
});

describe('AuthGuardStore', () => {
  it('blocks after the threshold within the window, and the block has a TTL', async () => {
    const { guard, keys } = setup();
    const o = { windowMs: 10_000, threshold: 3, blockMs: 5_000 };
    expect(await guard.recordFailure({ kind: 'ip', ip: '198.51.100.1' }, o)).toEqual({ count: 1, blocked: false });
    expect(await guard.recordFailure({ kind: 'ip', ip: '198.51.100.1' }, o)).toEqual({ count: 2, blocked: false });
    expect(await guard.isBlocked({ kind: 'ip', ip: '198.51.100.1' })).toBe(false);
    expect(await guard.recordFailure({ kind: 'ip', ip: '198.51.100.1' }, o)).toEqual({ count: 3, blocked: true });
    expect(await guard.isBlocked({ kind: 'ip', ip: '198.51.100.1' })).toBe(true);
    expect(await guard.isBlocked({ kind: 'ip', ip: '198.51.100.2' })).toBe(false);
    const ttl = await redis.pttl(keys.global.regBlockIp('198.51.100.1'));
    expect(ttl).toBeGreaterThan(4000);
    await guard.unblock({ kind: 'ip', ip: '198.51.100.1' });
    expect(await guard.isBlocked({ kind: 'ip', ip: '198.51.100.1' })).toBe(false);
  });

  it('slides: failures older than the window do not count', async () => {
    const { guard } = setup();
    const o = { windowMs: 300, threshold: 2, blockMs: 5_000 };
    await guard.recordFailure({ kind: 'aor', tenantId: 'acme', extension: '1001' }, o);
    await new Promise((r) => setTimeout(r, 350));
    expect(await guard.recordFailure({ kind: 'aor', tenantId: 'acme', extension: '1001' }, o)).toEqual({ count: 1, blocked: false });
  });

  it('authState: the three blocks and the device’s digest state, read together', async () => {
    const { guard } = setup();
    const o = { windowMs: 10_000, threshold: 1, blockMs: 5_000 };
    expect(await guard.authState('acme', '1001', '198.51.100.7', 'dev1')).toEqual({ ip: false, aor: false, pair: false, device: {} });
    await guard.recordFailure({ kind: 'pair', tenantId: 'acme', extension: '1001', ip: '198.51.100.7' }, o);
    await guard.setDeviceState('acme', 'dev1', { learned: 'MD5', pending: '123' }, 60_000);
    expect(await guard.authState('acme', '1001', '198.51.100.7', 'dev1')).toEqual({ ip: false, aor: false, pair: true, device: { learned: 'MD5', pending: '123' } });
    await guard.recordFailure({ kind: 'aor', tenantId: 'acme', extension: '1001' }, o);
    await guard.recordFailure({ kind: 'ip', ip: '198.51.100.7' }, o);
    await guard.setDeviceState('acme', 'dev1', { pending: null }, 60_000);
    expect(await guard.authState('acme', '1001', '198.51.100.7', 'dev1')).toEqual({ ip: true, aor: true, pair: true, device: { learned: 'MD5' } });
    expect(await guard.authState('acme', '1002', '198.51.100.8', 'dev2')).toEqual({ ip: false, aor: false, pair: false, device: {} });
  });

  it('accepts only increasing nonce counts', async () => {
    const { guard } = setup();
    expect(await guard.acceptNonceCount('n1', 1, 10_000)).toBe(true);
    expect(await guard.acceptNonceCount('n1', 1, 10_000)).toBe(false);
    expect(await guard.acceptNonceCount('n1', 2, 10_000)).toBe(true);
    expect(await guard.acceptNonceCount('n2', 1, 10_000)).toBe(true);
  });
});
