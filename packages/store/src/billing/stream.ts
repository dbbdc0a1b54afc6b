/**
 * The CDR stream: call control publishes each CDR (awaited) to one of N shard streams chosen
 * by a hash of the tenant id; billing workers read every shard through one consumer group.
 * Publishing is at-least-once (a retried publish may add a second entry); charging is
 * once per CDR id, so duplicates are harmless.
 */
import type { Cdr } from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

export const BILLING_GROUP = 'billing';

/** FNV-1a 32-bit of the tenant id, modulo the shard count: the same tenant always lands on the same shard. */
export function cdrShardOf(tenantId: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tenantId.length; i++) {
    h ^= tenantId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

export interface StreamEntry {
  readonly shard: number;
  /** Stream entry id (`ms-seq`). */
  readonly id: string;
  /** The raw `cdr` field (JSON), or null when the entry has none. */
  readonly payload: string | null;
}

export interface DeadLetter {
  readonly id: string;
  readonly stream: string;
  readonly entryId: string;
  readonly error: string;
  readonly deliveries: number;
  readonly payload: string | null;
  readonly at: number;
}

type RawEntry = [string, string[]];

function toEntries(shard: number, raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: StreamEntry[] = [];
  for (const e of raw as (RawEntry | null)[]) {
    // XAUTOCLAIM/XCLAIM may return null for entries deleted (trimmed) while pending.
    // A pending entry that was deleted comes back as [id, null]: surfaced with no payload.
    if (!Array.isArray(e) || typeof e[0] !== 'string') continue;
    const f: string[] = Array.isArray(e[1]) ? e[1] : [];
    let payload: string | null = null;
    for (let i = 0; i + 1 < f.length; i += 2) if (f[i] === 'cdr') payload = f[i + 1] ?? null;
    out.push({ shard, id: e[0], payload });
  }
  return out;
}

/** Compares stream ids `ms-seq` numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const d = BigInt(am) - BigInt(bm);
  if (d !== 0n) return d < 0n ? -1 : 1;
  const e = BigInt(as) - BigInt(bs);
  return e === 0n ? 0 : e < 0n ? -1 : 1;
}

/**
 * Replication of CDR publishes (docs/scaling.md, "What an acknowledged CDR promises"): with
 * `minReplicas` > 0 a publish is acknowledged only after `WAIT minReplicas timeoutMs` on the
 * stream's master, so a Sentinel failover that promotes a replica keeps it. When the replicas do
 * not confirm in time (a replica is down), the publish still succeeds on the master's own
 * durability (AOF) and is counted in `unreplicatedPublishes`: calls and billing go on, and
 * for the next second publishes do not wait (then WAIT is tried again).
 */
export interface CdrReplication {
  readonly minReplicas: number;
  readonly timeoutMs: number;
}

/** After a WAIT that found too few replicas, publishes go unreplicated this long before WAIT is tried again. */
const UNREPLICATED_RETRY_MS = 1000;

export class CdrStreams {
  /** Publishes acknowledged by the master but not confirmed by `minReplicas` replicas in time. */
  unreplicatedPublishes = 0;
  /** WAIT blocks its connection: replicated publishes use their own, never the shared one. */
  private waitConn: RedisClient | undefined;
  /** Until then publishes skip WAIT: the last one found too few replicas. */
  private unreplicatedUntil = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    readonly shards: number,
    readonly replication: CdrReplication = { minReplicas: 0, timeoutMs: 0 },
  ) {
    if (!Number.isInteger(shards) || shards < 1) throw new KumoError('KUMO_ERR_CONFIG', `shard count must be >= 1, got ${shards}`);
  }

  streamKey(shard: number): string {
    return this.keys.global.cdrStream(shard);
  }

  shardOf(tenantId: string): number {
    return cdrShardOf(tenantId, this.shards);
  }

  /**
   * Publishes one CDR; resolves with the stream entry id once Redis has acknowledged it
   * (with `appendfsync always`, once it is on disk). Safe to retry: charging is keyed by cdrId.
   */
  async publishCdr(cdr: Cdr): Promise<string> {
    const key = this.streamKey(this.shardOf(cdr.tenantId));
    const payload = JSON.stringify(cdr);
    const { minReplicas, timeoutMs } = this.replication;
    if (minReplicas <= 0 || Date.now() < this.unreplicatedUntil) {
      if (minReplicas > 0) this.unreplicatedPublishes++;
      const id = await this.redis.xadd(key, '*', 'cdr', payload);
      if (id === null) throw new KumoError('KUMO_ERR_CDR_PUBLISH', 'XADD returned no id');
      return id;
    }
    if (!this.waitConn) {
      this.waitConn = this.redis.duplicate();
      // Connection errors reach the caller as rejected publishes; the event itself needs no handling.
      this.waitConn.on('error', () => undefined);
    }
    // One pipeline, so WAIT runs on the connection (and, on a Cluster, the node) that took the XADD.
    const res = await this.waitConn.pipeline().xadd(key, '*', 'cdr', payload).call('WAIT', minReplicas, timeoutMs).exec();
    const [added, waited] = res ?? [];
    if (!added || added[0] || typeof added[1] !== 'string') {
      throw new KumoError('KUMO_ERR_CDR_PUBLISH', `XADD failed: ${String(added?.[0] ?? 'no reply')}`);
    }
    if (!waited || waited[0] || Number(waited[1]) < minReplicas) {
      // The replicas are gone (e.g. after a failover, before a new replica syncs): don't make every
      // publish wait out the timeout; try WAIT again after a pause.
      this.unreplicatedPublishes++;
      this.unreplicatedUntil = Date.now() + UNREPLICATED_RETRY_MS;
    }
    return added[1];
  }

  /**
   * The stream entry a CDR is published as, for a publish that is one command among others of a script
   * (`CallRecordStore.publishAndClear`); undefined when publishes wait for replicas (`WAIT` after the `XADD`,
   * on its own connection) and must go through `publishCdr`.
   */
  entryOf(cdr: Cdr): { readonly key: string; readonly payload: string } | undefined {
    if (this.replication.minReplicas > 0) return undefined;
    return { key: this.streamKey(this.shardOf(cdr.tenantId)), payload: JSON.stringify(cdr) };
  }

  /** Closes the replicated-publish connection, if one was opened. Idempotent. */
  close(): void {
    this.waitConn?.disconnect();
    this.waitConn = undefined;
  }

  /** Creates the consumer group on every shard (from the start of the stream); idempotent. */
  async ensureGroup(group = BILLING_GROUP): Promise<void> {
    for (let s = 0; s < this.shards; s++) {
      try {
        await this.redis.xgroup('CREATE', this.streamKey(s), group, '0', 'MKSTREAM');
      } catch (err) {
        if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err;
      }
    }
  }

  /**
   * XREADGROUP on one shard. `from` is `>` for new entries or an id to re-read this consumer's
   * own pending entries after it (recovery after a crash with the same consumer name).
   * `conn` should be a dedicated connection when blocking.
   */
  async read(conn: RedisClient, o: { shard: number; consumer: string; count: number; blockMs?: number; from?: string; group?: string }): Promise<StreamEntry[]> {
    const args: (string | number)[] = ['GROUP', o.group ?? BILLING_GROUP, o.consumer, 'COUNT', o.count];
    if (o.blockMs !== undefined) args.push('BLOCK', o.blockMs);
    args.push('STREAMS', this.streamKey(o.shard), o.from ?? '>');
    const res = (await conn.call('XREADGROUP', ...args)) as [string, unknown][] | null;
    return res?.[0] ? toEntries(o.shard, res[0][1]) : [];
  }

  /** XAUTOCLAIM: takes over entries pending longer than `minIdleMs` (e.g. on a dead worker). */
  async autoclaim(o: { shard: number; consumer: string; minIdleMs: number; cursor: string; count: number; group?: string }): Promise<{ cursor: string; entries: StreamEntry[] }> {
    const res = (await this.redis.xautoclaim(this.streamKey(o.shard), o.group ?? BILLING_GROUP, o.consumer, o.minIdleMs, o.cursor, 'COUNT', o.count)) as [string, unknown, unknown?];
    return { cursor: res[0], entries: toEntries(o.shard, res[1]) };
  }

  async ack(shard: number, ids: readonly string[], group = BILLING_GROUP): Promise<number> {
    if (ids.length === 0) return 0;
    return this.redis.xack(this.streamKey(shard), group, ...ids);
  }

  /** How many times an entry has been delivered (0 when it is not pending). */
  async deliveries(shard: number, id: string, group = BILLING_GROUP): Promise<number> {
    const res = (await this.redis.xpending(this.streamKey(shard), group, id, id, 1)) as [string, string, number, number][];
    return res[0]?.[3] ?? 0;
  }

  /** Moves an entry to the dead-letter stream, then acknowledges it (a crash in between leaves a duplicate dead letter, never a lost one). */
  async deadLetter(e: StreamEntry, error: string, deliveries: number, group = BILLING_GROUP): Promise<void> {
    await this.redis.xadd(
      this.keys.global.cdrDeadLetters(), '*',
      'stream', this.streamKey(e.shard), 'entry', e.id, 'shard', String(e.shard),
      'error', error.slice(0, 2000), 'deliveries', String(deliveries), 'at', String(Date.now()),
      ...(e.payload !== null ? ['cdr', e.payload] : []),
    );
    await this.ack(e.shard, [e.id], group);
  }

  async listDeadLetters(o: { after?: string; count: number }): Promise<DeadLetter[]> {
    // Nothing is newer than the largest id (and Redis refuses that exclusive range).
    if (o.after === '18446744073709551615-18446744073709551615') return [];
    const start = o.after ? `(${o.after}` : '-';
    const res = (await this.redis.xrange(this.keys.global.cdrDeadLetters(), start, '+', 'COUNT', o.count)) as RawEntry[];
    return res.map(([id, f]) => {
      const m = new Map<string, string>();
      for (let i = 0; i + 1 < f.length; i += 2) m.set(f[i] as string, f[i + 1] as string);
      return {
        id,
        stream: m.get('stream') ?? '',
        entryId: m.get('entry') ?? '',
        error: m.get('error') ?? '',
        deliveries: Number(m.get('deliveries') ?? 0),
        payload: m.get('cdr') ?? null,
        at: Number(m.get('at') ?? 0),
      };
    });
  }

  async deadLetterCount(): Promise<number> {
    return this.redis.xlen(this.keys.global.cdrDeadLetters());
  }

  /**
   * Re-publishes a dead letter's CDR (after a fix) to the shard stream it came from, then removes
   * the dead letter. Returns the new entry id, or null when there is no such dead letter.
   */
  async replayDeadLetter(id: string): Promise<string | null> {
    const [dl] = (await this.redis.xrange(this.keys.global.cdrDeadLetters(), id, id)) as RawEntry[];
    if (!dl) return null;
    const f = new Map<string, string>();
    for (let i = 0; i + 1 < dl[1].length; i += 2) f.set(dl[1][i] as string, dl[1][i + 1] as string);
    const payload = f.get('cdr');
    if (payload === undefined) throw new KumoError('KUMO_ERR_DEAD_LETTER_EMPTY', `dead letter ${id} has no CDR payload`);
    // The stream it came from is read by every worker; fall back to the tenant's shard under this process's shard count.
    let stream = f.get('stream');
    if (stream === undefined || !stream.startsWith(`${this.keys.prefix}:{cdr:`)) {
      let tenantId: unknown;
      try {
        tenantId = (JSON.parse(payload) as { tenantId?: unknown }).tenantId;
      } catch {
        throw new KumoError('KUMO_ERR_DEAD_LETTER_INVALID', `dead letter ${id} payload is not JSON`);
      }
      if (typeof tenantId !== 'string') throw new KumoError('KUMO_ERR_DEAD_LETTER_INVALID', `dead letter ${id} has no tenantId`);
      stream = this.streamKey(this.shardOf(tenantId));
    }
    const newId = await this.redis.xadd(stream, '*', 'cdr', payload);
    await this.redis.xdel(this.keys.global.cdrDeadLetters(), id);
    return newId;
  }

  /**
   * Trims one shard below what every consumer group has acknowledged AND past the retention
   * period: MINID = min(oldest pending id of each group, last-delivered id of each group, now − retention).
   * Never a plain MAXLEN, so an unacknowledged CDR is never trimmed.
   */
  async trim(shard: number, retentionMs: number, now = Date.now()): Promise<{ trimmed: number; minId: string; pending: number; lag: number }> {
    const key = this.streamKey(shard);
    const groups = (await this.redis.xinfo('GROUPS', key).catch((err: unknown) => {
      if (err instanceof Error && /no such key/i.test(err.message)) return [];
      throw err;
    })) as unknown[][];
    let minId = `${Math.max(0, now - retentionMs)}-0`;
    let pending = 0;
    let lag = 0;
    if (groups.length === 0) return { trimmed: 0, minId: '0-0', pending, lag };
    for (const g of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
      const name = info.get('name') as string;
      const lastDelivered = (info.get('last-delivered-id') as string | undefined) ?? '0-0';
      pending += Number(info.get('pending') ?? 0);
      const l = info.get('lag');
      if (typeof l === 'number') lag += l;
      if (compareStreamIds(lastDelivered, minId) < 0) minId = lastDelivered;
      if (Number(info.get('pending') ?? 0) > 0) {
        const summary = (await this.redis.xpending(key, name)) as [number, string | null, string | null, unknown];
        const oldest = summary[1];
        if (oldest && compareStreamIds(oldest, minId) < 0) minId = oldest;
      }
    }
    const trimmed = (await this.redis.call('XTRIM', key, 'MINID', minId)) as number;
    return { trimmed, minId, pending, lag };
  }
}
