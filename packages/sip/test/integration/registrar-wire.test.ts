import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildDigestAuthorization, parseChallenge } from '@kumo/sip';
import { memoryDirectory } from '../helpers/fake-sip.js';
import { TestUac, type WireResponse } from '../helpers/sip-client.js';
import { startStack, type Stack } from '../helpers/stack.js';

const DOMAIN = 'demo.kumo.test';

function answer(r: WireResponse, o: { user: string; password: string; algorithm: 'SHA-256' | 'MD5'; domain?: string }): string {
  const ch = r.all('www-authenticate').map(parseChallenge).find((c) => c?.algorithm === o.algorithm);
  if (!ch) throw new Error(`no ${o.algorithm} challenge:\n${r.raw}`);
  return buildDigestAuthorization({
    algorithm: o.algorithm, username: o.user, password: o.password, realm: ch.realm, nonce: ch.nonce,
    method: 'REGISTER', uri: `sip:${o.domain ?? DOMAIN}`, nc: 1, cnonce: randomBytes(8).toString('hex'),
  });
}

describe.each(['udp', 'tcp'] as const)('registrar on the wire over %s: SHA-256 client, enumeration, expiry', (transport) => {
  let s: Stack;
  let uac: TestUac;
  beforeAll(async () => {
    s = await startStack({
      redisUrl: inject('redisUrl'),
      directory: memoryDirectory([{ id: 'demo', domain: DOMAIN, extensions: { '1001': 'pass1001', '1002': 'pass1002' } }]),
    });
    uac = await TestUac.open(transport, '127.0.0.1', s.sipPort);
  });
  afterAll(async () => {
    uac.close();
    await s.close();
  });

  it('registers with SHA-256 (offered first) and the 200 lists the binding', async () => {
    const base = { user: '1001', domain: DOMAIN, contact: '<sip:1001@127.0.0.1:7100>', expires: 300, callId: `sha-${transport}` };
    const c = await uac.register({ ...base, cseq: 1 });
    expect(c.status).toBe(401);
    const ch = c.all('www-authenticate');
    expect(ch).toHaveLength(2);
    expect(ch[0]).toMatch(/^Digest realm="demo\.kumo\.test", nonce="[^"]+", algorithm=SHA-256, qop="auth"$/);
    expect(ch[1]).toMatch(/algorithm=MD5/);
    const ok = await uac.register({ ...base, cseq: 2, authorization: answer(c, { user: '1001', password: 'pass1001', algorithm: 'SHA-256' }) });
    expect(ok.status, ok.raw).toBe(200);
    expect(ok.one('contact')).toBe('<sip:1001@127.0.0.1:7100>;expires=300');
    const [b] = await s.app.location.contactsFor('demo', '1001');
    expect(b).toMatchObject({ contact: 'sip:1001@127.0.0.1:7100', source: { address: '127.0.0.1', port: uac.local.port, transport } });
  });

  it('existing user, unknown user and unknown domain get identical answers apart from nonces', async () => {
    const norm = (r: WireResponse, user: string, domain: string) =>
      r.raw
        .replaceAll(`${user}@${domain}`, 'USER@DOMAIN')
        .replaceAll(`realm="${domain}"`, 'realm="DOMAIN"')
        .replace(/nonce="[^"]+"/g, 'nonce="*"')
        .replace(/;tag=[^\s;>]+/g, ';tag=*')
        .replace(/branch=[^\s;]+/g, 'branch=*')
        .replace(/Call-ID: \S+/i, 'Call-ID: *')
        .replace(/CSeq: \d+/i, 'CSeq: *')
        .replace(/Date: .*\r\n/i, '');
    const who = [
      { user: '1002', domain: DOMAIN },
      { user: '9999', domain: DOMAIN },
      { user: '1002', domain: 'nowhere.kumo.test' },
    ];
    const challenges: string[] = [];
    const finals: string[] = [];
    for (const [i, w] of who.entries()) {
      const base = { ...w, contact: `<sip:${w.user}@127.0.0.1:7200>`, expires: 60, callId: `enum-${transport}-${i}` };
      const c = await uac.register({ ...base, cseq: 1 });
      challenges.push(norm(c, w.user, w.domain));
      const f = await uac.register({ ...base, cseq: 2, authorization: answer(c, { user: w.user, password: 'wrong-guess', algorithm: 'SHA-256', domain: w.domain }) });
      expect(f.status).toBe(403);
      finals.push(norm(f, w.user, w.domain));
    }
    expect(challenges[1]).toBe(challenges[0]);
    expect(challenges[2]).toBe(challenges[0]);
    expect(finals[1]).toBe(finals[0]);
    expect(finals[2]).toBe(finals[0]);
  });

  it('bindings vanish when they expire', async () => {
    const base = { user: '1002', domain: DOMAIN, contact: '<sip:1002@127.0.0.1:7300>', expires: 2, callId: `exp-${transport}` };
    const c = await uac.register({ ...base, cseq: 1 });
    const ok = await uac.register({ ...base, cseq: 2, authorization: answer(c, { user: '1002', password: 'pass1002', algorithm: 'SHA-256' }) });
    expect(ok.status).toBe(200);
    expect(await s.app.location.contactsFor('demo', '1002')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 2100));
    expect(await s.app.location.contactsFor('demo', '1002')).toHaveLength(0);
    expect(await s.redis.exists(s.keys.tenant.regBindings('demo', '1002'))).toBe(0);
  });
});
