/**
 * Hostile-input fuzz over every route the OpenAPI document lists (docs/security.md, "API hygiene"):
 * each path parameter, query parameter and body gets hostile values, as an operator and as a
 * tenant admin. Nothing may answer 5xx, and every error has the one body shape {code, message, details}.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let tenantKey: string;

beforeAll(async () => {
  // Limits out of the way: the fuzz is about answers, not about being throttled.
  h = await harness({ security: { tenantWriteBurst: 1_000_000, authFailLimit: 1_000_000 } });
  tenantKey = await h.tenant('fz');
  const ext = await h.call('POST', '/v1/tenants/fz/extensions', { body: { number: '1001', displayName: 'Fuzz', password: 'pass1001' } });
  expect(ext.statusCode).toBe(201);
});
afterAll(() => h.close());

const HOSTILE_IDS = [
  'fz',
  '0',
  '-1',
  'a'.repeat(300),
  '..',
  '%2e%2e%2f',
  '%00',
  '%ff%fe',
  '%ED%A0%80', // a UTF-8 encoded lone surrogate
  '*',
  '{t:fz}',
  'fz%3Aext%3A1001',
  '%20',
  '__proto__',
  'constructor',
  '1001',
  '0-0',
  '18446744073709551616-0',
  '%E3%81%82',
];

const HOSTILE_QUERY = [
  '0-0',
  '0',
  '-1',
  '18446744073709551616-0',
  '99999999999999999999-99999999999999999999',
  '1-18446744073709551616',
  'current',
  '0000-01',
  '9999-12',
  '2026-13',
  'abc',
  '',
  '%00',
  '+',
  '(1-0',
  '9'.repeat(200),
];

const HOSTILE_BODIES: readonly (string | undefined)[] = [
  undefined,
  '',
  '{',
  'null',
  '[]',
  '"x"',
  '{}',
  '{"__proto__":{"a":1}}',
  '{"constructor":{"prototype":{"a":1}}}',
  JSON.stringify({ number: '\ud800', name: '\udfff', id: 'x\ud800' }),
  JSON.stringify({ id: 'a'.repeat(10_000), name: 'x', numbers: ['+81312345678'], level: 99, reason: 'x'.repeat(600) }),
  JSON.stringify({ numbers: Array.from({ length: 2000 }, (_, i) => `+8131234${String(i).padStart(4, '0')}`) }),
  '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
];

interface Op {
  method: string;
  path: string;
  query: string[];
}

function operations(doc: { paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>> }): Op[] {
  const out: Op[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (path.startsWith('/docs')) continue;
    for (const [method, op] of Object.entries(methods)) {
      const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      out.push({ method: method.toUpperCase(), path, query });
    }
  }
  return out;
}

function expand(path: string, value: string): string {
  return path.replace(/\{tenantId\}/g, 'fz').replace(/\{[^}]+\}/g, value);
}

function expandTenant(path: string, value: string): string {
  return path.replace(/\{tenantId\}/g, value).replace(/\{[^}]+\}/g, '1001');
}

const failures: string[] = [];
const statuses = new Map<string, number>();

async function probe(who: 'operator' | 'tenant', method: string, url: string, body?: string): Promise<void> {
  const r = await h.call(method, url, { key: who === 'operator' ? h.operatorKey : tenantKey, ...(body !== undefined ? { raw: body } : {}) });
  const bucket = `${who} ${Math.floor(r.statusCode / 100)}xx ${r.statusCode === 401 ? '401' : ''}`;
  statuses.set(bucket, (statuses.get(bucket) ?? 0) + 1);
  const label = `${who} ${method} ${url.slice(0, 120)}${body !== undefined ? ` body=${body.slice(0, 40)}` : ''} → ${r.statusCode}`;
  if (r.statusCode >= 500) failures.push(`${label} ${r.body.slice(0, 200)}`);
  if (r.statusCode >= 400) {
    let b: unknown;
    try {
      b = r.json();
    } catch {
      failures.push(`${label} non-JSON error body`);
      return;
    }
    const keys = Object.keys(b as object).sort().join(',');
    if (keys !== 'code,details,message') failures.push(`${label} error shape ${keys}`);
  }
}

describe('fuzz over every route', () => {
  it('no 5xx and one error shape for hostile ids, cursors, months and bodies', async () => {
    const doc = (await h.call('GET', '/docs/json', { key: null })).json();
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(40);
    // Tenant admins first (an operator probe may suspend the tenant); status changes last, on their own tenant.
    const isStatus = (o: Op) => /\/(terminate|suspend|resume)$/.test(o.path) || (o.method === 'DELETE' && o.path === '/v1/tenants/{tenantId}');
    for (const who of ['tenant', 'operator'] as const) {
      for (const op of ops.filter((o) => !isStatus(o))) {
        // path parameters
        if (op.path.includes('{')) {
          for (const v of HOSTILE_IDS) await probe(who, op.method, expand(op.path, v));
          for (const v of HOSTILE_IDS.slice(0, 8)) await probe(who, op.method, expandTenant(op.path, v));
        }
        // query parameters (cursors, limits, months, encodings)
        const base = expand(op.path, op.path.includes('{month}') ? 'current' : '1001');
        for (const q of [...op.query, 'unknown']) {
          for (const v of HOSTILE_QUERY) await probe(who, op.method, `${base}?${q}=${encodeURIComponent(v)}`);
        }
        // bodies
        if (op.method === 'POST' || op.method === 'PUT' || op.method === 'PATCH') {
          for (const b of HOSTILE_BODIES) await probe(who, op.method, base, b);
        }
      }
    }
    for (const op of ops.filter(isStatus)) {
      await h.tenant('fz2');
      await probe('operator', op.method, `${expandTenant(op.path, 'fz2')}?confirm=fz2`);
      for (const v of HOSTILE_IDS.slice(1)) await probe('operator', op.method, expandTenant(op.path, v));
      await h.call('POST', '/v1/tenants/fz2/terminate');
      await h.call('DELETE', '/v1/tenants/fz2?confirm=fz2');
    }
    // months, explicitly
    for (const m of ['0000-01', '9999-12', '2026-00', '1969-12', '-001-01', '2026-1', '202612']) {
      for (const suffix of ['', '/calls', '.csv', '/calls.csv']) await probe('tenant', 'GET', `/v1/tenants/fz/billing/months/${m}${suffix}`);
    }
    expect(failures).toEqual([]);
    // The tenant admin's probes reached the routes (not all refused at authentication).
    expect(statuses.get('tenant 2xx ') ?? 0).toBeGreaterThan(50);
    expect(statuses.get('tenant 4xx 401') ?? 0).toBe(0);
  });
});
