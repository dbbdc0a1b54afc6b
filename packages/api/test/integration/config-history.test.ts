import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditRepo, keySchema } from '@kumo/store';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let acmeKey: string;
let otherKey: string;

beforeAll(async () => {
  h = await harness();
  acmeKey = await h.tenant('acme');
  otherKey = await h.tenant('other');
});
afterAll(() => h.close());

type Change = { section: string; key: string; op: string; text: string; before: unknown; after: unknown };
type Version = { version: number; by: string; request: string; baseline: boolean; changes: Change[] };
const versions = async (tenant: string, key?: string): Promise<Version[]> =>
  (await h.call('GET', `/v1/tenants/${tenant}/config-history?limit=500`, key === undefined ? {} : { key })).json<{ items: Version[] }>().items;

describe('configuration history', () => {
  it('records each change with who and a readable diff, never a secret; exports CSV; restores a version (audited); isolates tenants', async () => {
    const ext = { number: '2001', displayName: '山田', password: 'secret-pass-1', department: '営業部' };
    expect((await h.call('POST', '/v1/tenants/acme/extensions', { key: acmeKey, body: ext })).statusCode).toBe(201);
    expect((await h.call('POST', '/v1/tenants/acme/extensions', { key: acmeKey, body: { ...ext, number: '2002', displayName: '佐藤' } })).statusCode).toBe(201);
    let vs = await versions('acme', acmeKey);
    // Newest first: the add of 202, the add of 201, and the (empty-section) baseline recorded nothing.
    expect(vs.map((v) => v.changes.map((c) => `${c.op} ${c.key}`))).toEqual([['add 2002'], ['add 2001']]);
    expect(vs[0]?.request).toBe('POST /v1/tenants/acme/extensions');
    expect(vs[0]?.by).toMatch(/^tenant-admin:/);
    const afterTwo = vs[0]!.version;

    expect((await h.call('PATCH', '/v1/tenants/acme/extensions/2001', { key: acmeKey, body: { displayName: 'Yamada', forwarding: { busy: '2002' } } })).statusCode).toBe(200);
    expect((await h.call('PATCH', '/v1/tenants/acme/extensions/2001', { key: acmeKey, body: { password: 'another-pass-2' } })).statusCode).toBe(200);
    // 2001 forwards to 2002: the delete is refused while it does (docs/api.md, the delete policy), so the forwarding goes first.
    expect((await h.call('DELETE', '/v1/tenants/acme/extensions/2002', { key: acmeKey })).statusCode).toBe(409);
    expect((await h.call('PATCH', '/v1/tenants/acme/extensions/2001', { key: acmeKey, body: { forwarding: { busy: null } } })).statusCode).toBe(200);
    expect((await h.call('DELETE', '/v1/tenants/acme/extensions/2002', { key: acmeKey })).statusCode).toBe(204);
    expect((await h.call('PATCH', '/v1/tenants/acme', { body: { notes: '年度更新' } })).statusCode).toBe(200);
    vs = await versions('acme', acmeKey);
    const texts = vs.flatMap((v) => v.changes.map((c) => c.text));
    expect(texts).toContain('extensions 2001: displayName "山田" → "Yamada"; forwarding.busy null → "2002"');
    expect(texts).toContain('extensions 2002: removed');
    // Tenant notes are operator-only: the operator's history shows the change, the tenant admin's does not.
    expect(texts.some((t) => t.includes('年度更新'))).toBe(false);
    expect((await versions('acme')).flatMap((v) => v.changes.map((c) => c.text)).some((t) => t.startsWith('tenant: ') && t.includes('"年度更新"'))).toBe(true);
    // A password change alters nothing the history keeps: no version for it, and no HA1 anywhere.
    // (Two versions of PATCH …/2001: the rename + forwarding, and clearing the forwarding before the delete.)
    expect(vs.filter((v) => v.request === 'PATCH /v1/tenants/acme/extensions/2001')).toHaveLength(2);
    const raw = JSON.stringify(vs);
    expect(raw).not.toMatch(/ha1|secret-pass|another-pass/i);

    const csv = await h.call('GET', '/v1/tenants/acme/config-history.csv?lang=ja', { key: acmeKey });
    expect(csv.statusCode).toBe(200);
    expect(csv.body.split('\r\n')[0]).toBe('版,日時,変更者,要求,区分,対象,操作,内容');
    expect(csv.body).toContain('extensions 2002: removed');

    // Isolation: the other tenant sees none of it and cannot reach acme's history.
    expect(await versions('other', otherKey)).toEqual([]);
    expect((await h.call('GET', '/v1/tenants/acme/config-history', { key: otherKey })).statusCode).toBe(404);
    expect((await h.call('POST', `/v1/tenants/acme/config-history/${afterTwo}/restore`, { key: acmeKey })).statusCode).toBe(403);

    // Restore to "both extensions, 201 unmodified".
    const r = await h.call('POST', `/v1/tenants/acme/config-history/${afterTwo}/restore`);
    expect(r.statusCode).toBe(200);
    const body = r.json<{ problems: string[]; newPasswords: Record<string, string>; version: Version }>();
    expect(body.problems).toEqual([]);
    expect(Object.keys(body.newPasswords)).toEqual(['2002']);
    expect(body.version.request).toBe(`restore of version ${afterTwo}`);
    expect(body.version.by).toMatch(/^operator:/);
    const e201 = (await h.call('GET', '/v1/tenants/acme/extensions/2001', { key: acmeKey })).json<{ displayName: string; forwarding: unknown }>();
    expect(e201).toMatchObject({ displayName: '山田', forwarding: {} });
    expect((await h.call('GET', '/v1/tenants/acme/extensions/2002', { key: acmeKey })).statusCode).toBe(200);
    expect((await h.call('GET', '/v1/tenants/acme')).json<{ notes: string }>().notes).toBe('');
    // The restore went through the repository: the provisioning audit stream has the operator's writes.
    const audit = await new AuditRepo(h.redis, keySchema(h.prefix)).list('acme', { limit: 20 });
    expect(JSON.stringify(audit)).toMatch(/operator/);
    expect((await h.call('POST', '/v1/tenants/acme/config-history/9999/restore')).statusCode).toBe(404);
  });
});
