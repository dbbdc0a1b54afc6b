/**
 * Traffic report (トラフィックレポート, docs/operations.md): per tenant, trunk and ring group, per day
 * (and per hour with `detail=hour`): offered, carried and blocked calls, erlangs, the busy hour,
 * blocking against ports / trunk channels / group members, and the Erlang-B sizing for 1 % blocking.
 * Computed from billing's per-call detail of the JST month. Tenant admins read their own; operators any.
 */
import { trafficReportToCsv, type TrafficReport, type TrafficSeries } from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import { monthTrafficReport } from '@kumo/store';
import { defineRoutes, tenantOf } from '../context.js';
import { contentType, encodeCsv, type CsvEncoding, type CsvLang } from '../csv.js';
import { csvResponse, errors } from '../schemas.js';
import { monthParam, obj } from '../ops/params.js';


const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const str = { type: 'string' } as const;
const counts = { offered: int, carried: int, blocked: int, blockingRate: num, erlangs: num };
const hourS = obj({ hour: { ...str, description: 'start of the JST hour, e.g. 2026-11-10T09:00+09:00' }, ...counts });
const dayS = obj({ date: str, ...counts, busyHour: obj({ hour: int, erlangs: num }) });
const seriesS = obj(
  {
    dimension: { type: 'string', enum: ['tenant', 'trunk', 'group'] },
    key: str,
    totals: obj({ ...counts, meanHoldingSeconds: num }),
    blockedBy: obj({ ports: int, trunk: int }),
    busyHour: { anyOf: [hourS, { type: 'null' }] },
    timeConsistentBusyHour: { anyOf: [obj({ hour: int, erlangs: num }), { type: 'null' }] },
    sizing: obj({
      target: num,
      busyHourOfferedErlangs: num,
      capacity: { type: ['integer', 'null'] },
      predictedBlocking: { type: ['number', 'null'] },
      recommendedChannels: int,
    }),
    days: { type: 'array', items: dayS },
    hours: { type: 'array', items: hourS, description: 'only with detail=hour' },
  },
  ['dimension', 'key', 'totals', 'blockedBy', 'busyHour', 'timeConsistentBusyHour', 'sizing', 'days'],
);
export const trafficReportSchema = obj({
  tenantId: str,
  month: str,
  from: { ...int, description: 'epoch ms' },
  to: { ...int, description: 'epoch ms (exclusive)' },
  calls: int,
  tenant: seriesS,
  trunks: { type: 'array', items: seriesS },
  groups: { type: 'array', items: seriesS },
});

const params = obj({ tenantId: { type: 'string', maxLength: 64 }, month: { type: 'string', maxLength: 16, description: 'YYYY-MM (Asia/Tokyo) or `current`' } });
const query = {
  type: 'object',
  additionalProperties: false,
  properties: {
    detail: { type: 'string', enum: ['day', 'hour'], description: 'day (default): per-day rows; hour: also every hour' },
    target: { type: 'string', pattern: '^0?\\.[0-9]{1,4}$', description: 'blocking target for the sizing, default 0.01' },
  },
} as const;
const csvQ = {
  type: 'object',
  additionalProperties: false,
  properties: {
    encoding: { type: 'string', enum: ['utf-8', 'shift_jis'], description: 'Default utf-8' },
    lang: { type: 'string', enum: ['en', 'ja'], description: 'Header language; default en' },
  },
} as const;

type P = { Params: { tenantId: string; month: string } };

export const trafficRoutes = defineRoutes((app, { redis, keys, repo }) => {
  const build = (tenantId: string, month: string, target = 0.01): Promise<TrafficReport> => monthTrafficReport(redis, keys, repo, tenantId, month, target);

  app.get<P & { Querystring: { detail?: 'day' | 'hour'; target?: string } }>(
    '/traffic/:month',
    { schema: { tags: ['tenant'], summary: 'Traffic report (トラフィックレポート) of a JST month: erlangs, busy hour, blocking, Erlang-B sizing', params, querystring: query, response: { 200: trafficReportSchema, ...errors() } } },
    async (req) => {
      const t = tenantOf(req);
      const month = monthParam(req.params.month);
      const target = req.query.target === undefined ? 0.01 : Number(req.query.target);
      if (!(target > 0 && target < 1)) throw new KumoError('KUMO_ERR_VALIDATION', 'target must be in (0, 1)', { problems: [{ field: 'target', message: 'must be in (0, 1)' }] });
      const r = await build(t.id, month, target);
      const view = (s: TrafficSeries): Omit<TrafficSeries, 'hours'> & { hours?: TrafficSeries['hours'] } => {
        if (req.query.detail === 'hour') return s;
        const { hours: _hours, ...rest } = s;
        return rest;
      };
      return { tenantId: t.id, month, from: r.from, to: r.to, calls: r.calls, tenant: view(r.tenant), trunks: r.trunks.map(view), groups: r.groups.map(view) };
    },
  );

  app.get<P & { Querystring: { encoding?: CsvEncoding; lang?: CsvLang } }>(
    '/traffic/:month/report.csv',
    { schema: { tags: ['tenant'], summary: 'Traffic report as CSV: one row per day and per hour, per tenant / trunk / ring group', params, querystring: csvQ, produces: ['text/csv'], response: csvResponse } },
    async (req, reply) => {
      const t = tenantOf(req);
      const month = monthParam(req.params.month);
      const encoding = req.query.encoding ?? 'utf-8';
      const r = await build(t.id, month);
      return reply
        .type(contentType(encoding))
        .header('content-disposition', `attachment; filename="${t.id}-traffic-${month}.csv"`)
        .send(encodeCsv(trafficReportToCsv(r, req.query.lang ?? 'en'), encoding));
    },
  );
});
