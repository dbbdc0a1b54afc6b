/**
 * Help-desk tickets (受付) per tenant and maintenance works (工事) in Redis
 * (docs/operations.md, "Help desk" and "Maintenance works").
 */
import {
  canMoveTicket,
  canMoveWork,
  type TicketChannel,
  type TicketKind,
  type TicketState,
  type WorkImpact,
  type WorkState,
} from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

export interface TicketNote {
  readonly at: number;
  readonly by: string;
  readonly text: string;
}

export interface Ticket {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: TicketKind;
  readonly channel: TicketChannel;
  readonly state: TicketState;
  readonly subject: string;
  readonly body: string;
  /** Who contacted us (name, phone or mail as given). */
  readonly reportedBy: string;
  readonly assignee: string | null;
  readonly incidentIds: readonly string[];
  readonly receivedAt: number;
  readonly updatedAt: number;
  readonly resolvedAt: number | null;
  readonly closedAt: number | null;
  readonly createdBy: string;
  readonly notes: readonly TicketNote[];
}

export interface NewTicket {
  readonly kind: TicketKind;
  readonly channel: TicketChannel;
  readonly subject: string;
  readonly body: string;
  readonly reportedBy: string;
  readonly receivedAt?: number;
  readonly assignee?: string | null;
  readonly incidentIds?: readonly string[];
}

export interface TicketPatch {
  readonly state?: TicketState;
  readonly assignee?: string | null;
  readonly incidentIds?: readonly string[];
  readonly subject?: string;
  readonly kind?: TicketKind;
  readonly note?: string;
}

const invalid = (field: string, message: string): KumoError => new KumoError('KUMO_ERR_VALIDATION', `${field}: ${message}`, { problems: [{ field, message }] });

export class TicketStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly now: () => number = Date.now,
  ) {}

  async create(tenantId: string, n: NewTicket, by: string): Promise<Ticket> {
    const seq = await this.redis.incr(this.keys.global.opsTicketSeq());
    const at = this.now();
    const t: Ticket = {
      id: `T-${String(seq).padStart(6, '0')}`,
      tenantId,
      kind: n.kind,
      channel: n.channel,
      state: 'new',
      subject: n.subject,
      body: n.body,
      reportedBy: n.reportedBy,
      assignee: n.assignee ?? null,
      incidentIds: [...(n.incidentIds ?? [])],
      receivedAt: n.receivedAt ?? at,
      updatedAt: at,
      resolvedAt: null,
      closedAt: null,
      createdBy: by,
      notes: [],
    };
    const k = this.keys.tenant;
    await Promise.all([
      this.redis.hset(k.opsTickets(tenantId), t.id, JSON.stringify(t)),
      this.redis.zadd(k.opsTicketIndex(tenantId), t.receivedAt, t.id),
      this.redis.zadd(this.keys.global.opsTicketsAll(), t.receivedAt, `${tenantId}/${t.id}`),
    ]);
    return t;
  }

  async get(tenantId: string, id: string): Promise<Ticket | null> {
    const v = await this.redis.hget(this.keys.tenant.opsTickets(tenantId), id);
    return v === null ? null : (JSON.parse(v) as Ticket);
  }

  async update(tenantId: string, id: string, p: TicketPatch, by: string): Promise<Ticket> {
    const cur = await this.get(tenantId, id);
    if (cur === null) throw new KumoError('KUMO_ERR_NOT_FOUND', `ticket ${id} not found`);
    const state = p.state ?? cur.state;
    if (!canMoveTicket(cur.state, state)) throw invalid('state', `cannot move a ${cur.state} ticket to ${state}`);
    const at = this.now();
    const next: Ticket = {
      ...cur,
      state,
      kind: p.kind ?? cur.kind,
      subject: p.subject ?? cur.subject,
      assignee: p.assignee === undefined ? cur.assignee : p.assignee,
      incidentIds: p.incidentIds === undefined ? cur.incidentIds : [...p.incidentIds],
      resolvedAt: state === 'resolved' && cur.state !== 'resolved' ? at : state === 'in-progress' ? null : cur.resolvedAt,
      closedAt: state === 'closed' && cur.state !== 'closed' ? at : cur.closedAt,
      notes: p.note !== undefined ? [...cur.notes, { at, by, text: p.note }] : cur.notes,
      updatedAt: at,
    };
    await this.redis.hset(this.keys.tenant.opsTickets(tenantId), id, JSON.stringify(next));
    return next;
  }

  /** A tenant's tickets received in [from, to), newest first. */
  async listTenant(tenantId: string, from = 0, to = Number.MAX_SAFE_INTEGER, limit = 1000): Promise<Ticket[]> {
    const ids = await this.redis.zrevrangebyscore(this.keys.tenant.opsTicketIndex(tenantId), `(${to}`, from, 'LIMIT', 0, limit);
    if (ids.length === 0) return [];
    const vals = await this.redis.hmget(this.keys.tenant.opsTickets(tenantId), ...ids);
    return vals.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as Ticket);
  }

  /** Every tenant's tickets, newest first (operators). */
  async listAll(o: { state?: TicketState; limit?: number } = {}): Promise<Ticket[]> {
    const limit = o.limit ?? 100;
    const out: Ticket[] = [];
    let offset = 0;
    while (out.length < limit) {
      const refs = await this.redis.zrevrange(this.keys.global.opsTicketsAll(), offset, offset + 499);
      if (refs.length === 0) break;
      offset += refs.length;
      const got = await Promise.all(refs.map((r) => {
        const [tenantId = '', id = ''] = r.split('/');
        return this.get(tenantId, id);
      }));
      for (const t of got) if (t !== null && (o.state === undefined || t.state === o.state) && out.length < limit) out.push(t);
    }
    return out;
  }
}

export interface Work {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  /** Expected impact during the window. */
  readonly impact: WorkImpact;
  readonly tenants: 'all' | readonly string[];
  readonly state: WorkState;
  /** The notice shown to the affected tenants (Japanese and English). */
  readonly notice: { readonly ja: string; readonly en: string };
  readonly createdBy: string;
  readonly updatedAt: number;
}

export type NewWork = Omit<Work, 'id' | 'state' | 'createdBy' | 'updatedAt'>;
export type WorkPatch = Partial<Omit<Work, 'id' | 'createdBy' | 'updatedAt'>>;

export class WorkStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly now: () => number = Date.now,
  ) {}

  async create(n: NewWork, by: string): Promise<Work> {
    if (n.windowEnd <= n.windowStart) throw invalid('windowEnd', 'must be after windowStart');
    const seq = await this.redis.incr(this.keys.global.opsWorkSeq());
    const w: Work = { ...n, id: `W-${String(seq).padStart(6, '0')}`, state: 'scheduled', createdBy: by, updatedAt: this.now() };
    await this.write(w);
    return w;
  }

  private async write(w: Work): Promise<void> {
    const g = this.keys.global;
    await Promise.all([this.redis.hset(g.opsWorks(), w.id, JSON.stringify(w)), this.redis.zadd(g.opsWorkIndex(), w.windowStart, w.id)]);
  }

  async get(id: string): Promise<Work | null> {
    const v = await this.redis.hget(this.keys.global.opsWorks(), id);
    return v === null ? null : (JSON.parse(v) as Work);
  }

  async update(id: string, p: WorkPatch): Promise<Work> {
    const cur = await this.get(id);
    if (cur === null) throw new KumoError('KUMO_ERR_NOT_FOUND', `work ${id} not found`);
    const next: Work = { ...cur, ...p, updatedAt: this.now() };
    if (!canMoveWork(cur.state, next.state)) throw invalid('state', `cannot move a ${cur.state} work to ${next.state}`);
    if (next.windowEnd <= next.windowStart) throw invalid('windowEnd', 'must be after windowStart');
    await this.write(next);
    return next;
  }

  /** Works whose window overlaps [from, to), by window start; optionally only those affecting a tenant. */
  async list(o: { from?: number; to?: number; tenantId?: string } = {}): Promise<Work[]> {
    const from = o.from ?? 0;
    const ids = await this.redis.zrangebyscore(this.keys.global.opsWorkIndex(), '-inf', `(${o.to ?? Number.MAX_SAFE_INTEGER}`);
    if (ids.length === 0) return [];
    const vals = await this.redis.hmget(this.keys.global.opsWorks(), ...ids);
    return vals
      .filter((v): v is string => v !== null)
      .map((v) => JSON.parse(v) as Work)
      .filter((w) => w.windowEnd > from && (o.tenantId === undefined || w.tenants === 'all' || w.tenants.includes(o.tenantId)));
  }
}
