/**
 * Help desk (総合ヘルプデスク) and maintenance works (工事情報), docs/operations.md.
 * - tenant admins: open tickets (channel `web`), read their own, add notes, close a resolved ticket;
 *   read the works that affect them, with the notice.
 * - operators: tickets of every tenant, any channel (phone, mail, web), state, assignee, links to
 *   incidents; schedule and update works.
 * Times are ISO 8601 in and out.
 */
import { TICKET_CHANNELS, TICKET_KINDS, TICKET_STATES, WORK_IMPACTS, WORK_STATES, type TicketChannel, type TicketKind, type TicketState, type WorkImpact, type WorkState } from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import { TicketStore, WorkStore, type Ticket, type TicketPatch, type Work, type WorkPatch } from '@kumo/store';
import type { FastifyRequest } from 'fastify';
import { actorOf, defineRoutes, tenantOf } from '../context.js';
import { errors } from '../schemas.js';
import { epochMs, iso, isoOrNull, obj } from '../ops/params.js';

const str = (maxLength: number, minLength = 0) => ({ type: 'string', maxLength, minLength }) as const;
const ts = { type: 'string', format: 'date-time' } as const;
const tsOrNull = { type: ['string', 'null'], format: 'date-time' } as const;
const noteS = obj({ at: ts, by: str(100), text: str(4000) });

export const ticketSchema = obj({
  id: str(16), tenantId: str(64),
  kind: { type: 'string', enum: [...TICKET_KINDS], description: 'inquiry (問合せ), fault (故障申告), change (変更依頼)' },
  channel: { type: 'string', enum: [...TICKET_CHANNELS] },
  state: { type: 'string', enum: [...TICKET_STATES] },
  subject: str(300), body: str(10000), reportedBy: str(300), assignee: { type: ['string', 'null'], maxLength: 100 },
  incidentIds: { type: 'array', items: str(32) },
  receivedAt: ts, updatedAt: ts, resolvedAt: tsOrNull, closedAt: tsOrNull, createdBy: str(100),
  notes: { type: 'array', items: noteS },
});
const newTicketS = obj(
  {
    kind: { type: 'string', enum: [...TICKET_KINDS] },
    channel: { type: 'string', enum: [...TICKET_CHANNELS], description: 'operators: how it reached us; tenant admins: always web' },
    subject: str(300, 1), body: str(10000), reportedBy: str(300, 1),
    receivedAt: ts, assignee: { type: ['string', 'null'], maxLength: 100 },
    incidentIds: { type: 'array', items: str(32), maxItems: 100 },
  },
  ['kind', 'subject', 'body', 'reportedBy'],
);
const patchTicketS = obj(
  {
    state: { type: 'string', enum: [...TICKET_STATES], description: 'tenant admins may only close a resolved ticket' },
    assignee: { type: ['string', 'null'], maxLength: 100 },
    incidentIds: { type: 'array', items: str(32), maxItems: 100 },
    subject: str(300, 1),
    kind: { type: 'string', enum: [...TICKET_KINDS] },
    note: str(4000, 1),
  },
  [],
);
const workS = obj({
  id: str(16), title: str(300), description: str(10000), windowStart: ts, windowEnd: ts,
  impact: { type: 'string', enum: [...WORK_IMPACTS] },
  tenants: { anyOf: [{ type: 'string', enum: ['all'] }, { type: 'array', items: str(64) }] },
  state: { type: 'string', enum: [...WORK_STATES] },
  notice: obj({ ja: str(10000), en: str(10000) }),
  createdBy: str(100), updatedAt: ts,
});
const tenantsS = { anyOf: [{ type: 'string', enum: ['all'] }, { type: 'array', items: str(64), maxItems: 10000 }] };
const newWorkS = obj(
  { title: str(300, 1), description: str(10000), windowStart: ts, windowEnd: ts, impact: { type: 'string', enum: [...WORK_IMPACTS] }, tenants: tenantsS, notice: obj({ ja: str(10000), en: str(10000) }) },
  ['title', 'windowStart', 'windowEnd', 'impact', 'tenants', 'notice'],
);
const patchWorkS = obj(
  { title: str(300, 1), description: str(10000), windowStart: ts, windowEnd: ts, impact: { type: 'string', enum: [...WORK_IMPACTS] }, tenants: tenantsS, notice: obj({ ja: str(10000), en: str(10000) }), state: { type: 'string', enum: [...WORK_STATES] } },
  [],
);

export const ticketView = (t: Ticket) => ({
  ...t, incidentIds: [...t.incidentIds], receivedAt: iso(t.receivedAt), updatedAt: iso(t.updatedAt), resolvedAt: isoOrNull(t.resolvedAt), closedAt: isoOrNull(t.closedAt),
  notes: t.notes.map((n) => ({ ...n, at: iso(n.at) })),
});
export const workView = (w: Work) => ({ ...w, tenants: w.tenants === 'all' ? 'all' : [...w.tenants], windowStart: iso(w.windowStart), windowEnd: iso(w.windowEnd), updatedAt: iso(w.updatedAt) });
const who = (req: FastifyRequest): string => {
  const a = actorOf(req);
  return `${a.role}:${a.keyId}`;
};
const isOperator = (req: FastifyRequest): boolean => req.principal?.role === 'operator';

const quotaExceeded = (quota: string, limit: number, used: number): KumoError =>
  new KumoError('KUMO_ERR_QUOTA_EXCEEDED', `the tenant's ${quota} quota is used up (${used} of ${limit}); ask the operator`, { quota, limit, used });

type NewTicketBody = { kind: TicketKind; channel?: TicketChannel; subject: string; body: string; reportedBy: string; receivedAt?: string; assignee?: string | null; incidentIds?: string[] };
type TicketPatchBody = { state?: TicketState; assignee?: string | null; incidentIds?: string[]; subject?: string; kind?: TicketKind; note?: string };
type WorkBody = { title: string; description?: string; windowStart: string; windowEnd: string; impact: WorkImpact; tenants: 'all' | string[]; notice: { ja: string; en: string }; state?: WorkState };

/** Tenant routes: `/v1/tenants/:tenantId/tickets…`, `/works`. */
export const helpdeskTenantRoutes = defineRoutes((app, { redis, keys, dataQuotas, ticketNotesMax }) => {
  const tickets = new TicketStore(redis, keys);
  const works = new WorkStore(redis, keys);
  const tp = obj({ tenantId: str(64) });
  const ip = obj({ tenantId: str(64), ticketId: str(16) });

  app.get<{ Querystring: { state?: TicketState } }>(
    '/tickets',
    { schema: { tags: ['tenant'], summary: 'Help-desk tickets of the tenant (受付管理表), newest first', params: tp, querystring: obj({ state: { type: 'string', enum: [...TICKET_STATES] } }, []), response: { 200: obj({ items: { type: 'array', items: ticketSchema } }), ...errors() } } },
    async (req) => ({ items: (await tickets.listTenant(tenantOf(req).id)).filter((t) => req.query.state === undefined || t.state === req.query.state).map(ticketView) }),
  );

  app.post<{ Body: NewTicketBody }>(
    '/tickets',
    { schema: { tags: ['tenant'], summary: 'Open a ticket: inquiry, fault report or change request', params: tp, body: newTicketS, response: { 201: ticketSchema, ...errors() } } },
    async (req, reply) => {
      const b = req.body;
      const op = isOperator(req);
      if (!op && (b.channel !== undefined && b.channel !== 'web')) throw new KumoError('KUMO_ERR_FORBIDDEN', 'tenant admins open tickets on the web channel');
      if (!op && (b.assignee !== undefined || b.receivedAt !== undefined)) throw new KumoError('KUMO_ERR_FORBIDDEN', 'assignee and receivedAt are set by operators');
      // The tenant's ticket quota (docs/security.md, "Data quotas"); operators logging a phone report are not limited.
      if (!op) {
        const [limit, used] = await Promise.all([dataQuotas.get(tenantOf(req).id).then((q) => q.ticketsMax), redis.zcard(keys.tenant.opsTicketIndex(tenantOf(req).id))]);
        if (used >= limit) throw quotaExceeded('tickets', limit, used);
      }
      const t = await tickets.create(
        tenantOf(req).id,
        {
          kind: b.kind, channel: op ? (b.channel ?? 'phone') : 'web', subject: b.subject, body: b.body, reportedBy: b.reportedBy,
          ...(b.receivedAt !== undefined ? { receivedAt: epochMs(b.receivedAt, 'receivedAt') } : {}),
          ...(b.assignee !== undefined ? { assignee: b.assignee } : {}),
          ...(b.incidentIds !== undefined ? { incidentIds: b.incidentIds } : {}),
        },
        who(req),
      );
      return reply.code(201).send(ticketView(t));
    },
  );

  app.get<{ Params: { tenantId: string; ticketId: string } }>(
    '/tickets/:ticketId',
    { schema: { tags: ['tenant'], summary: 'One ticket', params: ip, response: { 200: ticketSchema, ...errors() } } },
    async (req) => {
      const t = await tickets.get(tenantOf(req).id, req.params.ticketId);
      if (t === null) throw new KumoError('KUMO_ERR_NOT_FOUND', `ticket ${req.params.ticketId} not found`);
      return ticketView(t);
    },
  );

  app.patch<{ Params: { tenantId: string; ticketId: string }; Body: TicketPatchBody }>(
    '/tickets/:ticketId',
    { schema: { tags: ['tenant'], summary: 'Update a ticket (operators: everything; tenant admins: add a note, close a resolved ticket)', params: ip, body: patchTicketS, response: { 200: ticketSchema, ...errors(403) } } },
    async (req) => {
      const b = req.body;
      if (!isOperator(req)) {
        const other = Object.keys(b).filter((k) => k !== 'note' && k !== 'state');
        if (other.length > 0 || (b.state !== undefined && b.state !== 'closed')) throw new KumoError('KUMO_ERR_FORBIDDEN', 'tenant admins may add a note or close the ticket');
        if (b.state === 'closed') {
          const cur = await tickets.get(tenantOf(req).id, req.params.ticketId);
          if (cur !== null && cur.state !== 'resolved' && cur.state !== 'closed') throw new KumoError('KUMO_ERR_FORBIDDEN', 'tenant admins may close a resolved ticket only');
        }
      }
      if (!isOperator(req) && b.note !== undefined) {
        const cur = await tickets.get(tenantOf(req).id, req.params.ticketId);
        if (cur !== null && cur.notes.length >= ticketNotesMax) throw quotaExceeded('ticket notes', ticketNotesMax, cur.notes.length);
      }
      const patch: TicketPatch = {
        ...(b.state !== undefined ? { state: b.state } : {}),
        ...(b.assignee !== undefined ? { assignee: b.assignee } : {}),
        ...(b.incidentIds !== undefined ? { incidentIds: b.incidentIds } : {}),
        ...(b.subject !== undefined ? { subject: b.subject } : {}),
        ...(b.kind !== undefined ? { kind: b.kind } : {}),
        ...(b.note !== undefined ? { note: b.note } : {}),
      };
      return ticketView(await tickets.update(tenantOf(req).id, req.params.ticketId, patch, who(req)));
    },
  );

  app.get(
    '/works',
    { schema: { tags: ['tenant'], summary: 'Maintenance works (工事情報) affecting the tenant, with their notices', params: tp, response: { 200: obj({ items: { type: 'array', items: workS } }), ...errors() } } },
    async (req) => ({ items: (await works.list({ tenantId: tenantOf(req).id })).map(workView) }),
  );
});

/** Operator routes: `/v1/ops/tickets`, `/v1/ops/works…`. */
export const helpdeskOperatorRoutes = defineRoutes((app, { redis, keys }) => {
  const tickets = new TicketStore(redis, keys);
  const works = new WorkStore(redis, keys);

  app.get<{ Querystring: { state?: TicketState; limit?: string } }>(
    '/ops/tickets',
    { schema: { tags: ['operator'], summary: 'Tickets of every tenant, newest first', querystring: obj({ state: { type: 'string', enum: [...TICKET_STATES] }, limit: { type: 'string', pattern: '^[0-9]{1,4}$' } }, []), response: { 200: obj({ items: { type: 'array', items: ticketSchema } }), ...errors(403) } } },
    async (req) => ({
      items: (await tickets.listAll({ ...(req.query.state ? { state: req.query.state } : {}), limit: req.query.limit === undefined ? 100 : Math.min(1000, Math.max(1, Number(req.query.limit))) })).map(ticketView),
    }),
  );

  app.get<{ Querystring: { from?: string; to?: string } }>(
    '/ops/works',
    { schema: { tags: ['operator'], summary: 'Maintenance works whose window overlaps [from, to)', querystring: obj({ from: ts, to: ts }, []), response: { 200: obj({ items: { type: 'array', items: workS } }), ...errors(403) } } },
    async (req) => ({
      items: (await works.list({ ...(req.query.from ? { from: epochMs(req.query.from, 'from') } : {}), ...(req.query.to ? { to: epochMs(req.query.to, 'to') } : {}) })).map(workView),
    }),
  );

  app.post<{ Body: WorkBody }>(
    '/ops/works',
    { schema: { tags: ['operator'], summary: 'Schedule a maintenance work (window, affected tenants, notice)', body: newWorkS, response: { 201: workS, ...errors(403) } } },
    async (req, reply) => {
      const b = req.body;
      const w = await works.create(
        { title: b.title, description: b.description ?? '', windowStart: epochMs(b.windowStart, 'windowStart'), windowEnd: epochMs(b.windowEnd, 'windowEnd'), impact: b.impact, tenants: b.tenants, notice: b.notice },
        who(req),
      );
      return reply.code(201).send(workView(w));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/ops/works/:id',
    { schema: { tags: ['operator'], summary: 'One maintenance work', params: obj({ id: str(16) }), response: { 200: workS, ...errors(403) } } },
    async (req) => {
      const w = await works.get(req.params.id);
      if (w === null) throw new KumoError('KUMO_ERR_NOT_FOUND', `work ${req.params.id} not found`);
      return workView(w);
    },
  );

  app.patch<{ Params: { id: string }; Body: Partial<WorkBody> }>(
    '/ops/works/:id',
    { schema: { tags: ['operator'], summary: 'Update a work (window, notice, state: in-progress, completed, cancelled)', params: obj({ id: str(16) }), body: patchWorkS, response: { 200: workS, ...errors(403) } } },
    async (req) => {
      const b = req.body;
      const patch: WorkPatch = {
        ...(b.title !== undefined ? { title: b.title } : {}),
        ...(b.description !== undefined ? { description: b.description } : {}),
        ...(b.windowStart !== undefined ? { windowStart: epochMs(b.windowStart, 'windowStart') } : {}),
        ...(b.windowEnd !== undefined ? { windowEnd: epochMs(b.windowEnd, 'windowEnd') } : {}),
        ...(b.impact !== undefined ? { impact: b.impact } : {}),
        ...(b.tenants !== undefined ? { tenants: b.tenants } : {}),
        ...(b.notice !== undefined ? { notice: b.notice } : {}),
        ...(b.state !== undefined ? { state: b.state } : {}),
      };
      return workView(await works.update(req.params.id, patch));
    },
  );
});
