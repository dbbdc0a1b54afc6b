import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

/** Who made a change: an API key (by id, never the key) or the system (seeding, CLI). */
export interface Actor {
  readonly keyId: string;
  readonly role: 'operator' | 'tenant-admin' | 'system';
}

export const SYSTEM_ACTOR: Actor = { keyId: 'system', role: 'system' };

export interface AuditEntry {
  /** Redis stream id, also the pagination cursor. */
  readonly id: string;
  /** ISO-8601 UTC. */
  readonly at: string;
  readonly actor: Actor;
  /** e.g. `extension.create`, `tenant.suspend`. */
  readonly action: string;
  /** What was changed, e.g. `extension:1001`. */
  readonly target: string;
  /** The record before / after the change, secrets redacted; null when absent. */
  readonly before: unknown;
  readonly after: unknown;
}

const SECRET_FIELDS = new Set(['password', 'ha1Md5', 'ha1Sha256', 'keyHash', 'secret']);

/** Deep copy with secret fields replaced by `[redacted]`. */
export function redactSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redactSecrets);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = SECRET_FIELDS.has(k) ? '[redacted]' : redactSecrets(x);
    return out;
  }
  return v;
}

/** Kept per stream (approximately): configuration history is long but bounded. */
export const AUDIT_MAXLEN = 100_000;

/**
 * Configuration history: one Redis stream per tenant (`{t:<id>}:audit`) plus one for
 * platform-level actions. Entries are appended after each successful write.
 */
export class AuditRepo {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private streamOf(tenantId: string | null): string {
    return tenantId === null ? this.keys.global.audit() : this.keys.tenant.audit(tenantId);
  }

  async append(
    tenantId: string | null,
    e: { actor: Actor; action: string; target: string; before?: unknown; after?: unknown },
  ): Promise<string> {
    const id = await this.redis.xadd(
      this.streamOf(tenantId),
      'MAXLEN',
      '~',
      String(AUDIT_MAXLEN),
      '*',
      'at',
      this.now().toISOString(),
      'keyId',
      e.actor.keyId,
      'role',
      e.actor.role,
      'action',
      e.action,
      'target',
      e.target,
      'before',
      JSON.stringify(redactSecrets(e.before ?? null)),
      'after',
      JSON.stringify(redactSecrets(e.after ?? null)),
    );
    return id ?? '';
  }

  /** Newest first. `before` is an exclusive stream-id cursor from the previous page. */
  async list(tenantId: string | null, q: { before?: string | undefined; limit?: number | undefined } = {}): Promise<{ items: AuditEntry[]; next: string | null }> {
    const limit = Math.min(1000, Math.max(1, Math.trunc(q.limit ?? 100)));
    // Nothing is older than 0-0 (and Redis refuses the exclusive range `(0-0`).
    if (q.before === '0-0') return { items: [], next: null };
    const end = q.before === undefined || q.before === '' ? '+' : `(${q.before}`;
    const rows = await this.redis.xrevrange(this.streamOf(tenantId), end, '-', 'COUNT', limit);
    const items = rows.map(([id, flat]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
      return {
        id,
        at: f.at ?? '',
        actor: { keyId: f.keyId ?? '', role: (f.role ?? 'system') as Actor['role'] },
        action: f.action ?? '',
        target: f.target ?? '',
        before: JSON.parse(f.before ?? 'null') as unknown,
        after: JSON.parse(f.after ?? 'null') as unknown,
      };
    });
    return { items, next: rows.length === limit ? (items[items.length - 1]?.id ?? null) : null };
  }
}
