/**
 * Billing (`docs/billing.md`):
 * - tenants and operators: the monthly report (current month so far, any closed month) as JSON and
 *   CSV (UTF-8 or Shift_JIS), the per-call detail (paginated JSON, CSV export), the tenant's tariff;
 * - operators: tariffs (platform default and per-tenant overrides), month close, audited re-rating,
 *   the CDR dead letters (list, replay).
 * JSON money is integer 1/100 JPY (`minorUnit`), invoice totals whole yen; CSV shows yen.
 */
import {
  effectiveTariff,
  formatJst,
  formatYen,
  jstMonthOf,
  reportRows,
  type MonthlyReport,
  type ReportRow,
} from '@kumo/domain';
import { KumoError, isKumoError } from '@kumo/runtime';
import { BillingLedger, CdrStreams, type BookedCall } from '@kumo/store';
import type { FastifyRequest } from 'fastify';
import { actorOf, defineRoutes, tenantOf, type RouteContext } from '../context.js';
import { contentType, encodeCsv, toCsv, type CsvColumn, type CsvEncoding, type CsvLang } from '../csv.js';
import { checkMonth, streamCursor } from '../cursors.js';
import { csvQuery, csvResponse, errors, tenantParams } from '../schemas.js';

/** The API only reads the close grace to label a month without a close marker yet; the worker's sweep sets markers. */
const DEFAULT_CLOSE_GRACE_MS = 172_800_000;
/** Replays re-publish to the stream a dead letter came from; this only matters for letters without one. */
const DEFAULT_SHARDS = 4;

const ledgerOf = (ctx: RouteContext): BillingLedger => new BillingLedger(ctx.redis, ctx.keys, { closeGraceMs: DEFAULT_CLOSE_GRACE_MS });

const actor = (req: FastifyRequest): string => {
  const a = actorOf(req);
  return `${a.role}:${a.keyId}`;
};

function monthParam(m: string): string {
  if (m === 'current') return jstMonthOf(Date.now());
  return checkMonth(m);
}

/** Tariff validation problems become 400 KUMO_ERR_VALIDATION with every problem listed. */
async function tariffCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isKumoError(err) && err.code === 'KUMO_ERR_BILLING_TARIFF_INVALID') {
      const list = (err.details?.errors as string[] | undefined) ?? [];
      throw new KumoError('KUMO_ERR_VALIDATION', `invalid tariff: ${list.join('; ')}`, {
        problems: list.map((e) => ({ field: e.split(':')[0] ?? 'tariff', message: e.split(': ').slice(1).join(': ') || e })),
      });
    }
    throw err;
  }
}

// ---- schemas ----------------------------------------------------------------------------------

const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) =>
  ({ type: 'object', additionalProperties: false, required, properties }) as const;
const intS = { type: 'integer' } as const;
const strS = { type: 'string' } as const;
const monthParams = obj({ tenantId: { type: 'string', maxLength: 64 }, month: { type: 'string', maxLength: 16, description: 'YYYY-MM (Asia/Tokyo) or `current`' } });
const rowS = obj({ key: strS, calls: intS, answered: intS, seconds: intS, charge: intS });
const sectionS = obj({
  calls: intS, answered: intS, seconds: intS, charge: intS,
  byClass: { type: 'array', items: rowS }, byExtension: { type: 'array', items: rowS },
  byDepartment: { type: 'array', items: rowS }, byTrunk: { type: 'array', items: rowS },
});
export const monthlyReportSchema = obj({
  tenantId: strS,
  month: strS,
  status: { type: 'string', enum: ['open', 'closed'] },
  closedAt: { type: ['integer', 'null'], description: 'epoch ms' },
  revision: { ...intS, description: 'Bumped by each audited re-rating' },
  minorUnit: { type: 'string', enum: ['0.01 JPY'] },
  main: sectionS,
  adjustments: { ...sectionS, description: 'Late calls of earlier, already closed months' },
  tax: { type: 'array', items: obj({ rateBp: intS, subtotal: intS, subtotalYen: intS, taxYen: intS }) },
  subtotalYen: intS,
  taxYen: intS,
  totalYen: intS,
});
const nullableStr = { type: ['string', 'null'] } as const;
const callS = obj({
  cdrId: strS, section: { type: 'string', enum: ['main', 'adj'] }, startedAt: intS, direction: strS, disposition: strS,
  calleeDialled: strS, calleeE164: nullableStr, extension: nullableStr, department: nullableStr, trunkId: nullableStr,
  billableSeconds: intS, cls: strS, rateKey: strS, answered: { type: 'boolean' }, billed: { type: 'boolean' },
  units: intS, charge: intS, taxBp: intS,
});
const callsPage = obj({ items: { type: 'array', items: callS }, next: { type: ['string', 'null'] }, total: intS });
const callsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: '1–1000, default 100' },
    after: { type: 'string', pattern: '^[0-9]{1,9}$', description: 'Cursor: the `next` value of the previous page' },
  },
} as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const tariffView = obj({ platform: anyObject, override: { type: ['object', 'null'], additionalProperties: true }, effective: anyObject });
const rerateBody = obj({ reason: { type: 'string', minLength: 3, maxLength: 500 } });
const rerateResult = obj({ month: strS, changed: intS, skipped: intS, revision: intS, beforeTotalYen: intS, afterTotalYen: intS });
const closeResult = obj({ month: strS, closedAt: intS, calls: intS, reconciled: { type: 'boolean' }, mismatches: { type: 'array', items: strS } });
const deadLetterS = obj({ id: strS, stream: strS, entryId: strS, error: strS, deliveries: intS, payload: nullableStr, at: intS });

// ---- CSV columns ---------------------------------------------------------------------------------

const reportColumns: CsvColumn<ReportRow>[] = [
  { en: 'section', ja: '区分', value: (r) => r.section },
  { en: 'dimension', ja: '集計軸', value: (r) => r.dimension },
  { en: 'key', ja: '項目', value: (r) => r.key },
  { en: 'calls', ja: '通話数', value: (r) => r.calls },
  { en: 'answered', ja: '応答数', value: (r) => r.answered },
  { en: 'billable_seconds', ja: '課金秒数', value: (r) => r.seconds },
  { en: 'amount_jpy', ja: '金額(円)', value: (r) => r.amountJpy },
];

const callColumns: CsvColumn<BookedCall>[] = [
  { en: 'cdr_id', ja: 'CDR ID', value: (b) => b.charge.cdrId },
  { en: 'section', ja: '区分', value: (b) => (b.section === 'main' ? 'main' : 'adjustment') },
  { en: 'started_at_jst', ja: '開始日時(JST)', value: (b) => formatJst(b.charge.startedAt) },
  { en: 'direction', ja: '発着信', value: (b) => b.charge.direction },
  { en: 'disposition', ja: '結果', value: (b) => b.charge.disposition },
  { en: 'callee', ja: '着信先', value: (b) => b.charge.calleeE164 ?? b.charge.calleeDialled },
  { en: 'extension', ja: '内線番号', value: (b) => b.charge.extension },
  { en: 'department', ja: '部署', value: (b) => b.charge.department },
  { en: 'trunk', ja: '局線', value: (b) => b.charge.trunkId },
  { en: 'class', ja: '通話種別', value: (b) => b.charge.cls },
  { en: 'rate', ja: '料金区分', value: (b) => b.charge.rateKey },
  { en: 'billable_seconds', ja: '課金秒数', value: (b) => b.charge.billableSeconds },
  { en: 'units', ja: '課金単位数', value: (b) => b.charge.units },
  { en: 'charge_jpy', ja: '料金(円)', value: (b) => formatYen(b.charge.charge) },
  { en: 'tax_rate_percent', ja: '税率(%)', value: (b) => b.charge.taxBp / 100 },
];

function callView(b: BookedCall) {
  const c = b.charge;
  return {
    cdrId: c.cdrId, section: b.section, startedAt: c.startedAt, direction: c.direction, disposition: c.disposition,
    calleeDialled: c.calleeDialled, calleeE164: c.calleeE164, extension: c.extension, department: c.department, trunkId: c.trunkId,
    billableSeconds: c.billableSeconds, cls: c.cls, rateKey: c.rateKey, answered: c.answered, billed: c.billed,
    units: c.units, charge: c.charge, taxBp: c.taxBp,
  };
}

type CsvQ = { encoding?: CsvEncoding; lang?: CsvLang };

/** Tenant scope: `/v1/tenants/:tenantId/billing/…`. */
export const billingTenantRoutes = defineRoutes((app, ctx) => {
  const ledger = ledgerOf(ctx);
  type MP = { Params: { tenantId: string; month: string } };

  app.get<MP>(
    '/billing/months/:month',
    { schema: { tags: ['tenant'], summary: 'Monthly billing report (課金データ集計): the current month so far or a closed month', params: monthParams, response: { 200: monthlyReportSchema, ...errors() } } },
    async (req): Promise<MonthlyReport> => ledger.getMonthlyReport(tenantOf(req).id, monthParam(req.params.month)),
  );

  app.get<MP & { Querystring: CsvQ }>(
    '/billing/months/:month/report.csv',
    { schema: { tags: ['tenant'], summary: 'Monthly billing report as CSV', params: monthParams, querystring: csvQuery, produces: ['text/csv'], response: csvResponse } },
    async (req, reply) => {
      const t = tenantOf(req);
      const month = monthParam(req.params.month);
      const encoding = req.query.encoding ?? 'utf-8';
      const report = await ledger.getMonthlyReport(t.id, month);
      return reply
        .type(contentType(encoding))
        .header('content-disposition', `attachment; filename="${t.id}-billing-${month}.csv"`)
        .send(encodeCsv(toCsv(reportColumns, reportRows(report), req.query.lang ?? 'en'), encoding));
    },
  );

  app.get<MP & { Querystring: { limit?: string; after?: string } }>(
    '/billing/months/:month/calls',
    { schema: { tags: ['tenant'], summary: 'Per-call charges of a month in start-time order (paginated)', params: monthParams, querystring: callsQuery, response: { 200: callsPage, ...errors() } } },
    async (req) => {
      const limit = req.query.limit === undefined ? 100 : Math.min(1000, Math.max(1, Number(req.query.limit)));
      const offset = req.query.after === undefined ? 0 : Number(req.query.after);
      const page = await ledger.listCalls(tenantOf(req).id, monthParam(req.params.month), offset, limit);
      const next = offset + limit < page.total ? String(offset + limit) : null;
      return { items: page.items.map(callView), next, total: page.total };
    },
  );

  app.get<MP & { Querystring: CsvQ }>(
    '/billing/months/:month/calls.csv',
    { schema: { tags: ['tenant'], summary: 'Per-call charges of a month as CSV', params: monthParams, querystring: csvQuery, produces: ['text/csv'], response: csvResponse } },
    async (req, reply) => {
      const t = tenantOf(req);
      const month = monthParam(req.params.month);
      const encoding = req.query.encoding ?? 'utf-8';
      const all: BookedCall[] = [];
      for (let offset = 0; ; offset += 1000) {
        const page = await ledger.listCalls(t.id, month, offset, 1000);
        all.push(...page.items);
        if (offset + 1000 >= page.total) break;
      }
      return reply
        .type(contentType(encoding))
        .header('content-disposition', `attachment; filename="${t.id}-calls-${month}.csv"`)
        .send(encodeCsv(toCsv(callColumns, all, req.query.lang ?? 'en'), encoding));
    },
  );

  app.get(
    '/billing/tariff',
    { schema: { tags: ['tenant'], summary: "The tenant's tariff: platform default, override and the effective result (prices in 1/100 JPY)", params: tenantParams, response: { 200: tariffView, ...errors() } } },
    async (req) => {
      const id = tenantOf(req).id;
      const [platform, override] = await Promise.all([ledger.getPlatformTariff(), ledger.getTenantOverride(id)]);
      return { platform, override, effective: effectiveTariff(platform, override ?? undefined) };
    },
  );

  app.put<{ Body: Record<string, unknown> }>(
    '/billing/tariff',
    { config: { operatorOnly: true }, schema: { tags: ['operator'], summary: "Set the tenant's tariff override (validated; audited)", params: tenantParams, body: anyObject, response: { 200: anyObject, ...errors(403) } } },
    async (req) => tariffCall(async () => (await ledger.setTenantOverride(tenantOf(req).id, req.body, actor(req))) ?? {}),
  );

  app.delete(
    '/billing/tariff',
    { config: { operatorOnly: true }, schema: { tags: ['operator'], summary: "Remove the tenant's tariff override (audited)", params: tenantParams, response: { 204: { type: 'null' }, ...errors(403) } } },
    async (req, reply) => {
      await ledger.setTenantOverride(tenantOf(req).id, null, actor(req));
      return reply.code(204).send();
    },
  );

  app.post<MP & { Body: { reason: string } }>(
    '/billing/months/:month/rerate',
    { config: { operatorOnly: true }, schema: { tags: ['operator'], summary: 'Re-rate every call of the month with the current tariff (explicit, audited)', params: monthParams, body: rerateBody, response: { 200: rerateResult, ...errors(403) } } },
    async (req) => {
      const month = monthParam(req.params.month);
      const r = await ledger.rerateMonth(tenantOf(req).id, month, actor(req), req.body.reason);
      return { month, changed: r.changed, skipped: r.skipped, revision: r.after.revision, beforeTotalYen: r.before.totalYen, afterTotalYen: r.after.totalYen };
    },
  );

  app.post<MP>(
    '/billing/months/:month/close',
    { config: { operatorOnly: true }, schema: { tags: ['operator'], summary: 'Close (freeze) the month now and check its totals; later CDRs become adjustments of the next month', params: monthParams, response: { 200: closeResult, ...errors(403) } } },
    async (req) => {
      const t = tenantOf(req);
      const month = monthParam(req.params.month);
      const r = await ledger.closeMonth(t.id, month);
      await ledger.audit(t.id, { at: Date.now(), actor: actor(req), action: 'close', month });
      return { month, closedAt: r.closedAt, calls: r.calls ?? 0, reconciled: r.reconciled ?? false, mismatches: r.mismatches };
    },
  );
});

/** Operator scope: `/v1/billing/…`. */
export const billingOperatorRoutes = defineRoutes((app, ctx) => {
  const ledger = ledgerOf(ctx);
  const streams = new CdrStreams(ctx.redis, ctx.keys, DEFAULT_SHARDS);

  app.get('/billing/tariff', { schema: { tags: ['operator'], summary: 'The platform default tariff (prices in 1/100 JPY)', response: { 200: anyObject, ...errors(403) } } }, async () =>
    ledger.getPlatformTariff(),
  );

  app.put<{ Body: Record<string, unknown> }>(
    '/billing/tariff',
    { schema: { tags: ['operator'], summary: 'Replace the platform default tariff (validated; audited)', body: anyObject, response: { 200: anyObject, ...errors(403) } } },
    async (req) => tariffCall(() => ledger.setPlatformTariff(req.body, actor(req))),
  );

  app.get<{ Querystring: { limit?: string; after?: string } }>(
    '/billing/dead-letters',
    {
      schema: {
        tags: ['operator'],
        summary: 'CDRs that could not be charged, oldest first',
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'string', pattern: '^[0-9]{1,4}$' }, after: { type: 'string', maxLength: 41 } } },
        response: { 200: obj({ items: { type: 'array', items: deadLetterS }, next: { type: ['string', 'null'] }, total: intS }), ...errors(403) },
      },
    },
    async (req) => {
      const limit = req.query.limit === undefined ? 100 : Math.min(1000, Math.max(1, Number(req.query.limit)));
      const after = streamCursor(req.query.after, 'after');
      const [items, total] = await Promise.all([
        streams.listDeadLetters({ count: limit, ...(after !== undefined ? { after } : {}) }),
        streams.deadLetterCount(),
      ]);
      return { items, next: items.length === limit ? (items.at(-1)?.id ?? null) : null, total };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/billing/dead-letters/:id/replay',
    {
      schema: {
        tags: ['operator'],
        summary: 'Re-publish a dead letter to its CDR stream (after fixing the cause) and remove it',
        params: obj({ id: { type: 'string', maxLength: 41 } }),
        response: { 200: obj({ entryId: strS }), ...errors(403) },
      },
    },
    async (req) => {
      try {
        const id = await streams.replayDeadLetter(streamCursor(req.params.id, 'id') ?? '');
        if (id === null) throw new KumoError('KUMO_ERR_NOT_FOUND', 'dead letter not found');
        return { entryId: id };
      } catch (err) {
        if (isKumoError(err) && err.code.startsWith('KUMO_ERR_DEAD_LETTER_')) throw new KumoError('KUMO_ERR_BAD_REQUEST', err.message);
        throw err;
      }
    },
  );
});
