import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runSipp, type SippResult } from '@kumo/testkit';
import { memoryDirectory } from '../helpers/fake-sip.js';
import { startStack, type Stack } from '../helpers/stack.js';

const scenario = (name: string): { file: string } => ({ file: fileURLToPath(new URL(`../scenarios/${name}.xml`, import.meta.url)) });

function explain(r: SippResult): string {
  return `sipp exit ${r.code}: ${r.errors.slice(0, 1500)} ${r.stderr.slice(0, 500)}`;
}

describe.each(['udp', 'tcp'] as const)('registrar with sipp over %s (engine + drachtio-srf + Redis)', (transport) => {
  let s: Stack;
  const directory = memoryDirectory([
    { id: 'demo', domain: 'demo.kumo.test', extensions: { '1001': 'pass1001', '1002': 'pass1002', '1003': 'pass1003', '1004': 'pass1004' } },
  ]);
  beforeAll(async () => {
    s = await startStack({ redisUrl: inject('redisUrl'), directory, settings: { nonceLifetimeMs: 1000 } });
  });
  afterAll(async () => {
    await s.close();
  });

  const dir = mkdtempSync(join(tmpdir(), 'kumo-reg-sipp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  /** One sipp call; user, password and domain go through an injection file (sipp cannot nest keywords). */
  const sipp = (name: string, k: { user: string; password: string; domain?: string; contact: string; expires?: string }) => {
    const inf = join(dir, `users-${n++}.csv`);
    const domain = k.domain ?? 'demo.kumo.test';
    writeFileSync(inf, `SEQUENTIAL\n${k.user};${k.password};${domain};[authentication username=${k.user} password=${k.password}]\n`);
    return runSipp({
      scenario: scenario(name),
      target: s.sipTarget,
      transport,
      calls: 1,
      timeoutS: 15,
      keys: { contact: k.contact, expires: k.expires ?? '120' },
      args: ['-inf', inf],
    });
  };
  const bindings = (ext: string) => s.app.location.contactsFor('demo', ext);

  it('registers with MD5, refreshes, unregisters', async () => {
    const c = '<sip:1001@127.0.0.1:7001>';
    let r = await sipp('register-ok', { user: '1001', password: 'pass1001', contact: c });
    expect(r.ok, explain(r)).toBe(true);
    let b = await bindings('1001');
    expect(b).toHaveLength(1);
    expect(b[0]).toMatchObject({ contact: 'sip:1001@127.0.0.1:7001', userAgent: 'sipp-kumo', source: { address: '127.0.0.1', transport } });
    const firstExpiry = b[0]!.expiresAt;
    await new Promise((res) => setTimeout(res, 20));
    r = await sipp('register-ok', { user: '1001', password: 'pass1001', contact: c, expires: '300' });
    expect(r.ok, explain(r)).toBe(true);
    b = await bindings('1001');
    expect(b).toHaveLength(1);
    expect(b[0]!.expiresAt).toBeGreaterThan(firstExpiry + 100_000);
    r = await sipp('register-ok', { user: '1001', password: 'pass1001', contact: c, expires: '0' });
    expect(r.ok, explain(r)).toBe(true);
    expect(await bindings('1001')).toHaveLength(0);
    expect(await s.redis.exists(s.keys.tenant.regBindings('demo', '1001'))).toBe(0);
  });

  it('Contact: * with Expires: 0 removes every binding', async () => {
    for (const port of [7002, 7003]) {
      const r = await sipp('register-ok', { user: '1002', password: 'pass1002', contact: `<sip:1002@127.0.0.1:${port}>` });
      expect(r.ok, explain(r)).toBe(true);
    }
    expect(await bindings('1002')).toHaveLength(2);
    const r = await sipp('register-ok', { user: '1002', password: 'pass1002', contact: '*', expires: '0' });
    expect(r.ok, explain(r)).toBe(true);
    expect(await bindings('1002')).toHaveLength(0);
  });

  it.each([
    { name: 'wrong password', user: '1003', password: 'nope', domain: 'demo.kumo.test' },
    { name: 'unknown user', user: '7777', password: 'pass1003', domain: 'demo.kumo.test' },
    { name: 'unknown domain', user: '1003', password: 'pass1003', domain: 'nowhere.kumo.test' },
    { name: 'too many contacts', user: '1003', password: 'pass1003', domain: 'demo.kumo.test', contact: '<sip:a@127.0.0.1:1>, <sip:b@127.0.0.1:2>, <sip:c@127.0.0.1:3>' },
  ])('403 for $name, nothing stored', async ({ user, password, domain, contact }) => {
    const r = await sipp('register-forbidden', { user, password, domain, contact: contact ?? `<sip:${user}@127.0.0.1:7004>` });
    expect(r.ok, explain(r)).toBe(true);
    expect(await bindings(user)).toHaveLength(0);
    expect(await s.app.location.countBindings('demo')).toBe(0);
  });

  it('423 Interval Too Brief with Min-Expires', async () => {
    const r = await sipp('register-brief', { user: '1004', password: 'pass1004', contact: '<sip:1004@127.0.0.1:7005>', expires: '1' });
    expect(r.ok, explain(r)).toBe(true);
    expect(await bindings('1004')).toHaveLength(0);
  });

  it('stale nonce: re-challenged with stale=true, then registered', async () => {
    const r = await sipp('register-stale', { user: '1004', password: 'pass1004', contact: '<sip:1004@127.0.0.1:7006>' });
    expect(r.ok, explain(r)).toBe(true);
    expect(await bindings('1004')).toHaveLength(1);
  });
});
