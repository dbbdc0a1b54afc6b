import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRegistry, createSipMetrics, silentLogger } from '@kumo/runtime';
import { createRedis, keySchema } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';
import { createSipApp, type RegistrarSettings } from '@kumo/sip';
import { answer, challengesOf, fakeRequest, fakeResponse, memoryDirectory } from '../helpers/fake-sip.js';

const redis = createRedis(inject('redisUrl'));
afterAll(() => redis.disconnect());

const settings: RegistrarSettings = {
  minExpires: 2,
  maxExpires: 3600,
  defaultExpires: 600,
  maxContacts: 2,
  contactsPolicy: 'reject',
  nonceSecret: 'k'.repeat(32),
  nonceLifetimeMs: 30_000,
  algorithms: ['SHA-256', 'MD5'],
  bruteForce: { windowMs: 60_000, ipThreshold: 6, aorThreshold: 3, blockMs: 60_000, action: '403' },
};

function setup(over: Partial<RegistrarSettings> = {}) {
  const keys = keySchema(uniquePrefix('rh'));
  const directory = memoryDirectory([{ id: 'demo', domain: 'demo.kumo.test', extensions: { '1001': 'pass1001', '1002': 'pass1002' } }]);
  const registry = createRegistry('sip-test');
  const metrics = createSipMetrics(registry);
  const app = createSipApp({ redis, keys, log: silentLogger(), metrics, registrar: { ...settings, ...over }, directory });
  let cseq = 1;
  const call = async (h: Record<string, string>, o: { ip?: string } = {}) => {
    const res = fakeResponse();
    await app.handlers.REGISTER!(fakeRequest({ 'Call-ID': 'c1', CSeq: `${cseq++} REGISTER`, ...h }, o), res);
    return res.sent[0];
  };
  /** Full challenge/response; returns the final answer. */
  const register = async (
    ext: string,
    password: string,
    h: Record<string, string> = {},
    o: { ip?: string; domain?: string; algorithm?: 'MD5' | 'SHA-256'; username?: string } = {},
  ) => {
    const domain = o.domain ?? 'demo.kumo.test';
    const base = { To: `<sip:${ext}@${domain}>`, From: `<sip:${ext}@${domain}>;tag=1`, Contact: `<sip:${ext}@10.0.0.9:5062>`, ...h };
    const c = await call(base, o);
    expect(c?.status).toBe(401);
    return call({ ...base, Authorization: answer(c!, { algorithm: o.algorithm ?? 'SHA-256', username: o.username ?? ext, password }) }, o);
  };
  return { keys, app, metrics, registry, directory, call, register };
}

describe('registrar handler (real Redis)', () => {
  it('challenges with SHA-256 then MD5, accepts either answer, lists bindings in 200', async () => {
    const t = setup();
    const first = await t.call({ To: '<sip:1001@demo.kumo.test>', Contact: '<sip:1001@10.0.0.9:5062>' });
    expect(first?.status).toBe(401);
    const ch = challengesOf(first!);
    expect(ch).toHaveLength(2);
    expect(ch[0]).toMatch(/^Digest realm="demo.kumo.test", nonce="[^"]+", algorithm=SHA-256, qop="auth"$/);
    expect(ch[1]).toMatch(/algorithm=MD5/);

    const ok = await t.register('1001', 'pass1001', { Expires: '120' });
    expect(ok).toMatchObject({ status: 200 });
    expect(ok!.headers.Contact).toBe('<sip:1001@10.0.0.9:5062>;expires=120');
    const md5 = await t.register('1001', 'pass1001', { Contact: '<sip:1001@10.0.0.10:5062>', Expires: '60' }, { algorithm: 'MD5' });
    expect(md5!.headers.Contact).toMatch(/<sip:1001@10.0.0.9:5062>;expires=1[12]\d, <sip:1001@10.0.0.10:5062>;expires=60|<sip:1001@10.0.0.10:5062>;expires=60, <sip:1001@10.0.0.9:5062>;expires=1[12]\d/);
    expect(await t.app.location.contactsFor('demo', '1001')).toHaveLength(2);
  });

  it('wrong password, unknown user and unknown domain look the same on the wire', async () => {
    const t = setup();
    const shape = (s: { status: number; reason: string | undefined; headers: Record<string, string> } | undefined) => ({
      status: s?.status,
      reason: s?.reason,
      headers: Object.keys(s?.headers ?? {}).sort(),
      challenges: challengesOf(s!).map((c) => c.replace(/nonce="[^"]+"/, 'nonce=*').replace(/realm="[^"]+"/, 'realm=*')),
    });
    const a = await t.call({ To: '<sip:1001@demo.kumo.test>', Contact: '<sip:1001@h>' });
    const b = await t.call({ To: '<sip:9999@demo.kumo.test>', Contact: '<sip:9999@h>' });
    const c = await t.call({ To: '<sip:1001@nowhere.test>', Contact: '<sip:1001@h>' });
    expect(shape(a)).toEqual(shape(b));
    expect(shape(a)).toEqual(shape(c));
    const wrong = await t.register('1001', 'nope');
    const unknownUser = await t.register('9999', 'nope');
    const unknownDomain = await t.register('1001', 'pass1001', {}, { domain: 'nowhere.test' });
    expect(wrong).toEqual({ status: 403, reason: 'Forbidden', headers: {} });
    expect(unknownUser).toEqual(wrong);
    expect(unknownDomain).toEqual(wrong);
    expect(await t.app.location.countBindings('demo')).toBe(0);
  });

  it('username must match the AOR; replayed nc is re-challenged; stale nonce gets stale=true', async () => {
    const t = setup();
    expect((await t.register('1002', 'pass1001', {}, { username: '1001' }))?.status).toBe(403);
    const base = { To: '<sip:1001@demo.kumo.test>', Contact: '<sip:1001@10.0.0.9:5062>' };
    const c = await t.call(base);
    const auth = answer(c!, { algorithm: 'SHA-256', username: '1001', password: 'pass1001' });
    expect((await t.call({ ...base, Authorization: auth }))?.status).toBe(200);
    const replay = await t.call({ ...base, Authorization: auth });
    expect(replay?.status).toBe(401);
    expect(challengesOf(replay!)[0]).not.toMatch(/stale/);

    const old = setup({ nonceLifetimeMs: 5 });
    const c2 = await old.call(base);
    await new Promise((r) => setTimeout(r, 20));
    const stale = await old.call({ ...base, Authorization: answer(c2!, { algorithm: 'MD5', username: '1001', password: 'pass1001' }) });
    expect(stale?.status).toBe(401);
    expect(challengesOf(stale!).every((h) => h.endsWith(', stale=true'))).toBe(true);
  });

  it('423 below the minimum, too many contacts, Contact: * removes all, suspended may register, terminated may not', async () => {
    const t = setup();
    const brief = await t.register('1001', 'pass1001', { Expires: '1' });
    expect(brief).toMatchObject({ status: 423, headers: { 'Min-Expires': '2' } });
    expect((await t.register('1001', 'pass1001', { Contact: '<sip:a@h1>, <sip:a@h2>, <sip:a@h3>' }))?.status).toBe(403);
    expect((await t.register('1001', 'pass1001', { Contact: '<sip:a@h1>, <sip:a@h2>' }))?.status).toBe(200);
    expect(await t.app.location.countBindings('demo')).toBe(2);
    expect((await t.register('1001', 'pass1001', { Contact: '*' }))?.status).toBe(400);
    const star = await t.register('1001', 'pass1001', { Contact: '*', Expires: '0' });
    expect(star?.status).toBe(200);
    expect(star?.headers.Contact).toBeUndefined();
    expect(await t.app.location.countBindings('demo')).toBe(0);
    t.directory.setStatus('demo', 'suspended');
    expect((await t.register('1001', 'pass1001'))?.status).toBe(200);
    t.directory.setStatus('demo', 'terminated');
    expect((await t.register('1001', 'pass1001'))?.status).toBe(403);
  });

  it('a REGISTER to an IP address is for the configured domain when set', async () => {
    const plain = setup();
    expect((await plain.register('1001', 'pass1001', {}, { domain: '127.0.0.1' }))?.status).toBe(403);
    const t = setup({ ipHostDomain: 'demo.kumo.test' });
    const c = await t.call({ To: '<sip:1001@127.0.0.1>', Contact: '<sip:1001@10.0.0.9:5062>' });
    expect(challengesOf(c!)[0]).toMatch(/realm="demo.kumo.test"/);
    const ok = await t.call({
      To: '<sip:1001@127.0.0.1>', Contact: '<sip:1001@10.0.0.9:5062>',
      Authorization: answer(c!, { algorithm: 'MD5', username: '1001', password: 'pass1001', uri: 'sip:127.0.0.1' }),
    });
    expect(ok?.status).toBe(200);
    expect(await t.app.location.contactsFor('demo', '1001')).toHaveLength(1);
  });

  it('+sip.instance replaces the device\'s old binding', async () => {
    const t = setup();
    const inst = ';+sip.instance="<urn:uuid:00000000-0000-1000-8000-000000000001>";reg-id=1';
    await t.register('1001', 'pass1001', { Contact: `<sip:1001@10.0.0.9:5062>${inst}` });
    const moved = await t.register('1001', 'pass1001', { Contact: `<sip:1001@10.0.0.77:5999>${inst}` });
    expect(moved?.headers.Contact).toMatch(/^<sip:1001@10.0.0.77:5999>;expires=600;\+sip.instance="<urn:uuid:0+-0000-1000-8000-0+1>";reg-id=1$/);
    const [b] = await t.app.location.contactsFor('demo', '1001');
    expect(b).toMatchObject({ contact: 'sip:1001@10.0.0.77:5999', instanceId: '<urn:uuid:00000000-0000-1000-8000-000000000001>', regId: 1 });
  });

  it('brute force: an attacker IP is blocked; a locked extension still lets its phone in', async () => {
    const t = setup();
    expect((await t.register('1001', 'pass1001', {}, { ip: '10.1.1.1' }))?.status).toBe(200); // the legit phone
    for (let i = 0; i < 3; i++) expect((await t.register('1001', 'guess', {}, { ip: '10.6.6.6' }))?.status).toBe(403);
    // the extension is now locked to its known device (10.1.1.1): another address is refused at once, not even challenged
    expect((await t.call({ To: '<sip:1001@demo.kumo.test>', Contact: '<sip:1001@h>' }, { ip: '10.2.2.2' }))?.status).toBe(403);
    expect((await t.register('1001', 'pass1001', {}, { ip: '10.1.1.1' }))?.status).toBe(200);
    // keep guessing another extension from the attacker IP until the IP itself is blocked (and 1002 locked too)
    for (let i = 0; i < 3; i++) await t.register('1002', 'guess', {}, { ip: '10.6.6.6' });
    const blocked = await t.call({ To: '<sip:1002@demo.kumo.test>', Contact: '<sip:1002@h>' }, { ip: '10.6.6.6' });
    expect(blocked?.status).toBe(403);
    expect(await redis.exists(t.keys.global.regBlockIp('10.6.6.6'))).toBe(1);
    const text = await t.registry.metrics();
    expect(text).toMatch(/kumo_sip_bruteforce_blocks_total\{scope="ip",proc="sip-test"\} 1/);
    expect(text).toMatch(/kumo_sip_bruteforce_blocks_total\{scope="aor",proc="sip-test"\} 2/);
    expect(text).toMatch(/kumo_sip_bruteforce_blocks_total\{scope="pair",proc="sip-test"\} 2/);
    // a block survives a restart: a fresh app on the same Redis still refuses (drop mode: no answer at all)
    const again = createSipApp({ redis, keys: t.keys, log: silentLogger(), registrar: { ...settings, bruteForce: { ...settings.bruteForce, action: 'drop' } }, directory: t.directory });
    const res = fakeResponse();
    await again.handlers.REGISTER!(fakeRequest({ 'Call-ID': 'x', CSeq: '1 REGISTER', To: '<sip:1002@demo.kumo.test>' }, { ip: '10.6.6.6' }), res);
    expect(res.sent).toEqual([]);
  });
});
