import type { KeyObject } from 'node:crypto';
import type { Logger } from '@kumo/runtime';
import {
  applySiteConfig,
  verifySnapshot,
  type BranchReport,
  type BranchState,
  type KeySchema,
  type RedisClient,
  type SnapshotPayload,
} from '@kumo/store';

export interface BranchAgentOptions {
  /** The branch's own Redis (the one its sip app serves from). */
  readonly redis: RedisClient;
  readonly keys: KeySchema;
  readonly log: Logger;
  /** Base URL of the cloud API. */
  readonly cloudUrl: string;
  readonly credential: string;
  readonly publicKey: KeyObject;
  readonly keepaliveMs: number;
  /** Consecutive failed keep-alives before the branch serves alone. */
  readonly lossThreshold: number;
  readonly pollWaitS: number;
  readonly cdrBatch: number;
  /** CDR stream shards of the branch's own sip app (the branch runs it with 1). */
  readonly cdrShards: number;
}

export interface BranchView {
  readonly state: BranchState;
  readonly snapshotVersion: number;
  readonly cdrBacklog: number;
  readonly aloneSince: string | null;
  /** Snapshots refused since start (bad signature, stale, wrong site, malformed). */
  readonly refused: number;
}

type Fetched = { status: number; body: unknown; etag: string | null };

/**
 * The branch's link to the cloud (docs/branch.md):
 * - **keep-alive**: `POST /v1/branch/status` every `keepaliveMs`; `lossThreshold` failures in a row →
 *   `serving-alone`; the first success after that → `handing-back` (CDR backlog forwarded, snapshot
 *   refreshed) → `in-sync` once the backlog is empty.
 * - **snapshot**: a long-poll on `GET /v1/branch/snapshot`; each snapshot is verified (Ed25519, site,
 *   version not older than the one held) and written into the branch's Redis, or refused and logged.
 * - **CDRs**: the branch's sip app publishes to its own CDR stream (durable: AOF); while the link is up
 *   they are posted to the cloud in batches and deleted only once the cloud acknowledged them.
 */
export class BranchAgent {
  private state: BranchState = 'in-sync';
  private version = 0;
  private tenantId: string | undefined;
  private siteId: string | undefined;
  private failures = 0;
  private aloneSince: string | null = null;
  private backlog = 0;
  private refused = 0;
  private stopped = false;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private snapshotLoop: Promise<void> = Promise.resolve();
  private tick: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(v: BranchView) => void>();

  constructor(private readonly o: BranchAgentOptions) {}

  view(): BranchView {
    return { state: this.state, snapshotVersion: this.version, cdrBacklog: this.backlog, aloneSince: this.aloneSince, refused: this.refused };
  }

  /** Called on every state change and applied snapshot. */
  onChange(f: (v: BranchView) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private emit(): void {
    for (const f of this.listeners) f(this.view());
  }

  /**
   * Loads the snapshot the branch held before a restart (verified again), then starts the keep-alive
   * and the snapshot poll. Resolves once the first fetch attempt is done (the branch serves what it
   * holds whether or not the cloud answered).
   */
  async start(): Promise<void> {
    const held = await this.o.redis.get(this.o.keys.global.branchSnapshot());
    if (held !== null) {
      const v = verifySnapshot(JSON.parse(held) as unknown, this.o.publicKey, { heldVersion: 0 });
      if (v.ok) {
        this.version = v.payload.version;
        this.tenantId = v.payload.tenantId;
        this.siteId = v.payload.siteId;
      } else this.o.log.error({ reason: v.reason }, 'the stored snapshot does not verify; waiting for a fresh one');
    }
    this.backlog = await this.countBacklog();
    await this.fetchSnapshot(0).catch((err: unknown) => this.o.log.warn({ err: String(err) }, 'cloud not reachable at start; serving the stored snapshot'));
    this.snapshotLoop = this.pollSnapshots();
    this.scheduleKeepalive(0);
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.keepaliveTimer);
    this.abort.abort();
    await Promise.allSettled([this.snapshotLoop, this.tick]);
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private async request(method: 'GET' | 'POST', path: string, o: { body?: unknown; headers?: Record<string, string>; timeoutMs: number }): Promise<Fetched> {
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(o.timeoutMs)]);
    const res = await fetch(new URL(path, this.o.cloudUrl), {
      method,
      signal,
      headers: { authorization: `Bearer ${this.o.credential}`, ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(o.headers ?? {}) },
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text === '' ? null : (JSON.parse(text) as unknown);
    } catch {
      body = text;
    }
    return { status: res.status, body, etag: res.headers.get('etag') };
  }

  // ---- snapshot ----------------------------------------------------------------------------

  private async pollSnapshots(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.fetchSnapshot(this.o.pollWaitS);
        // Without a long-poll wait the cloud answers at once: poll at the keep-alive pace instead of spinning.
        if (this.o.pollWaitS === 0) await this.sleep(this.o.keepaliveMs);
      } catch {
        // The keep-alive judges the link; here just wait a moment before asking again.
        await this.sleep(this.o.keepaliveMs);
      }
    }
  }

  /** One (conditional, long-poll) fetch; applies a verified newer snapshot. */
  async fetchSnapshot(waitS: number): Promise<void> {
    const headers: Record<string, string> = this.version > 0 ? { 'if-none-match': `"${this.version}"` } : {};
    const r = await this.request('GET', `/v1/branch/snapshot?wait=${waitS}`, { headers, timeoutMs: waitS * 1000 + Math.max(5000, this.o.keepaliveMs * 2) });
    if (r.status === 304) return;
    if (r.status !== 200) {
      this.o.log.error({ status: r.status, code: (r.body as { code?: unknown } | null)?.code }, 'the cloud refused the snapshot request');
      await this.sleep(this.o.keepaliveMs);
      return;
    }
    await this.accept(r.body);
  }

  /** Verifies and applies a snapshot (exported for tests: what a tampered or stale one does). */
  async accept(envelope: unknown): Promise<{ ok: true; payload: SnapshotPayload } | { ok: false; reason: string }> {
    const v = verifySnapshot(envelope, this.o.publicKey, { tenantId: this.tenantId, siteId: this.siteId, heldVersion: this.version });
    if (!v.ok) {
      this.refused += 1;
      this.o.log.error({ reason: v.reason, held: this.version }, 'snapshot refused');
      return v;
    }
    if (v.payload.version === this.version) return v;
    await applySiteConfig(this.o.redis, this.o.keys, v.payload.tenantId, v.payload.config);
    await this.o.redis.set(this.o.keys.global.branchSnapshot(), JSON.stringify(envelope));
    this.o.log.info({ version: v.payload.version, previous: this.version, extensions: v.payload.config.extensions.length }, 'snapshot applied');
    this.version = v.payload.version;
    this.tenantId = v.payload.tenantId;
    this.siteId = v.payload.siteId;
    this.emit();
    return v;
  }

  // ---- keep-alive and the state machine ------------------------------------------------------

  private scheduleKeepalive(ms: number): void {
    if (this.stopped) return;
    this.keepaliveTimer = setTimeout(() => {
      this.tick = this.keepalive().finally(() => this.scheduleKeepalive(this.o.keepaliveMs));
    }, ms);
  }

  private seq = 0;

  private report(): BranchReport {
    // Strictly increasing, also across restarts (time-based): the cloud ignores a report older than one it took.
    this.seq = Math.max(this.seq + 1, Date.now());
    return { state: this.state, snapshotVersion: this.version, cdrBacklog: this.backlog, aloneSince: this.aloneSince, seq: this.seq };
  }

  private setState(s: BranchState): void {
    if (s === this.state) return;
    const from = this.state;
    this.state = s;
    if (s === 'serving-alone' && this.aloneSince === null) this.aloneSince = new Date().toISOString();
    if (s === 'in-sync') this.aloneSince = null;
    const level = s === 'serving-alone' ? 'warn' : 'info';
    this.o.log[level]({ from, to: s, failures: this.failures, cdrBacklog: this.backlog }, s === 'serving-alone' ? 'CLOUD LOST: the branch serves the site alone' : `branch state ${s}`);
    this.emit();
  }

  private async keepalive(): Promise<void> {
    this.backlog = await this.countBacklog().catch(() => this.backlog);
    let ok = false;
    try {
      const r = await this.request('POST', '/v1/branch/status', { body: this.report(), timeoutMs: this.o.keepaliveMs });
      ok = r.status === 200;
      if (r.status === 401) this.o.log.error('the cloud refused the site credential (revoked?): serving the stored snapshot alone');
    } catch {
      ok = false;
    }
    if (!ok) {
      this.failures += 1;
      if (this.failures >= this.o.lossThreshold) this.setState('serving-alone');
      return;
    }
    this.failures = 0;
    if (this.state === 'serving-alone') this.setState('handing-back');
    if (this.backlog > 0) await this.forwardCdrs().catch((err: unknown) => this.o.log.warn({ err: String(err) }, 'CDR forwarding interrupted; retried at the next keep-alive'));
    if (this.state === 'handing-back' && this.backlog === 0) {
      this.setState('in-sync');
      // Tell the cloud at once: the service period closes with this report.
      await this.request('POST', '/v1/branch/status', { body: this.report(), timeoutMs: this.o.keepaliveMs }).catch(() => undefined);
    }
  }

  // ---- CDRs --------------------------------------------------------------------------------

  private streams(): string[] {
    return Array.from({ length: this.o.cdrShards }, (_, i) => this.o.keys.global.cdrStream(i));
  }

  private async countBacklog(): Promise<number> {
    let n = 0;
    for (const s of this.streams()) n += await this.o.redis.xlen(s);
    return n;
  }

  /** Posts the stored CDRs to the cloud, oldest first; deletes each batch once the cloud acknowledged it. */
  async forwardCdrs(): Promise<number> {
    let sent = 0;
    for (const stream of this.streams()) {
      while (!this.stopped) {
        const rows = await this.o.redis.xrange(stream, '-', '+', 'COUNT', this.o.cdrBatch);
        if (rows.length === 0) break;
        const cdrs = rows.map(([, f]) => JSON.parse(f[f.indexOf('cdr') + 1] ?? 'null') as unknown).filter((c) => c !== null);
        const r = await this.request('POST', '/v1/branch/cdrs', { body: { cdrs }, timeoutMs: Math.max(5000, this.o.keepaliveMs * 2) });
        if (r.status !== 200) throw new Error(`cloud answered ${r.status} to the CDR batch`);
        await this.o.redis.xdel(stream, ...rows.map(([id]) => id));
        sent += rows.length;
        this.backlog = Math.max(0, this.backlog - rows.length);
      }
    }
    if (sent > 0) this.o.log.info({ sent }, 'CDRs forwarded to the cloud');
    this.backlog = await this.countBacklog();
    return sent;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.abort.signal.addEventListener('abort', () => {
        clearTimeout(t);
        r();
      }, { once: true });
    });
  }
}
