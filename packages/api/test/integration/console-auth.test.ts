/**
 * People's log-in (the console's endpoints): scrypt passwords, Redis sessions, cookie flags,
 * CSRF, session fixation, lockout with backoff, logout everywhere, TOTP, read-only users,
 * tenant isolation, audit. Real Redis, the real app via inject.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { HuntStateStore, LocationStore, keySchema } from '@kumo/store';
import { totpAt } from '../../src/console/totp.js';
import { harness, type Harness } from './helpers.js';

let h: Harness;
const PW = 'correct horse battery';

function cookieOf(r: LightMyRequestResponse): string {
  const sc = r.headers['set-cookie'];
  const line = Array.isArray(sc) ? sc[0] : sc;
  const m = /kumo_session=([^;]*)/.exec(line ?? '');
  return m?.[1] ?? '';
}

async function login(login: string, password = PW, headers: Record<string, string> = {}) {
  const r = await h.call('POST', '/v1/session', { key: null, body: { login, password }, headers });
  return { r, sid: cookieOf(r), csrf: r.statusCode === 200 ? r.json<{ csrf: string }>().csrf : '' };
}

function as(sid: string, csrf?: string) {
  return (method: string, url: string, body?: unknown) =>
    h.call(method, url, { key: null, ...(body !== undefined ? { body } : {}), headers: { cookie: `kumo_session=${sid}`, ...(csrf !== undefined ? { 'x-csrf-token': csrf } : {}) } });
}

beforeAll(async () => {
  h = await harness();
  await h.tenant('ca');
  await h.tenant('cb');
  for (const [t, login, role] of [
    ['ca', 'admin@ca', 'tenant-admin'],
    ['ca', 'viewer@ca', 'tenant-viewer'],
    ['cb', 'admin@cb', 'tenant-admin'],
  ] as const) {
    const r = await h.call('POST', `/v1/tenants/${t}/users`, { body: { login, name: login, role, password: PW } });
    expect(r.statusCode, r.body).toBe(201);
  }
  const op = await h.call('POST', '/v1/platform/users', { body: { login: 'op', name: 'Operator', role: 'operator', password: PW } });
  expect(op.statusCode, op.body).toBe(201);
});
afterAll(() => h.close());

describe('console log-in', () => {
  it('sets an HttpOnly SameSite=Strict cookie, never stores the password, and the session acts on the API', async () => {
    const { r, sid, csrf } = await login('Admin@CA');
    expect(r.statusCode, r.body).toBe(200);
    const line = String(r.headers['set-cookie']);
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Strict/);
    expect(line).toMatch(/Path=\//);
    expect(line).not.toMatch(/Secure/); // plain HTTP here; Secure is set when the request came over TLS
    const body = r.json<{ user: Record<string, unknown>; tenant: { id: string } }>();
    expect(body.user).not.toHaveProperty('passwordHash');
    expect(body.tenant.id).toBe('ca');
    const stored = await h.redis.hget(`${h.prefix}:console:users`, 'admin@ca');
    expect(stored).toMatch(/"passwordHash":"scrypt\$15\$8\$1\$/);
    expect(stored).not.toContain(PW);
    const call = as(sid, csrf);
    expect((await call('GET', '/v1/tenants/ca/extensions')).statusCode).toBe(200);
    const created = await call('POST', '/v1/tenants/ca/extensions', { number: '2001', displayName: 'Web', password: 'secret-2001-pw' });
    expect(created.statusCode, created.body).toBe(201);
    // Audited with the user as the actor.
    const audit = await call('GET', '/v1/tenants/ca/audit');
    const items = audit.json<{ items: { action: string; actor: { keyId: string } }[] }>().items;
    expect(items.find((i) => i.action === 'extension.create')?.actor.keyId).toBe('user:admin@ca');
    expect(items.some((i) => i.action === 'session.login')).toBe(true);
  });

  it('wrong passwords and unknown logins get the same answer', async () => {
    const a = await login('admin@ca', 'wrong password!!');
    const b = await login('nobody@ca', 'wrong password!!');
    expect(a.r.statusCode).toBe(401);
    expect(b.r.statusCode).toBe(401);
    expect(a.r.json<{ code: string }>().code).toBe(b.r.json<{ code: string }>().code);
    await login('admin@ca'); // clears the failure count
  });

  it('CSRF: writes without the token or from another origin are refused; reads are fine', async () => {
    const { sid, csrf } = await login('admin@ca');
    const noToken = await as(sid)('POST', '/v1/tenants/ca/extensions', { number: '2002', displayName: 'x', password: 'secret-2002-pw' });
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json<{ code: string }>().code).toBe('KUMO_ERR_CSRF');
    const wrong = await as(sid, 'x'.repeat(43))('DELETE', '/v1/tenants/ca/extensions/2001');
    expect(wrong.json<{ code: string }>().code).toBe('KUMO_ERR_CSRF');
    const foreign = await h.call('DELETE', '/v1/tenants/ca/extensions/2001', {
      key: null,
      headers: { cookie: `kumo_session=${sid}`, 'x-csrf-token': csrf, origin: 'https://evil.example' },
    });
    expect(foreign.json<{ code: string }>().code).toBe('KUMO_ERR_CSRF');
    expect((await as(sid)('GET', '/v1/tenants/ca')).statusCode).toBe(200);
    const logoutNoToken = await as(sid)('DELETE', '/v1/session');
    expect(logoutNoToken.statusCode).toBe(403);
  });

  it('session fixation: a session id the browser had before is never the one after log-in, and is ended', async () => {
    const first = await login('admin@ca');
    const second = await login('admin@ca', PW, { cookie: `kumo_session=${first.sid}` });
    expect(second.sid).not.toBe(first.sid);
    expect((await as(first.sid)('GET', '/v1/session')).statusCode).toBe(401);
    expect((await as(second.sid)('GET', '/v1/session')).statusCode).toBe(200);
    // A made-up id is simply not a session.
    expect((await as('A'.repeat(43))('GET', '/v1/tenants/ca')).statusCode).toBe(401);
  });

  it('tenant isolation: a tenant admin sees another tenant as missing and cannot reach operator routes', async () => {
    const { sid, csrf } = await login('admin@ca');
    const call = as(sid, csrf);
    expect((await call('GET', '/v1/tenants/cb/extensions')).statusCode).toBe(404);
    expect((await call('GET', '/v1/tenants/cb/users')).statusCode).toBe(404);
    expect((await h.call('GET', '/v1/tenants/cb/live', { key: null, headers: { cookie: `kumo_session=${sid}`, accept: 'text/event-stream' } })).statusCode).toBe(404);
    expect((await call('GET', '/v1/tenants')).statusCode).toBe(403);
    expect((await call('POST', '/v1/platform/users', { login: 'evil', name: 'e', role: 'operator', password: PW })).statusCode).toBe(403);
    // Users of another tenant cannot be touched by id either.
    const other = (await h.call('GET', '/v1/tenants/cb/users')).json<{ items: { id: string }[] }>().items[0]!.id;
    expect((await call('DELETE', `/v1/tenants/ca/users/${other}`)).statusCode).toBe(404);
  });

  it('read-only users read but cannot write', async () => {
    const { sid, csrf } = await login('viewer@ca');
    const call = as(sid, csrf);
    expect((await call('GET', '/v1/tenants/ca/extensions')).statusCode).toBe(200);
    const w = await call('POST', '/v1/tenants/ca/extensions', { number: '2003', displayName: 'x', password: 'secret-2003-pw' });
    expect(w.statusCode).toBe(403);
    // Own preferences are theirs to change.
    expect((await call('PATCH', '/v1/session/user', { lang: 'en' })).json<{ lang: string }>().lang).toBe('en');
  });

  it('logout and logout everywhere end sessions', async () => {
    const a = await login('admin@cb');
    const b = await login('admin@cb');
    expect((await as(a.sid, a.csrf)('DELETE', '/v1/session')).statusCode).toBe(204);
    expect((await as(a.sid)('GET', '/v1/session')).statusCode).toBe(401);
    expect((await as(b.sid)('GET', '/v1/session')).statusCode).toBe(200);
    const c = await login('admin@cb');
    expect((await as(c.sid, c.csrf)('DELETE', '/v1/sessions')).statusCode).toBe(204);
    expect((await as(b.sid)('GET', '/v1/session')).statusCode).toBe(401);
    expect((await as(c.sid)('GET', '/v1/session')).statusCode).toBe(401);
  });

  it('lockout: after 5 failures the login locks (429 + Retry-After), even with the right password', async () => {
    await h.call('POST', '/v1/tenants/cb/users', { body: { login: 'victim@cb', name: 'v', role: 'tenant-admin', password: PW } });
    for (let i = 0; i < 4; i++) expect((await login('victim@cb', 'nope nope nope')).r.statusCode).toBe(401);
    const fifth = await login('victim@cb', 'nope nope nope');
    expect(fifth.r.statusCode).toBe(429);
    expect(Number(fifth.r.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    const right = await login('victim@cb');
    expect(right.r.statusCode).toBe(429);
    expect(right.r.json<{ code: string }>().code).toBe('KUMO_ERR_LOGIN_LOCKED');
    const audit = (await h.call('GET', '/v1/tenants/cb/audit')).json<{ items: { action: string }[] }>().items;
    expect(audit.filter((i) => i.action === 'session.loginFailed').length).toBeGreaterThanOrEqual(5);
  });

  it('TOTP: enrol, then log-in needs the code; a code works once', async () => {
    const { sid, csrf } = await login('op');
    const call = as(sid, csrf);
    const setup = (await call('POST', '/v1/session/totp/setup')).json<{ secret: string; uri: string }>();
    expect(setup.uri).toMatch(/^otpauth:\/\/totp\/Kumo%3Aop\?secret=/);
    expect((await call('POST', '/v1/session/totp/enable', { secret: setup.secret, code: '000000' === totpAt(setup.secret, Date.now()) ? '111111' : '000000' })).statusCode).toBe(400);
    expect((await call('POST', '/v1/session/totp/enable', { secret: setup.secret, code: totpAt(setup.secret, Date.now()) })).statusCode).toBe(200);
    const pw = await login('op');
    expect(pw.r.json<{ stage: string }>().stage).toBe('pending-totp');
    // A pending session is no key to the API.
    expect((await as(pw.sid)('GET', '/v1/tenants')).statusCode).toBe(401);
    const code = totpAt(setup.secret, Date.now());
    const ok = await h.call('POST', '/v1/session/totp', { key: null, body: { code }, headers: { cookie: `kumo_session=${pw.sid}`, 'x-csrf-token': pw.csrf } });
    expect(ok.statusCode, ok.body).toBe(200);
    const full = cookieOf(ok);
    expect(full).not.toBe(pw.sid);
    expect((await as(full)('GET', '/v1/tenants')).statusCode).toBe(200);
    // Replay of the same code on a new password session is refused.
    const again = await login('op');
    const replay = await h.call('POST', '/v1/session/totp', { key: null, body: { code }, headers: { cookie: `kumo_session=${again.sid}`, 'x-csrf-token': again.csrf } });
    expect(replay.statusCode).toBe(401);
  });
});

describe('hostile input to the session routes', () => {
  it('never answers 5xx and always in the one error shape', async () => {
    const { sid, csrf } = await login('admin@ca');
    const bodies = ['', '{', 'null', '[]', '"x"', '{"login":1,"password":2}', `{"login":"${'a'.repeat(5000)}","password":"x"}`, '{"login":"\\u0000","password":"\\ud800"}', '{"code":"12345a"}', '{"lang":"fr"}', '{"__proto__":{"x":1}}'];
    const routes: [string, string][] = [
      ['POST', '/v1/session'], ['POST', '/v1/session/totp'], ['PATCH', '/v1/session/user'], ['POST', '/v1/session/password'],
      ['POST', '/v1/session/totp/enable'], ['DELETE', '/v1/session/totp'], ['DELETE', '/v1/sessions'], ['DELETE', '/v1/session'],
    ];
    for (const [method, url] of routes) {
      for (const raw of bodies) {
        for (const cookie of [`kumo_session=${sid}`, 'kumo_session=%00', `kumo_session=${'A'.repeat(43)}`, '']) {
          const r = await h.app.inject({ method: method as 'POST', url, payload: raw, headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf } });
          expect(r.statusCode, `${method} ${url} ${raw.slice(0, 30)} → ${r.body.slice(0, 100)}`).toBeLessThan(500);
          if (r.statusCode >= 400) expect(Object.keys(r.json<object>()).sort().join(',')).toBe('code,details,message');
        }
      }
    }
  });
});

describe('extension search and the live feed', () => {
  it('login from a foreign origin is refused (login CSRF)', async () => {
    const r = await login('admin@ca', PW, { origin: 'https://evil.example' });
    expect(r.r.statusCode).toBe(403);
    expect(r.r.json<{ code: string }>().code).toBe('KUMO_ERR_CSRF');
  });

  it('searches by number prefix and by name or department, with paging', async () => {
    for (let i = 0; i < 12; i++) {
      const n = String(4100 + i);
      const r = await h.call('POST', '/v1/tenants/cb/extensions', { body: { number: n, displayName: i % 3 === 0 ? `営業 ${i}` : `User ${i}`, department: i % 2 === 0 ? 'Sales' : 'Ops', password: `secret-${n}` } });
      expect(r.statusCode, r.body).toBe(201);
    }
    const q = async (qs: string) => (await h.call('GET', `/v1/tenants/cb/extension-search?${qs}`)).json<{ items: { number: string; ha1Md5?: string }[]; next: string | null }>();
    const prefix = await q('q=410&limit=5');
    expect(prefix.items.map((e) => e.number)).toEqual(['4100', '4101', '4102', '4103', '4104']);
    expect(prefix.items[0]).not.toHaveProperty('ha1Md5');
    const page2 = await q(`q=410&limit=5&after=${prefix.next}`);
    expect(page2.items.map((e) => e.number)).toEqual(['4105', '4106', '4107', '4108', '4109']);
    expect((await q(`q=410&limit=5&after=${page2.next}`)).items).toEqual([]);
    expect((await q('q=411')).items.map((e) => e.number)).toEqual(['4110', '4111']);
    expect((await q('q=' + encodeURIComponent('営業'))).items.map((e) => e.number)).toEqual(['4100', '4103', '4106', '4109']);
    const sales = await q('q=sales&limit=2');
    expect(sales.items.map((e) => e.number)).toEqual(['4100', '4102']);
    expect((await q(`q=sales&limit=10&after=${sales.next}`)).items.map((e) => e.number)).toEqual(['4104', '4106', '4108', '4110']);
  });

  it('streams a snapshot, then registrations, calls and the tenant status as they change', async () => {
    const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const { sid } = await login('admin@cb');
    const ac = new AbortController();
    const plain = await fetch(`${address}/v1/tenants/cb/live`, { headers: { cookie: `kumo_session=${sid}` } });
    expect(plain.status).toBe(400);
    const res = await fetch(`${address}/v1/tenants/cb/live`, { headers: { cookie: `kumo_session=${sid}`, accept: 'text/event-stream' }, signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let buf = '';
    const next = async (event: string): Promise<Record<string, unknown>> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const m = new RegExp(`event: ${event}\ndata: (.*)\n\n`).exec(buf);
        if (m) {
          buf = buf.slice((m.index ?? 0) + m[0].length);
          return JSON.parse(m[1]!) as Record<string, unknown>;
        }
        if (Date.now() > deadline) throw new Error(`no ${event} event; got ${buf}`);
        const { value } = await reader.read();
        buf += new TextDecoder().decode(value);
      }
    };
    const snap = await next('snapshot');
    expect(snap).toMatchObject({ registered: {}, inCall: [], usage: { status: 'active', ports: 100 } });
    const keys = keySchema(h.prefix);
    const t0 = Date.now();
    await new LocationStore(h.redis, keys).register({
      tenantId: 'cb',
      extension: '4100',
      callId: 'live-test',
      cseq: 1,
      maxContacts: 5,
      policy: 'replace-oldest',
      mode: 'update',
      updates: [{ id: 'b1', expires: 60, contact: 'sip:4100@127.0.0.1:5999', source: { address: '127.0.0.1', port: 5999, transport: 'udp' } }],
    });
    expect(await next('reg')).toEqual({ up: { '4100': 1 }, down: [] });
    expect(Date.now() - t0).toBeLessThan(2000);
    await new HuntStateStore(h.redis, keys).callStarted('cb', ['4100', '4101']);
    expect(await next('calls')).toEqual({ inCall: ['4100', '4101'] });
    expect((await h.call('POST', '/v1/tenants/cb/suspend')).statusCode).toBe(200);
    for (;;) {
      const u = await next('usage');
      if (u.status === 'suspended') break;
    }
    await h.call('POST', '/v1/tenants/cb/resume');
    // Logging out ends the stream.
    const { csrf } = (await h.call('GET', '/v1/session', { key: null, headers: { cookie: `kumo_session=${sid}` } })).json<{ csrf: string }>();
    expect((await h.call('DELETE', '/v1/session', { key: null, headers: { cookie: `kumo_session=${sid}`, 'x-csrf-token': csrf } })).statusCode).toBe(204);
    const ended = Date.now();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
      expect(Date.now() - ended).toBeLessThan(8000);
    }
    ac.abort();
  });
});
