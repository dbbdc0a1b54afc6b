import { createHash } from 'node:crypto';
import { KumoError } from '@kumo/runtime';
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
  /** Hash chain: SHA-256 (hex) of the previous entry's hash and this entry's content. */
  readonly hash: string;
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

/**
 * Retention of the configuration history (docs/security.md): time-based, never by count, so
 * churn cannot push old entries out. Default 2 years; the retention job trims older entries.
 */
export const DEFAULT_AUDIT_RETENTION_MS = 730 * 86_400_000;

/** The genesis "previous hash" of a chain. */
export const AUDIT_GENESIS = '0'.repeat(64);

/**
 * Append entries with a hash chain, atomically against concurrent appenders (other api
 * processes): KEYS 1 stream, 2 head (string: hash of the newest entry). ARGV 1 expected head
 * ('' = none), 2 new head, then per entry: n, n field/value strings. Returns {'OK', ids…} or {'RETRY', head}.
 */
const APPEND = `
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then return {'RETRY', head} end
local out = {'OK'}
local i = 3
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local fields = {}
  for j = i + 1, i + n do fields[#fields + 1] = ARGV[j] end
  out[#out + 1] = redis.call('XADD', KEYS[1], '*', unpack(fields))
  i = i + n + 1
end
redis.call('SET', KEYS[2], ARGV[2])
return out
`;

/**
 * Trim below a minimum id, remembering the hash of the last trimmed entry as the chain's anchor:
 * KEYS 1 stream, 3 anchor. ARGV 1 min id, 2 hash of the newest entry below it. Returns entries removed.
 */
const TRIM = `
redis.call('SET', KEYS[2], ARGV[2])
return redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
`;

interface AuditScripts {
  kumoAuditAppend(stream: string, head: string, expected: string, hash: string, ...fields: string[]): Promise<string[]>;
  kumoAuditTrim(stream: string, anchor: string, minId: string, lastHash: string): Promise<number>;
}

const defined = new WeakSet<RedisClient>();

/** The content a chain hash covers, in a fixed order. */
function chainHash(prev: string, f: Readonly<Record<string, string>>): string {
  const h = createHash('sha256').update(prev, 'utf8');
  for (const k of ['at', 'keyId', 'role', 'action', 'target', 'before', 'after', 'tenantId', 'ref']) h.update(`\n${k}=${f[k] ?? ''}`, 'utf8');
  return h.digest('hex');
}

type RawEntry = [string, string[]];

function fieldsOf(flat: readonly string[]): Record<string, string> {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
  return f;
}

export interface AuditInput {
  readonly actor: Actor;
  readonly action: string;
  readonly target: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

export interface AuditVerification {
  readonly ok: boolean;
  /** Entries checked. */
  readonly entries: number;
  /** The first entry whose content or link does not match (or 'head' when the newest entries are missing). */
  readonly firstBad: string | null;
  readonly reason: string | null;
}

/**
 * Configuration history: one Redis stream per tenant (`{t:<id>}:audit`) plus one for
 * platform-level actions. Entries are appended after each successful write. The streams are
 * append-only hash chains (tamper-evident: `verify`), trimmed by time only (`trimExpired`).
 * An operator's action on a tenant is also recorded on the platform trail (who, what, when and
 * the tenant entry's hash; not the records themselves, which are the tenant's data).
 */
/** Compare-and-set rounds of one chained append before giving up (each after a random back-off, see chainAppend). */
const AUDIT_APPEND_ATTEMPTS = 100;

export class AuditRepo {
  private readonly lua: AuditScripts;
  /** Appends of this process, per stream, in order (no compare-and-set retries among ourselves). */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Last known head per stream (a stale one costs one compare-and-set retry). */
  private readonly heads = new Map<string, string>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly now: () => Date = () => new Date(),
  ) {
    if (!defined.has(redis)) {
      redis.defineCommand('kumoAuditAppend', { numberOfKeys: 2, lua: APPEND });
      redis.defineCommand('kumoAuditTrim', { numberOfKeys: 2, lua: TRIM });
      defined.add(redis);
    }
    this.lua = redis as unknown as AuditScripts;
  }

  private streamOf(tenantId: string | null): string {
    return tenantId === null ? this.keys.global.audit() : this.keys.tenant.audit(tenantId);
  }

  private headOf(tenantId: string | null): string {
    return tenantId === null ? this.keys.global.auditHead() : this.keys.tenant.auditHead(tenantId);
  }

  private anchorOf(tenantId: string | null): string {
    return tenantId === null ? this.keys.global.auditAnchor() : this.keys.tenant.auditAnchor(tenantId);
  }

  private serial<T>(stream: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(stream) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.queues.set(stream, tail);
    void tail.then(() => {
      if (this.queues.get(stream) === tail) this.queues.delete(stream);
    });
    return next;
  }

  private async chainAppend(tenantId: string | null, list: readonly Record<string, string>[]): Promise<{ id: string; hash: string }[]> {
    const stream = this.streamOf(tenantId);
    const head = this.headOf(tenantId);
    return this.serial(stream, async () => {
      let expected = this.heads.get(stream) ?? (await this.redis.get(head)) ?? '';
      for (let attempt = 0; attempt < AUDIT_APPEND_ATTEMPTS; attempt++) {
        let prev = expected === '' ? AUDIT_GENESIS : expected;
        const hashes: string[] = [];
        const argv: string[] = [];
        for (const f of list) {
          prev = chainHash(prev, f);
          hashes.push(prev);
          const flat = Object.entries({ ...f, hash: prev }).flat();
          argv.push(String(flat.length), ...flat);
        }
        const [status, ...rest] = await this.lua.kumoAuditAppend(stream, head, expected, prev, ...argv);
        if (status === 'OK') {
          this.heads.set(stream, prev);
          return rest.map((id, i) => ({ id, hash: hashes[i] ?? '' }));
        }
        expected = rest[0] ?? '';
        // Another process appended first. Retrying at once can lose every race to a process with a backlog (it knows
        // its own head, so it fires first): back off a random, growing moment before trying again.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, attempt + 1)));
      }
      throw new KumoError('KUMO_ERR_CONCURRENT_UPDATE', 'the audit trail changed concurrently too often; retry');
    });
  }

  async append(tenantId: string | null, e: AuditInput): Promise<string> {
    const [id] = await this.appendMany(tenantId, [e]);
    return id ?? '';
  }

  /** Appends several entries in one atomic step (bulk operations); returns their ids in order. */
  async appendMany(tenantId: string | null, list: readonly AuditInput[]): Promise<string[]> {
    if (list.length === 0) return [];
    const at = this.now().toISOString();
    const fields = list.map((e) => ({
      at,
      keyId: e.actor.keyId,
      role: e.actor.role,
      action: e.action,
      target: e.target,
      before: JSON.stringify(redactSecrets(e.before ?? null)),
      after: JSON.stringify(redactSecrets(e.after ?? null)),
    }));
    const done = await this.chainAppend(tenantId, fields);
    const byOperator = tenantId === null ? [] : list.map((e, i) => [e, done[i]] as const).filter(([e]) => e.actor.role === 'operator');
    if (tenantId !== null && byOperator.length > 0) {
      await this.chainAppend(
        null,
        byOperator.map(([e, r]) => ({
          at,
          keyId: e.actor.keyId,
          role: e.actor.role,
          action: e.action,
          target: e.target,
          before: 'null',
          after: 'null',
          tenantId,
          ref: `${r?.id ?? ''} ${r?.hash ?? ''}`,
        })),
      );
    }
    return done.map((r) => r.id);
  }

  /** Entries in the trail (O(1)): what the per-tenant audit quota counts. */
  async size(tenantId: string | null): Promise<number> {
    return this.redis.xlen(this.streamOf(tenantId));
  }

  /** Newest first. `before` is an exclusive stream-id cursor from the previous page. */
  async list(tenantId: string | null, q: { before?: string | undefined; limit?: number | undefined } = {}): Promise<{ items: AuditEntry[]; next: string | null }> {
    const limit = Math.min(1000, Math.max(1, Math.trunc(q.limit ?? 100)));
    // Nothing is older than 0-0 (and Redis refuses the exclusive range `(0-0`).
    if (q.before === '0-0') return { items: [], next: null };
    const end = q.before === undefined || q.before === '' ? '+' : `(${q.before}`;
    const rows = await this.redis.xrevrange(this.streamOf(tenantId), end, '-', 'COUNT', limit);
    const items = rows.map(([id, flat]) => {
      const f = fieldsOf(flat);
      const target = f.tenantId !== undefined ? `tenant:${f.tenantId}/${f.target ?? ''}` : (f.target ?? '');
      return {
        id,
        at: f.at ?? '',
        actor: { keyId: f.keyId ?? '', role: (f.role ?? 'system') as Actor['role'] },
        action: f.action ?? '',
        target,
        before: JSON.parse(f.before ?? 'null') as unknown,
        after: JSON.parse(f.after ?? 'null') as unknown,
        hash: f.hash ?? '',
      };
    });
    return { items, next: rows.length === limit ? (items[items.length - 1]?.id ?? null) : null };
  }

  /**
   * Walks the chain oldest to newest: each entry's hash must match its content and the previous
   * hash (the trim anchor for the oldest kept entry, genesis when never trimmed), and the newest
   * must be the recorded head. Detects changed, inserted, removed and truncated entries.
   */
  async verify(tenantId: string | null): Promise<AuditVerification> {
    const stream = this.streamOf(tenantId);
    const [anchor, head] = await Promise.all([this.redis.get(this.anchorOf(tenantId)), this.redis.get(this.headOf(tenantId))]);
    let prev = anchor ?? AUDIT_GENESIS;
    let entries = 0;
    let start = '-';
    for (;;) {
      const rows = (await this.redis.xrange(stream, start, '+', 'COUNT', 1000)) as RawEntry[];
      for (const [id, flat] of rows) {
        const f = fieldsOf(flat);
        entries++;
        if (f.hash === undefined) return { ok: false, entries, firstBad: id, reason: 'entry has no chain hash' };
        if (chainHash(prev, f) !== f.hash) return { ok: false, entries, firstBad: id, reason: 'content or link does not match its hash' };
        prev = f.hash;
      }
      if (rows.length < 1000) break;
      start = `(${rows[rows.length - 1]?.[0] ?? '0-0'}`;
    }
    if (entries > 0 && head !== prev) return { ok: false, entries, firstBad: 'head', reason: 'the newest entries are missing or the head was changed' };
    if (entries === 0 && head !== null && head !== anchor) return { ok: false, entries, firstBad: 'head', reason: 'the entries of the trail are missing' };
    return { ok: true, entries, firstBad: null, reason: null };
  }

  /** The retention job: removes entries older than `retentionMs`, keeping the chain verifiable. */
  async trimExpired(tenantId: string | null, retentionMs: number): Promise<number> {
    const stream = this.streamOf(tenantId);
    const minId = `${Math.max(0, this.now().getTime() - retentionMs)}-0`;
    const last = (await this.redis.xrevrange(stream, `(${minId}`, '-', 'COUNT', 1)) as RawEntry[];
    const newestOld = last[0];
    if (newestOld === undefined) return 0;
    const hash = fieldsOf(newestOld[1]).hash ?? '';
    return this.lua.kumoAuditTrim(stream, this.anchorOf(tenantId), minId, hash);
  }
}
