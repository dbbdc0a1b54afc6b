/**
 * API hygiene (docs/security.md): cursors and months, fastify-level errors in the one shape,
 * security headers, no-store, strict text, auth-failure and write rate limits, operator-only
 * fields, terminated tenants read-only.
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@kumo/runtime';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let key: string;
let base: string;
let port: number;

beforeAll(async () => {
  h = await harness();
  key = await h.tenant('hy', { notes: 'internal: credit risk' });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const a = h.app.server.address();
  port = typeof a === 'object' && a ? a.port : 0;
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => h.close());

const shape = (b: unknown): string => Object.keys(b as object).sort().join(',');

describe('cursors and months', () => {
  it.each([
    ['/v1/tenants/hy/audit?before=0-0', 200],
    ['/v1/tenants/hy/admission/events?before=0-0', 200],
    ['/v1/tenants/hy/audit?before=18446744073709551615-18446744073709551615', 200],
    ['/v1/tenants/hy/audit?before=18446744073709551616-0', 400],
    ['/v1/tenants/hy/admission/events?before=1-18446744073709551616', 400],
    ['/v1/tenants/hy/audit?before=1-', 400],
    ['/v1/tenants/hy/audit?before=abc', 400],
    ['/v1/tenants/hy/billing/months/0000-01', 400],
    ['/v1/tenants/hy/billing/months/9999-12', 400],
    ['/v1/tenants/hy/billing/months/2026-13/calls', 400],
    ['/v1/tenants/hy/billing/months/current', 200],
  ] as const)('GET %s → %d', async (url, status) => {
    const r = await h.call('GET', url, { key });
    expect(r.statusCode).toBe(status);
    if (status === 200 && url.includes('before=0-0')) expect(r.json()).toMatchObject({ items: [], next: null });
    if (status === 400) expect(r.json().code).toBe('KUMO_ERR_VALIDATION');
  });

  it('operators: platform audit and dead letters', async () => {
    expect((await h.call('GET', '/v1/platform/audit?before=0-0')).statusCode).toBe(200);
    expect((await h.call('GET', '/v1/platform/audit?before=99999999999999999999-0')).json().code).toBe('KUMO_ERR_VALIDATION');
    expect((await h.call('GET', '/v1/billing/dead-letters?after=18446744073709551615-18446744073709551615')).json().items).toEqual([]);
    expect((await h.call('POST', '/v1/billing/dead-letters/18446744073709551616-0/replay')).json().code).toBe('KUMO_ERR_VALIDATION');
  });
});

describe('fastify-level errors in the one shape', () => {
  it('404 is identical for every method and never echoes the URL', async () => {
    const long = `/v1/${'x'.repeat(10_000)}`;
    const bodies = await Promise.all(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map(async (m) => (await h.call(m, long)).body));
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0] ?? '')).toEqual({ code: 'KUMO_ERR_ROUTE_NOT_FOUND', message: 'no such route', details: {} });
    const bad = await h.call('GET', `/v1/tenants/%zz${'y'.repeat(10_000)}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.body.length).toBeLessThan(300);
    // Without a key, an unknown route is a 401 like any other: anonymous callers cannot map routes.
    expect((await h.call('GET', long, { key: null })).json().code).toBe('KUMO_ERR_UNAUTHORIZED');
  });

  it('431 for oversized headers and 400 for a malformed request, as JSON', async () => {
    const r = await fetch(`${base}/v1/me`, { headers: { 'x-big': 'a'.repeat(20_000) } });
    expect(r.status).toBe(431);
    expect(shape(await r.json())).toBe('code,details,message');
    const raw = await new Promise<string>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => s.write('GARBAGE / NOT-HTTP\r\n\r\n'));
      let out = '';
      s.on('data', (d: Buffer) => (out += d.toString()));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'KUMO_ERR_BAD_REQUEST', details: {} });
  });

  it('malformed JSON and invalid text', async () => {
    const post = (raw: string | Buffer) =>
      h.app.inject({ method: 'POST', url: '/v1/tenants/hy/extensions', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload: raw });
    expect((await post('{"a":')).json().code).toBe('KUMO_ERR_MALFORMED_JSON');
    const invalidUtf8 = Buffer.concat([Buffer.from('{"number":"1001","displayName":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","password":"pass1001"}')]);
    const r1 = await post(invalidUtf8);
    expect([r1.statusCode, r1.json().code]).toEqual([400, 'KUMO_ERR_INVALID_TEXT']);
    const r2 = await post('{"number":"1001","displayName":"\\ud800x","password":"pass1001"}');
    expect([r2.statusCode, r2.json().code]).toEqual([400, 'KUMO_ERR_INVALID_TEXT']);
    expect(r2.json().details.problems[0].field).toBe('body/displayName');
    // A well-formed pair (an emoji) is fine.
    const ok = await post('{"number":"1001","displayName":"\\ud83d\\ude00 Lobby","password":"pass1001"}');
    expect(ok.statusCode).toBe(201);
    const q = await h.call('GET', '/v1/tenants/hy/audit?before=%ED%A0%80', { key });
    expect(q.statusCode).toBe(400);
  });
});

describe('headers', () => {
  it('security headers on every answer, no-store on /v1', async () => {
    const r = await fetch(`${base}/v1/tenants/hy`, { headers: { authorization: `Bearer ${key}` } });
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(r.headers.get('cache-control')).toBe('no-store');
    const issued = await h.call('POST', '/v1/tenants/hy/api-keys', { body: { name: 'second' } });
    expect(issued.statusCode).toBe(201);
    expect(issued.headers['cache-control']).toBe('no-store');
    const health = await fetch(`${base}/healthz`);
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('operator-only fields and terminated tenants', () => {
  it('notes are hidden from tenant admins (record and audit)', async () => {
    expect((await h.call('GET', '/v1/tenants/hy')).json().notes).toBe('internal: credit risk');
    expect((await h.call('GET', '/v1/tenants/hy', { key })).json()).not.toHaveProperty('notes');
    const audit = await h.call('GET', '/v1/tenants/hy/audit?limit=1000', { key });
    expect(audit.body).not.toContain('credit risk');
    expect((await h.call('GET', '/v1/tenants/hy/audit?limit=1000')).body).toContain('credit risk');
  });

  it('a terminated tenant is read-only for operators too, except its deletion', async () => {
    await h.tenant('hyterm');
    expect((await h.call('POST', '/v1/tenants/hyterm/terminate')).statusCode).toBe(200);
    for (const [m, url, body] of [
      ['PUT', '/v1/tenants/hyterm/admission/priority-numbers', { numbers: ['+81312345678'] }],
      ['PUT', '/v1/tenants/hyterm/billing/tariff', {}],
      ['PATCH', '/v1/tenants/hyterm', { name: 'x' }],
      ['POST', '/v1/tenants/hyterm/resume', undefined],
    ] as const) {
      const r = await h.call(m, url, body !== undefined ? { body } : {});
      expect([m, url, r.statusCode, r.json().code]).toEqual([m, url, 409, 'KUMO_ERR_TENANT_TERMINATED']);
    }
    expect((await h.call('GET', '/v1/tenants/hyterm')).statusCode).toBe(200);
    expect((await h.call('DELETE', '/v1/tenants/hyterm?confirm=hyterm')).statusCode).toBe(200);
  });
});

describe('rate limits', () => {
  it('failed authentications are logged and limited per source (429 + Retry-After)', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', name: 'api', destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }) });
    const g = await harness({ log, security: { authFailLimit: 5, authFailWindowMs: 60_000 } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 8; i++) codes.push((await g.call('GET', '/v1/me', { key: `kumo_guess${i}` })).statusCode);
      expect(codes).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
      const r = await g.call('GET', '/v1/me');
      expect(r.statusCode).toBe(429); // the real key too, from the blocked source, until the window ends
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
      expect(r.json().code).toBe('KUMO_ERR_RATE_LIMITED');
      const warned = lines.map((l) => JSON.parse(l) as { msg: string; source?: string }).filter((l) => l.msg === 'API authentication failed');
      expect(warned).toHaveLength(5);
      expect(warned[0]?.source).toBe('127.0.0.1');
      expect(lines.join('')).not.toContain('kumo_guess');
    } finally {
      await g.close();
    }
  });

  it("tenant-admin writes are limited per tenant; operators are not", async () => {
    const g = await harness({ security: { tenantWriteBurst: 3, tenantWriteRate: 1 } });
    try {
      const k = await g.tenant('rl');
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        codes.push((await g.call('POST', '/v1/tenants/rl/extensions', { key: k, body: { number: `100${i}`, displayName: 'x', password: 'pass10001' } })).statusCode);
      }
      expect(codes.slice(0, 3)).toEqual([201, 201, 201]);
      expect(codes.slice(3)).toContain(429);
      const limited = await g.call('DELETE', '/v1/tenants/rl/extensions/1000', { key: k });
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await g.call('GET', '/v1/tenants/rl/extensions', { key: k })).statusCode).toBe(200);
      expect((await g.call('DELETE', '/v1/tenants/rl/extensions/1000')).statusCode).toBe(204);
    } finally {
      await g.close();
    }
  });
});
