/**
 * Monthly operation report (運用レポート), docs/operations.md: JSON, HTML with SVG charts, CSV, and PDF
 * printed by headless Chromium from the same HTML; Japanese (default) or English. Tenant admins read
 * their own; operators any tenant's.
 */
import { defineRoutes, tenantOf } from '../context.js';
import { contentType, encodeCsv, type CsvEncoding } from '../csv.js';
import { buildOperationReport, renderOperationReportCsv, renderOperationReportHtml, type OperationReport, type ReportLang } from '../ops/operation-report.js';
import { htmlToPdf } from '../ops/pdf.js';
import { incidentView } from './incidents.js';
import { ticketView, workView } from './helpdesk.js';
import { csvResponse, errors } from '../schemas.js';
import { monthParam, obj } from '../ops/params.js';


const params = obj({ tenantId: { type: 'string', maxLength: 64 }, month: { type: 'string', maxLength: 16, description: 'YYYY-MM (Asia/Tokyo) or `current`' } });
const langQ = obj({ lang: { type: 'string', enum: ['ja', 'en'], description: 'default ja' } }, []);
const csvQ = obj({ lang: { type: 'string', enum: ['ja', 'en'] }, encoding: { type: 'string', enum: ['utf-8', 'shift_jis'] } }, []);
const binary = { 200: { type: 'string', format: 'binary' }, ...errors(503) };
const html = { 200: { type: 'string', description: 'text/html' }, ...errors() };
const reportS = { type: 'object', additionalProperties: true, description: 'the report as data: availability (with SLA), incidents, ports, registrations, traffic, tickets, works' } as const;

const json = (r: OperationReport) => ({
  ...r,
  generatedAt: new Date(r.generatedAt).toISOString(),
  from: new Date(r.from).toISOString(),
  to: new Date(r.to).toISOString(),
  incidents: r.incidents.map(incidentView),
  tickets: r.tickets.map(ticketView),
  works: r.works.map(workView),
});

type P = { Params: { tenantId: string; month: string } };

export const operationReportRoutes = defineRoutes((app, { redis, keys, repo }) => {
  const build = (tenantId: string, month: string): Promise<OperationReport> => buildOperationReport(redis, keys, repo, tenantId, monthParam(month));
  const file = (tenantId: string, month: string, ext: string): string => `attachment; filename="${tenantId}-operation-report-${month}.${ext}"`;

  app.get<P>(
    '/reports/:month',
    { schema: { tags: ['tenant'], summary: 'Monthly operation report (運用レポート) as data', params, response: { 200: reportS, ...errors() } } },
    async (req) => json(await build(tenantOf(req).id, req.params.month)),
  );

  app.get<P & { Querystring: { lang?: ReportLang } }>(
    '/reports/:month/report.html',
    { schema: { tags: ['tenant'], summary: 'Monthly operation report as HTML with SVG charts', params, querystring: langQ, produces: ['text/html'], response: html } },
    async (req, reply) => {
      const r = await build(tenantOf(req).id, req.params.month);
      return reply.type('text/html; charset=utf-8').send(renderOperationReportHtml(r, req.query.lang ?? 'ja'));
    },
  );

  app.get<P & { Querystring: { lang?: ReportLang; encoding?: CsvEncoding } }>(
    '/reports/:month/report.csv',
    { schema: { tags: ['tenant'], summary: 'Monthly operation report as CSV', params, querystring: csvQ, produces: ['text/csv'], response: csvResponse } },
    async (req, reply) => {
      const t = tenantOf(req);
      const r = await build(t.id, req.params.month);
      const encoding = req.query.encoding ?? 'utf-8';
      return reply.type(contentType(encoding)).header('content-disposition', file(t.id, r.month, 'csv')).send(encodeCsv(renderOperationReportCsv(r, req.query.lang ?? 'ja'), encoding));
    },
  );

  app.get<P & { Querystring: { lang?: ReportLang } }>(
    '/reports/:month/report.pdf',
    { schema: { tags: ['tenant'], summary: 'Monthly operation report as PDF (headless Chromium prints the HTML report); 503 without Chromium', params, querystring: langQ, produces: ['application/pdf'], response: binary } },
    async (req, reply) => {
      const t = tenantOf(req);
      const r = await build(t.id, req.params.month);
      const pdf = await htmlToPdf(renderOperationReportHtml(r, req.query.lang ?? 'ja'));
      return reply.type('application/pdf').header('content-disposition', file(t.id, r.month, 'pdf')).send(pdf);
    },
  );
});
