/**
 * `?lang=ja` exports are Japanese through and through: headers, every vocabulary value
 * (classes, dispositions, directions, report sections, permission classes …) and times in
 * Asia/Tokyo with the offset. Snapshots of each export at fixed times.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCdr, rateCdr, type CallDirection, type Cdr } from '@kumo/domain';
import { BillingLedger, keySchema } from '@kumo/store';
import { harness, type Harness } from './helpers.js';
import { VOCABULARY } from '../../src/vocabulary.js';

let h: Harness;
let key: string;
const NOW = Date.UTC(2026, 10, 24, 23, 30, 0); // 2026-11-25 08:30 JST
const t = (path: string) => `/v1/tenants/jacsv${path}`;

function cdr(i: number, o: { dir?: CallDirection; to: string; secs: number; status?: number; answered?: boolean; reason?: string }): Cdr {
  const start = NOW + i * 60_000;
  const answered = o.answered ?? true;
  return buildCdr({
    tenantId: 'jacsv',
    aLegCallId: `ja-${i}`,
    aLegFromTag: 'f',
    direction: o.dir ?? 'outbound',
    caller: { dialled: '1001', extension: '1001', department: '営業部' },
    callee: { dialled: o.to },
    trunkId: 'ntt',
    startedAt: start,
    ...(answered ? { answeredAt: start } : {}),
    endedAt: start + o.secs * 1000,
    finalStatus: o.status ?? 200,
    ...(o.reason !== undefined ? { rejectionReason: o.reason } : {}),
  });
}

beforeAll(async () => {
  // A fixed clock, so the ledgers' timestamps are fixed.
  h = await harness({ now: () => new Date(NOW) });
  key = await h.tenant('jacsv');
  const call = (m: string, p: string, body: unknown) => h.call(m, t(p), { key, body });
  await call('POST', '/extensions', { number: '1001', displayName: '山田 太郎', password: 'pass1001x', department: '営業部', permissionClass: 'international' });
  await call('POST', '/extensions', { number: '1002', displayName: '鈴木 花子', password: 'pass1002x', permissionClass: 'internal', callerIdPresentation: 'restricted' });
  await call('POST', '/extensions', { number: '1003', displayName: '佐藤 一郎', password: 'pass1003x', permissionClass: 'mobile' });
  await call('POST', '/extensions', { number: '1004', displayName: '田中 次郎', password: 'pass1004x' });
  await call('POST', '/trunks', { id: 'ntt', name: 'NTT ひかり電話', channelLimit: 4, numberFormat: 'national', emergency: true, gateways: [{ host: '192.0.2.41' }] });
  await call('POST', '/trunks', { id: 'ipv', name: 'IP 事業者', channelLimit: 2, numberFormat: 'e164', callerName: 'extension', gateways: [{ host: '192.0.2.42' }] });
  const ledger = new BillingLedger(h.redis, keySchema(h.prefix), { closeGraceMs: 100 * 365 * 86_400_000, tariffCacheMs: 0 });
  const tariff = await ledger.tariffFor('jacsv');
  const cdrs = [
    cdr(1, { to: '0312345678', secs: 200 }),
    cdr(2, { to: '0422123456', secs: 100 }),
    cdr(3, { to: '0612345678', secs: 50 }),
    cdr(4, { to: '09012345678', secs: 61 }),
    cdr(5, { to: '05012345678', secs: 30 }),
    cdr(6, { to: '0101202555000', secs: 30 }),
    cdr(7, { to: '010862012345678', secs: 30 }),
    cdr(8, { to: '0120123456', secs: 20 }),
    cdr(9, { to: '0570123456', secs: 20 }),
    cdr(10, { to: '0312340000', secs: 0, answered: false, status: 486 }),
    cdr(11, { to: '0312340001', secs: 0, answered: false, status: 480 }),
    cdr(12, { to: '0312340002', secs: 0, answered: false, status: 487 }),
    cdr(13, { to: '0312340003', secs: 0, answered: false, status: 503 }),
    cdr(14, { to: '0312340004', secs: 0, answered: false, status: 403, reason: 'permission-denied' }),
    cdr(15, { dir: 'inbound', to: '+81312345678', secs: 40 }),
    cdr(16, { dir: 'emergency', to: '110', secs: 40 }),
    cdr(17, { dir: 'internal', to: '1002', secs: 40 }),
  ];
  await ledger.chargeBatch('jacsv', cdrs.map((c) => rateCdr(c, tariff)));
});
afterAll(() => h.close());

/** English vocabulary words that must not survive in a Japanese export (as whole cells). */
const ENGLISH = new Set(Object.values(VOCABULARY).flatMap((table) => Object.keys(table)));

function cells(csv: string): string[][] {
  return csv
    .trim()
    .split('\r\n')
    .map((l) => l.split(','));
}

async function csv(path: string): Promise<string> {
  const r = await h.call('GET', t(path), { key });
  expect(r.statusCode).toBe(200);
  return r.body;
}

describe('Japanese CSV exports', () => {
  it.each(['/ledgers/equipment.csv', '/ledgers/extensions.csv', '/ledgers/trunks.csv', '/billing/months/2026-11/report.csv', '/billing/months/2026-11/calls.csv'])(
    '%s?lang=ja has no English vocabulary left, and every time is JST with its offset',
    async (path) => {
      const text = await csv(`${path}?lang=ja`);
      for (const row of cells(text)) {
        for (const c of row) {
          expect(ENGLISH.has(c), `${path}: ${c}`).toBe(false);
          expect(c, path).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/);
        }
      }
      const en = await csv(path);
      expect(cells(en).length).toBe(cells(text).length);
    },
  );

  it('ledgers (snapshot)', async () => {
    expect(await csv('/ledgers/extensions.csv?lang=ja')).toBe(
      [
        '内線番号,表示名,部署,発信規制クラス,発信者番号通知,通知番号,無応答時間(秒),無条件転送先,話中転送先,無応答転送先,ピックアップグループ,登録日時,更新日時',
        '1001,山田 太郎,営業部,国際,通知,,30,,,,,2026-11-25 08:30:00+09:00,2026-11-25 08:30:00+09:00',
        '1002,鈴木 花子,,内線のみ,非通知,,30,,,,,2026-11-25 08:30:00+09:00,2026-11-25 08:30:00+09:00',
        '1003,佐藤 一郎,,国内（携帯含む）,通知,,30,,,,,2026-11-25 08:30:00+09:00,2026-11-25 08:30:00+09:00',
        '1004,田中 次郎,,国内（固定）,通知,,30,,,,,2026-11-25 08:30:00+09:00,2026-11-25 08:30:00+09:00',
        '',
      ].join('\r\n'),
    );
    expect(await csv('/ledgers/trunks.csv?lang=ja')).toBe(
      [
        '局線ID,名称,ゲートウェイ,同時通話数,番号形式,代表番号,緊急通報用,発信者名通知,登録ユーザー,登録日時',
        'ipv,IP 事業者,192.0.2.42:5060/udp(10),2,E.164形式（+81）,,いいえ,内線の表示名,,2026-11-25 08:30:00+09:00',
        'ntt,NTT ひかり電話,192.0.2.41:5060/udp(10),4,国内形式（0から）,,はい,通知しない（番号のみ）,,2026-11-25 08:30:00+09:00',
        '',
      ].join('\r\n'),
    );
    // English keeps the English values, with the same times.
    expect(await csv('/ledgers/trunks.csv')).toContain('ntt,NTT ひかり電話,192.0.2.41:5060/udp(10),4,national,,true,none,,2026-11-25 08:30:00+09:00\r\n');
  });

  it('billing report and calls (snapshot)', async () => {
    const report = await csv('/billing/months/2026-11/report.csv?lang=ja');
    expect(report).toMatchSnapshot();
    const calls = await csv('/billing/months/2026-11/calls.csv?lang=ja');
    expect(calls).toMatchSnapshot();
  });
});
