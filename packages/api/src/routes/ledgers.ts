import type { ExtensionRecord, PickupGroup, TrunkRecord } from '@kumo/domain';
import type { ProvisioningRepo } from '@kumo/store';
import { defineRoutes, tenantOf } from '../context.js';
import { contentType, csvTime, encodeCsv, toCsv, type CsvColumn, type CsvEncoding, type CsvLang } from '../csv.js';
import { ja } from '../vocabulary.js';
import { csvQuery, csvResponse, tenantParams } from '../schemas.js';

const equipment: CsvColumn<ExtensionRecord>[] = [
  { en: 'extension', ja: '内線番号', value: (e) => e.number },
  { en: 'display_name', ja: '表示名', value: (e) => e.displayName },
  { en: 'department', ja: '部署', value: (e) => e.department },
  { en: 'mac', ja: 'MACアドレス', value: (e) => e.device.mac },
  { en: 'model', ja: '機種', value: (e) => e.device.model },
  { en: 'location', ja: '設置場所', value: (e) => e.device.location },
];

const extensions = (pickup: Map<string, string[]>): CsvColumn<ExtensionRecord>[] => [
  { en: 'extension', ja: '内線番号', value: (e) => e.number },
  { en: 'display_name', ja: '表示名', value: (e) => e.displayName },
  { en: 'department', ja: '部署', value: (e) => e.department },
  { en: 'permission_class', ja: '発信規制クラス', value: (e, l) => (l === 'ja' ? ja('permissionClass', e.permissionClass) : e.permissionClass) },
  { en: 'caller_id_presentation', ja: '発信者番号通知', value: (e, l) => (l === 'ja' ? ja('callerIdPresentation', e.callerIdPresentation) : e.callerIdPresentation) },
  { en: 'outbound_caller_id', ja: '通知番号', value: (e) => e.outboundCallerId },
  { en: 'no_answer_timeout_sec', ja: '無応答時間(秒)', value: (e) => e.noAnswerTimeoutSec },
  { en: 'forward_unconditional', ja: '無条件転送先', value: (e) => e.forwarding.unconditional },
  { en: 'forward_busy', ja: '話中転送先', value: (e) => e.forwarding.busy },
  { en: 'forward_no_answer', ja: '無応答転送先', value: (e) => e.forwarding.noAnswer },
  { en: 'pickup_groups', ja: 'ピックアップグループ', value: (e) => (pickup.get(e.number) ?? []).join(' ') },
  { en: 'created_at', ja: '登録日時', value: (e) => csvTime(e.createdAt) },
  { en: 'updated_at', ja: '更新日時', value: (e) => csvTime(e.updatedAt) },
];

const trunks: CsvColumn<TrunkRecord>[] = [
  { en: 'trunk_id', ja: '局線ID', value: (t) => t.id },
  { en: 'name', ja: '名称', value: (t) => t.name },
  { en: 'gateways', ja: 'ゲートウェイ', value: (t) => t.gateways.map((g) => `${g.host}:${g.port}/${g.transport}(${g.priority})`).join(' ') },
  { en: 'channel_limit', ja: '同時通話数', value: (t) => t.channelLimit },
  { en: 'number_format', ja: '番号形式', value: (t, l) => (l === 'ja' ? ja('numberFormat', t.numberFormat) : t.numberFormat) },
  { en: 'caller_id', ja: '代表番号', value: (t) => t.callerId },
  { en: 'emergency', ja: '緊急通報用', value: (t, l) => (l === 'ja' ? ja('boolean', t.emergency) : t.emergency) },
  {
    en: 'caller_name',
    ja: '発信者名通知',
    value: (t, l) => (t.callerName === 'fixed' ? t.callerNameFixed : l === 'ja' ? ja('callerName', t.callerName ?? 'none') : (t.callerName ?? 'none')),
  },
  { en: 'registration_user', ja: '登録ユーザー', value: (t) => t.registration?.username },
  { en: 'created_at', ja: '登録日時', value: (t) => csvTime(t.createdAt) },
];

async function allExtensions(repo: ProvisioningRepo, tenantId: string): Promise<ExtensionRecord[]> {
  const out: ExtensionRecord[] = [];
  let after: string | undefined;
  for (;;) {
    const p = await repo.listExtensions(tenantId, { after, limit: 1000 });
    out.push(...p.items);
    if (p.next === null) return out;
    after = p.next;
  }
}

function pickupIndex(groups: readonly PickupGroup[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const g of groups) for (const n of g.members) m.set(n, [...(m.get(n) ?? []), g.id]);
  return m;
}

/** Ledgers: 設備原簿 (equipment), 内線台帳 (extensions), 局線台帳 (trunks) as CSV. */
export const ledgerRoutes = defineRoutes((app, { repo }) => {
  type Q = { Querystring: { encoding?: CsvEncoding; lang?: CsvLang } };
  const send = (name: string, summary: string, render: (tenantId: string, lang: CsvLang) => Promise<string>): void => {
    app.get<Q>(
      `/ledgers/${name}.csv`,
      { schema: { tags: ['tenant'], summary, params: tenantParams, querystring: csvQuery, produces: ['text/csv'], response: csvResponse } },
      async (req, reply) => {
        const t = tenantOf(req);
        const encoding = req.query.encoding ?? 'utf-8';
        const body = encodeCsv(await render(t.id, req.query.lang ?? 'en'), encoding);
        return reply
          .type(contentType(encoding))
          .header('content-disposition', `attachment; filename="${t.id}-${name}.csv"`)
          .send(body);
      },
    );
  };

  send('equipment', '設備原簿: equipment ledger (extension, device MAC/model/location)', async (id, lang) => toCsv(equipment, await allExtensions(repo, id), lang));
  send('extensions', '内線台帳: extension ledger', async (id, lang) => {
    const [exts, groups] = await Promise.all([allExtensions(repo, id), repo.pickupGroups(id)]);
    return toCsv(extensions(pickupIndex(groups)), exts, lang);
  });
  send('trunks', '局線台帳: trunk ledger', async (id, lang) => toCsv(trunks, await repo.trunks(id), lang));
});
