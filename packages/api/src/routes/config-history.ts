/**
 * Configuration history (構成管理), docs/operations.md: every change to a tenant's configuration as a
 * version (who, when, request, readable diff), exportable as CSV, restorable by operators (audited).
 */
import { KumoError } from '@kumo/runtime';
import { describeChange, type ConfigChange, type ConfigVersion } from '@kumo/store';
import type { FastifyRequest } from 'fastify';
import { actorOf, defineRoutes, tenantOf, type RouteContext } from '../context.js';
import { contentType, encodeCsv, type CsvEncoding, type CsvLang } from '../csv.js';
import { ConfigHistory } from '../ops/config-history.js';
import { csvResponse, errors } from '../schemas.js';
import { OPERATOR_ONLY_FIELDS, forPrincipal } from '../hygiene.js';
import { obj } from '../ops/params.js';

const histories = new WeakMap<object, ConfigHistory>();
/** One history (and one per-tenant recording queue) per API instance. */
export function configHistoryFor(ctx: RouteContext): ConfigHistory {
  let h = histories.get(ctx.repo);
  if (h === undefined) {
    h = new ConfigHistory(ctx.redis, ctx.keys, ctx.repo, ctx.log);
    histories.set(ctx.repo, h);
  }
  return h;
}

const any = {} as const;
const changeS = obj({
  section: { type: 'string' }, key: { type: 'string' }, op: { type: 'string', enum: ['add', 'remove', 'change'] },
  before: any, after: any,
  fields: { type: 'array', items: obj({ path: { type: 'string' }, before: any, after: any }) },
  text: { type: 'string', description: 'readable diff line' },
});
const versionS = obj({
  version: { type: 'integer' }, at: { type: 'string', format: 'date-time' }, by: { type: 'string' }, request: { type: 'string' },
  baseline: { type: 'boolean', description: 'the state found the first time a section was touched, not a change' },
  changes: { type: 'array', items: changeS },
});
/** What a principal may see of a version: tenant admins never see operator-only fields (e.g. tenant `notes`). */
function visible(v: ConfigVersion, req: FastifyRequest): ConfigVersion {
  const role = req.principal?.role;
  if (role === 'operator') return v;
  const changes: ConfigChange[] = [];
  for (const c of v.changes) {
    const fields = c.fields.filter((f) => !OPERATOR_ONLY_FIELDS.includes(f.path.split('.')[0] ?? ''));
    if (c.op === 'change' && fields.length === 0) continue;
    changes.push({ ...c, before: forPrincipal(c.before, role), after: forPrincipal(c.after, role), fields });
  }
  return { ...v, changes };
}
const view = (v: ConfigVersion) => ({ ...v, at: new Date(v.at).toISOString(), changes: v.changes.map((c) => ({ ...c, text: describeChange(c) })) });
const tp = obj({ tenantId: { type: 'string', maxLength: 64 } });
const vp = obj({ tenantId: { type: 'string', maxLength: 64 }, version: { type: 'string', pattern: '^[0-9]{1,9}$' } });

export const configHistoryRoutes = defineRoutes((app, ctx) => {
  const history = configHistoryFor(ctx);

  app.get<{ Querystring: { limit?: string; before?: string } }>(
    '/config-history',
    {
      schema: {
        tags: ['tenant'], summary: 'Configuration versions (構成管理), newest first', params: tp,
        querystring: obj({ limit: { type: 'string', pattern: '^[0-9]{1,4}$' }, before: { type: 'string', pattern: '^[0-9]{1,9}$', description: 'cursor: versions below this number' } }, []),
        response: { 200: obj({ items: { type: 'array', items: versionS }, next: { type: ['string', 'null'] } }), ...errors() },
      },
    },
    async (req) => {
      const t = tenantOf(req).id;
      const limit = req.query.limit === undefined ? 50 : Math.min(500, Math.max(1, Number(req.query.limit)));
      const top = req.query.before === undefined ? await history.store.last(t) : Number(req.query.before) - 1;
      const from = Math.max(0, top - limit);
      const items = (await history.store.range(t, from, top)).reverse();
      return { items: items.map((v) => view(visible(v, req))).filter((v) => v.changes.length > 0 || req.principal?.role === 'operator'), next: from > 0 ? String(from + 1) : null };
    },
  );

  app.get<{ Querystring: { encoding?: CsvEncoding; lang?: CsvLang } }>(
    '/config-history.csv',
    {
      schema: {
        tags: ['tenant'], summary: 'Configuration history export: one row per change', params: tp,
        querystring: obj({ encoding: { type: 'string', enum: ['utf-8', 'shift_jis'] }, lang: { type: 'string', enum: ['en', 'ja'] } }, []),
        produces: ['text/csv'], response: csvResponse,
      },
    },
    async (req, reply) => {
      const t = tenantOf(req).id;
      const ja = req.query.lang === 'ja';
      const rows = [ja ? '版,日時,変更者,要求,区分,対象,操作,内容' : 'version,at,by,request,section,key,op,diff'];
      const esc = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
      for (const v of await history.store.range(t, 0, await history.store.last(t))) {
        for (const c of visible(v, req).changes) rows.push([String(v.version), new Date(v.at).toISOString(), v.by, v.request, c.section, c.key, c.op, describeChange(c)].map(esc).join(','));
      }
      const encoding = req.query.encoding ?? 'utf-8';
      return reply
        .type(contentType(encoding))
        .header('content-disposition', `attachment; filename="${t}-config-history.csv"`)
        .send(encodeCsv(`${rows.join('\r\n')}\r\n`, encoding));
    },
  );

  app.get<{ Params: { tenantId: string; version: string } }>(
    '/config-history/:version',
    { schema: { tags: ['tenant'], summary: 'One configuration version', params: vp, response: { 200: versionS, ...errors() } } },
    async (req) => {
      const v = await history.store.get(tenantOf(req).id, Number(req.params.version));
      if (v === null) throw new KumoError('KUMO_ERR_NOT_FOUND', `configuration version ${req.params.version} not found`);
      return view(visible(v, req));
    },
  );

  app.post<{ Params: { tenantId: string; version: string } }>(
    '/config-history/:version/restore',
    {
      config: { operatorOnly: true },
      schema: {
        tags: ['operator'], summary: 'Restore the configuration as it was right after this version (operators; audited, recorded as a new version)', params: vp,
        response: {
          200: obj({
            restoredTo: { type: 'integer' },
            version: { anyOf: [versionS, { type: 'null' }] },
            problems: { type: 'array', items: { type: 'string' } },
            newPasswords: { type: 'object', additionalProperties: { type: 'string' }, description: 'extensions re-created by the restore: their new SIP password (shown once)' },
          }),
          ...errors(403),
        },
      },
    },
    async (req) => {
      const r = await history.restore(tenantOf(req).id, Number(req.params.version), actorOf(req));
      return { ...r, version: r.version === null ? null : view(r.version) };
    },
  );
});
