/**
 * Japanese for every value a CSV export writes from a fixed vocabulary (classes, dispositions,
 * report sections …), so `?lang=ja` exports are Japanese through and through. One table per
 * vocabulary; `ja(kind, value)` falls back to the value itself for names and numbers (an
 * extension number, a department, a trunk id are data, not vocabulary). The domain's
 * vocabularies are checked at compile time (`satisfies Record<…>`): a new value needs its Japanese.
 */
import type { CALLER_ID_PRESENTATIONS, NUMBER_FORMATS, PERMISSION_CLASSES } from '@kumo/domain';
import type { CallDirection, CallerNameMode, DestinationClass, Disposition } from '@kumo/domain';

type Table = Readonly<Record<string, string>>;

export const VOCABULARY = {
  direction: { internal: '内線', outbound: '発信', inbound: '着信', emergency: '緊急通報' } satisfies Record<CallDirection, string>,
  disposition: {
    answered: '応答',
    'no-answer': '不応答',
    busy: '話中',
    failed: '失敗',
    cancelled: '発信取消',
    rejected: '接続拒否',
    unreachable: '接続先なし',
  } satisfies Record<Disposition, string>,
  callClass: {
    fixed: '固定電話',
    ip: 'IP電話',
    mobile: '携帯電話',
    tollfree: 'フリーダイヤル',
    international: '国際電話',
    other: 'その他',
    service: 'サービス番号（104・117等）',
    emergency: '緊急通報',
    internal: '内線',
    inbound: '着信',
  } satisfies Record<DestinationClass, string>,
  fixedBand: { local: '区域内', near: '隣接区域', far: '区域外' },
  section: { main: '当月分', adjustments: '調整分', adjustment: '調整分', tax: '消費税', summary: '合計' },
  dimension: { total: '合計', class: '通話種別', extension: '内線', department: '部署', trunk: '局線' },
  summaryKey: { subtotal_jpy: '小計(円)', tax_jpy: '消費税額(円)', total_jpy: '合計請求額(円)' },
  permissionClass: { internal: '内線のみ', national: '国内（固定）', mobile: '国内（携帯含む）', international: '国際' } satisfies Record<
    (typeof PERMISSION_CLASSES)[number],
    string
  >,
  callerIdPresentation: { allowed: '通知', restricted: '非通知' } satisfies Record<(typeof CALLER_ID_PRESENTATIONS)[number], string>,
  numberFormat: { e164: 'E.164形式（+81）', national: '国内形式（0から）' } satisfies Record<(typeof NUMBER_FORMATS)[number], string>,
  callerName: { none: '通知しない（番号のみ）', extension: '内線の表示名' } satisfies Record<Exclude<CallerNameMode, 'fixed'>, string>,
  boolean: { true: 'はい', false: 'いいえ' },
} as const satisfies Record<string, Table>;

export type VocabularyKind = keyof typeof VOCABULARY;

/** The Japanese of a vocabulary value; other values (names, numbers) as they are. */
export function ja(kind: VocabularyKind, value: string | boolean | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const t: Table = VOCABULARY[kind];
  return t[String(value)] ?? String(value);
}

/** A tariff rate key (`fixed:local`, `intl:44`, `intl:default`, `mobile` …) in Japanese. */
export function jaRateKey(key: string): string {
  const [cls = '', sub] = key.split(':');
  if (cls === 'fixed' && sub !== undefined) return `${VOCABULARY.callClass.fixed}（${ja('fixedBand', sub) ?? sub}）`;
  if (cls === 'intl') return `${VOCABULARY.callClass.international}（${sub === undefined || sub === 'default' ? 'その他の国' : `+${sub}`}）`;
  return ja('callClass', key) ?? key;
}

/** `rate_10%` (a tax dimension of the report) → `税率10%`. */
export function jaDimension(d: string): string {
  const m = /^rate_(.+)$/.exec(d);
  return m !== null ? `税率${m[1] ?? ''}` : (ja('dimension', d) ?? d);
}
