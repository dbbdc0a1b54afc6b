import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { DirectoryRepo, keySchema } from '@kumo/store';
import { harness, type Harness } from './helpers.js';

let h: Harness;
let key: string;
let dir: DirectoryRepo;

beforeAll(async () => {
  h = await harness();
  key = await h.tenant('res');
  dir = new DirectoryRepo(h.redis, keySchema(h.prefix));
});
afterAll(() => h.close());

const t = (path: string) => `/v1/tenants/res${path}`;

describe('tenant-admin resources', () => {
  it('extensions: create with every field, patch, password change, delete', async () => {
    const body = {
      number: '1001',
      displayName: '山田 太郎',
      password: 'pass1001',
      permissionClass: 'international',
      callerIdPresentation: 'restricted',
      outboundCallerId: '03-1234-5678',
      device: { mac: '00-11-22-AA-BB-CC', model: 'KX-HDV130', location: '東京本社 3F' },
      department: '営業部',
      noAnswerTimeoutSec: 20,
      forwarding: { busy: '1002', noAnswer: '0312345678' },
    };
    // Forwarding targets must exist (UNKNOWN_REFERENCE otherwise).
    expect((await h.call('POST', t('/extensions'), { key, body: { number: '1002', displayName: 'B', password: 'pass1002' } })).statusCode).toBe(201);
    const r = await h.call('POST', t('/extensions'), { key, body });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ outboundCallerId: '+81312345678', device: { mac: '00:11:22:aa:bb:cc' }, noAnswerTimeoutSec: 20 });
    const before = await dir.extension('res', '1001');
    const p = await h.call('PATCH', t('/extensions/1001'), { key, body: { displayName: 'Yamada', forwarding: null, outboundCallerId: null } });
    expect(p.json()).toMatchObject({ displayName: 'Yamada', forwarding: {}, department: '営業部' });
    expect(p.json()).not.toHaveProperty('outboundCallerId');
    expect((await dir.extension('res', '1001'))?.ha1Md5).toBe(before?.ha1Md5);
    await h.call('PATCH', t('/extensions/1001'), { key, body: { password: 'newsecret1' } });
    expect((await dir.extension('res', '1001'))?.ha1Md5).not.toBe(before?.ha1Md5);
    expect((await h.call('DELETE', t('/extensions/1001'), { key })).statusCode).toBe(204);
    expect((await h.call('DELETE', t('/extensions/1001'), { key })).statusCode).toBe(404);
    expect(await dir.numberKind('res', '1001')).toBeNull();
    expect((await h.call('DELETE', t('/extensions/1002'), { key })).statusCode).toBe(204);
  });

  it('pagination walks every extension once', async () => {
    for (let i = 0; i < 25; i++) await h.call('POST', t('/extensions'), { key, body: { number: String(3000 + i), displayName: 'p', password: 'password' } });
    const seen: string[] = [];
    let after: string | null = '';
    while (after !== null) {
      const r = await h.call('GET', t(`/extensions?limit=10${after ? `&after=${after}` : ''}`), { key });
      const body = r.json<{ items: { number: string }[]; next: string | null }>();
      seen.push(...body.items.map((e) => e.number));
      after = body.next;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => String(3000 + i)));
  });

  it('ring groups and pickup groups', async () => {
    const rg = await h.call('POST', t('/ring-groups'), {
      key,
      body: { number: '500', name: 'Sales', strategy: 'sequential', members: [{ extension: '3001', timeoutSec: 10 }, { extension: '3000' }], totalTimeoutSec: 40, overflow: '3002' },
    });
    expect(rg.statusCode).toBe(201);
    expect(rg.json().members).toEqual([
      { extension: '3001', timeoutSec: 10 },
      { extension: '3000', timeoutSec: 20 },
    ]);
    const put = await h.call('PUT', t('/ring-groups/500'), { key, body: { name: 'Sales', strategy: 'round-robin', members: [{ extension: '3002' }] } });
    expect(put.json()).toMatchObject({ strategy: 'round-robin', createdAt: rg.json().createdAt });
    expect((await h.call('GET', t('/ring-groups'), { key })).json().items).toHaveLength(1);
    const pg = await h.call('POST', t('/pickup-groups'), { key, body: { id: 'floor3', name: '3F', members: ['3000', '3001'] } });
    expect(pg.statusCode).toBe(201);
    expect((await dir.pickupGroupsOf('res', '3001')).map((g) => g.id)).toEqual(['floor3']);
    expect((await h.call('PUT', t('/pickup-groups/floor3'), { key, body: { name: '3F', members: ['3002'] } })).json().members).toEqual(['3002']);
    expect((await h.call('DELETE', t('/pickup-groups/floor3'), { key })).statusCode).toBe(204);
    expect((await h.call('DELETE', t('/ring-groups/500'), { key })).statusCode).toBe(204);
    expect(await dir.numberKind('res', '500')).toBeNull();
  });

  it('trunks: registration password stored for sip, never returned, kept on PUT without password', async () => {
    const body = {
      id: 'ntt',
      name: 'NTT ひかり電話',
      gateways: [{ host: '192.0.2.20', priority: 20 }, { host: '192.0.2.21', port: 5070, transport: 'tcp', priority: 10 }],
      registration: { username: 'user1', password: 's3cret!' },
      channelLimit: 4,
      numberFormat: 'national',
      callerId: '0312345678',
      emergency: true,
    };
    const r = await h.call('POST', t('/trunks'), { key, body });
    expect(r.statusCode).toBe(201);
    expect(r.body).not.toContain('s3cret');
    expect(r.json().gateways.map((g: { host: string }) => g.host)).toEqual(['192.0.2.21', '192.0.2.20']);
    expect((await dir.trunkBySourceAddress('192.0.2.21'))?.trunk.registration?.password).toBe('s3cret!');
    const put = await h.call('PUT', t('/trunks/ntt'), { key, body: { name: 'NTT', gateways: [{ host: '192.0.2.22' }], registration: { username: 'user2' }, channelLimit: 2 } });
    expect(put.statusCode).toBe(200);
    expect(put.body).not.toContain('s3cret');
    const stored = await dir.trunk('res', 'ntt');
    expect(stored?.registration).toMatchObject({ username: 'user2', password: 's3cret!' });
    expect(await dir.trunkBySourceAddress('192.0.2.21')).toBeNull();
    expect((await dir.trunkBySourceAddress('192.0.2.22'))?.tenantId).toBe('res');
    const noPw = await h.call('PUT', t('/trunks/ntt'), { key, body: { name: 'NTT', gateways: [{ host: '192.0.2.22' }], channelLimit: 2 } });
    expect(noPw.json().registration).toBeUndefined();
    const missing = await h.call('PUT', t('/trunks/ntt'), { key, body: { name: 'NTT', gateways: [{ host: '192.0.2.22' }], registration: { username: 'u' }, channelLimit: 2 } });
    expect([missing.statusCode, missing.json().code]).toEqual([400, 'KUMO_ERR_VALIDATION']);
    expect((await h.call('DELETE', t('/trunks/ntt'), { key })).statusCode).toBe(204);
    expect(await dir.trunkBySourceAddress('192.0.2.22')).toBeNull();
  });

  it('DIDs: national input stored as E.164, addressed by either form', async () => {
    const r = await h.call('POST', t('/dids'), { key, body: { number: '03-5555-1234', target: { type: 'extension', number: '3000' }, description: '代表' } });
    expect(r.json()).toMatchObject({ number: '+81355551234', description: '代表' });
    expect((await h.call('GET', t('/dids/0355551234'), { key })).json().number).toBe('+81355551234');
    expect((await h.call('GET', t(`/dids/${encodeURIComponent('+81355551234')}`), { key })).statusCode).toBe(200);
    expect((await dir.didLookup('+81355551234'))?.did.target).toEqual({ type: 'extension', number: '3000' });
    const put = await h.call('PUT', t('/dids/0355551234'), { key, body: { target: { type: 'extension', number: '3001' } } });
    expect(put.json().target.number).toBe('3001');
    expect((await h.call('DELETE', t('/dids/0355551234'), { key })).statusCode).toBe(204);
    expect(await dir.didLookup('0355551234')).toBeNull();
  });

  it('numbering plan defaults and update', async () => {
    expect((await h.call('GET', t('/numbering-plan'), { key })).json()).toEqual({ extensionLength: 4, outsideLinePrefix: '0', featureCodes: { pickup: '*8', directedPickup: '**' } });
    const r = await h.call('PUT', t('/numbering-plan'), { key, body: { featureCodes: { pickup: '*9' } } });
    expect(r.json().featureCodes.pickup).toBe('*9');
    expect(await dir.numberKind('res', '*9')).toBe('feature');
    expect(await dir.numberKind('res', '*8')).toBeNull();
  });

  it('platform restriction level', async () => {
    expect((await h.call('GET', '/v1/platform/restriction')).json()).toEqual({ level: 0 });
    expect((await h.call('PUT', '/v1/platform/restriction', { body: { level: 2 } })).json()).toEqual({ level: 2 });
    expect(await dir.platformRestrictionLevel()).toBe(2);
    expect((await h.call('PUT', '/v1/platform/restriction', { body: { level: 9 } })).statusCode).toBe(400);
    const audit = await h.call('GET', '/v1/platform/audit?limit=1');
    expect(audit.json().items[0]).toMatchObject({ action: 'platform.restriction', before: { level: 0 }, after: { level: 2 } });
  });
});

describe('ledgers', () => {
  beforeAll(async () => {
    await h.call('POST', t('/extensions'), {
      key,
      body: { number: '4001', displayName: '髙橋 "ハシゴ", 一郎', password: 'password', department: '総務部', device: { mac: 'aabbccddeeff', model: '=HYPERLINK("x")', location: '大阪支店' } },
    });
    await h.call('POST', t('/trunks'), { key, body: { id: 'kddi', name: 'KDDI 光ダイレクト', gateways: [{ host: '192.0.2.30' }], channelLimit: 2, callerId: '+81612345678' } });
  });

  it('UTF-8 with English headers by default', async () => {
    const r = await h.call('GET', t('/ledgers/equipment.csv'), { key });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(r.headers['content-disposition']).toBe('attachment; filename="res-equipment.csv"');
    const lines = r.body.split('\r\n');
    expect(lines[0]).toBe('extension,display_name,department,mac,model,location');
    expect(lines).toContain(`4001,"髙橋 ""ハシゴ"", 一郎",総務部,aa:bb:cc:dd:ee:ff,"'=HYPERLINK(""x"")",大阪支店`);
  });

  it('Shift_JIS with Japanese headers round-trips', async () => {
    const r = await h.call('GET', t('/ledgers/extensions.csv?encoding=shift_jis&lang=ja'), { key });
    expect(r.headers['content-type']).toBe('text/csv; charset=Windows-31J');
    const raw = r.rawPayload;
    expect(raw.includes(Buffer.from('内線番号', 'utf8'))).toBe(false);
    const text = iconv.decode(raw, 'Shift_JIS');
    expect(text.split('\r\n')[0]).toBe('内線番号,表示名,部署,発信規制クラス,発信者番号通知,通知番号,無応答時間(秒),無条件転送先,話中転送先,無応答転送先,ピックアップグループ,登録日時,更新日時');
    expect(text).toContain('4001,"髙橋 ""ハシゴ"", 一郎",総務部,国内（固定）,通知');
    const utf8 = (await h.call('GET', t('/ledgers/extensions.csv?lang=ja'), { key })).body;
    expect(text).toBe(utf8);
  });

  it('trunk ledger', async () => {
    const r = await h.call('GET', t('/ledgers/trunks.csv?lang=ja&encoding=shift_jis'), { key });
    const text = iconv.decode(r.rawPayload, 'Shift_JIS');
    expect(text.split('\r\n')[0]).toBe('局線ID,名称,ゲートウェイ,同時通話数,番号形式,代表番号,緊急通報用,発信者名通知,登録ユーザー,登録日時');
    expect(text).toContain('kddi,KDDI 光ダイレクト,192.0.2.30:5060/udp(10),2,国内形式（0から）,+81612345678,いいえ,通知しない（番号のみ）,,');
  });
});

describe('audit stream', () => {
  it('records who, when and what, newest first, without secrets, paginated', async () => {
    const r = await h.call('GET', t('/audit?limit=5'), { key });
    expect(r.statusCode).toBe(200);
    type Entry = { id: string; at: string; actor: { keyId: string; role: string }; action: string; target: string; before: unknown; after: unknown };
    const body = r.json<{ items: Entry[]; next: string }>();
    expect(body.items).toHaveLength(5);
    expect(body.items[0]).toMatchObject({ action: 'trunk.create', target: 'trunk:kddi', actor: { role: 'tenant-admin' } });
    expect(Date.parse(body.items[0]!.at)).toBeGreaterThan(Date.now() - 60_000);
    const me = (await h.call('GET', '/v1/me', { key })).json();
    expect(body.items[0]!.actor.keyId).toBe(me.id);
    const next = await h.call('GET', t(`/audit?limit=1000&before=${body.next}`), { key });
    const all: Entry[] = [...body.items, ...next.json<{ items: Entry[] }>().items];
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    const actions = all.map((e) => e.action);
    expect(actions).toContain('extension.update+password');
    expect(actions.at(-1)).toBe('tenant.create');
    const text = JSON.stringify(all);
    expect(text).not.toMatch(/s3cret|pass1001|newsecret1/);
    expect(text).not.toMatch(/"ha1(Md5|Sha256)":"[0-9a-f]/);
    const pw = all.find((e) => e.action === 'extension.update+password');
    expect(pw?.after).toMatchObject({ ha1Md5: '[redacted]' });
    const issued = all.find((e) => e.action === 'apiKey.issue');
    expect(issued?.actor.role).toBe('operator');
  });
});
