import type { ServerResponse } from 'node:http';
import { SessionStore, type KeySchema, type RedisClient } from '@kumo/store';
import { SESSION_COOKIE } from './auth.js';
import { KumoError, type Logger } from '@kumo/runtime';
import { defineRoutes, tenantOf } from '../context.js';
import { tenantParams } from '../schemas.js';

/** What the console shows live for one tenant. */
export interface LiveUsage {
  readonly activeCalls: number;
  readonly trunkCalls: number;
  readonly extensions: number;
  readonly ports: number;
  readonly registeredExtensions: number;
  readonly status: string;
  readonly restrictionLevel: number;
}

interface TenantState {
  /** extension → registered devices */
  readonly reg: Map<string, number>;
  /** extensions in an answered call now */
  readonly inCall: Set<string>;
  readonly usage: LiveUsage;
}

/** How often a watched tenant's state is read from Redis (ms). A phone turns green within this. */
export const LIVE_POLL_MS = 1000;
/** How often a session-authenticated stream checks that its session still exists (ms): log-out ends it. */
export const LIVE_SESSION_CHECK_MS = 3000;

/**
 * Server-sent events for the console: one poller per watched tenant (shared by all its
 * browsers), reading the registrar's index, the admission leases and the hunt state, and
 * sending only what changed: `snapshot` first, then `reg` ({up, down}), `calls` and `usage`.
 */
export class LiveHub {
  private readonly watchers = new Map<string, { clients: Set<ServerResponse>; state: TenantState | null; timer: NodeJS.Timeout; busy: boolean }>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly log: Logger,
    private readonly pollMs = LIVE_POLL_MS,
  ) {}

  async read(tenantId: string): Promise<TenantState> {
    const k = this.keys.tenant;
    const now = Date.now();
    const [idx, calls, trunkCalls, inCall, exts, rec] = await Promise.all([
      this.redis.zrangebyscore(k.regIndex(tenantId), `(${now}`, '+inf'),
      this.redis.zcount(k.admissionCalls(tenantId), `(${now}`, '+inf'),
      this.redis.zcount(k.admissionTrunkCalls(tenantId), `(${now}`, '+inf'),
      this.redis.hgetall(k.inCall(tenantId)),
      this.redis.zcard(k.extensions(tenantId)),
      this.redis.hmget(k.record(tenantId), 'ports', 'status', 'restrictionLevel'),
    ]);
    const reg = new Map<string, number>();
    for (const m of idx) {
      const ext = m.slice(0, m.indexOf(' '));
      reg.set(ext, (reg.get(ext) ?? 0) + 1);
    }
    const busy = new Set(Object.entries(inCall).filter(([, n]) => Number(n) > 0).map(([e]) => e));
    return {
      reg,
      inCall: busy,
      usage: {
        activeCalls: calls,
        trunkCalls,
        extensions: exts,
        ports: Number(rec[0] ?? 0),
        registeredExtensions: reg.size,
        status: rec[1] ?? 'unknown',
        restrictionLevel: Number(rec[2] ?? 0),
      },
    };
  }

  private send(res: ServerResponse, event: string, data: unknown): void {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private async tick(tenantId: string): Promise<void> {
    const w = this.watchers.get(tenantId);
    if (w === undefined || w.busy) return;
    w.busy = true;
    try {
      const next = await this.read(tenantId);
      const prev = w.state;
      w.state = next;
      if (prev === null) return;
      const up: Record<string, number> = {};
      const down: string[] = [];
      for (const [e, n] of next.reg) if (prev.reg.get(e) !== n) up[e] = n;
      for (const e of prev.reg.keys()) if (!next.reg.has(e)) down.push(e);
      const callsChanged = next.inCall.size !== prev.inCall.size || [...next.inCall].some((e) => !prev.inCall.has(e));
      const usageChanged = JSON.stringify(next.usage) !== JSON.stringify(prev.usage);
      for (const c of w.clients) {
        if (Object.keys(up).length > 0 || down.length > 0) this.send(c, 'reg', { up, down });
        if (callsChanged) this.send(c, 'calls', { inCall: [...next.inCall] });
        if (usageChanged) this.send(c, 'usage', next.usage);
      }
    } catch (err) {
      this.log.warn({ err, tenantId }, 'live poll failed');
    } finally {
      w.busy = false;
    }
  }

  /** Streams one tenant's live state to a response until the client goes away. */
  async attach(tenantId: string, res: ServerResponse): Promise<void> {
    let w = this.watchers.get(tenantId);
    if (w === undefined) {
      const timer = setInterval(() => void this.tick(tenantId), this.pollMs);
      timer.unref();
      w = { clients: new Set(), state: null, timer, busy: false };
      this.watchers.set(tenantId, w);
    }
    const state = await this.read(tenantId);
    w.state ??= state;
    w.clients.add(res);
    // Keep-alive comment so proxies do not cut an idle stream.
    const ping = setInterval(() => res.write(': ping\n\n'), 25_000);
    ping.unref();
    res.on('close', () => {
      clearInterval(ping);
      const cur = this.watchers.get(tenantId);
      cur?.clients.delete(res);
      if (cur !== undefined && cur.clients.size === 0) {
        clearInterval(cur.timer);
        this.watchers.delete(tenantId);
      }
    });
    this.send(res, 'snapshot', { registered: Object.fromEntries(state.reg), inCall: [...state.inCall], usage: state.usage });
  }

  /** Ends every stream (server shutdown). */
  close(): void {
    for (const w of this.watchers.values()) {
      clearInterval(w.timer);
      for (const c of w.clients) c.end();
    }
    this.watchers.clear();
  }
}

/** `GET /v1/tenants/:tenantId/live`: the console's live feed (text/event-stream). */
export const liveRoutes = defineRoutes((app, { redis, keys, log }) => {
  const hub = new LiveHub(redis, keys, log);
  const sessions = new SessionStore(redis, keys);
  app.addHook('preClose', (done) => {
    hub.close();
    done();
  });
  app.get(
    '/live',
    { schema: { tags: ['tenant'], summary: 'Live registrations, calls and port usage (server-sent events: snapshot, reg, calls, usage)', params: tenantParams } },
    async (req, reply) => {
      const t = tenantOf(req);
      // A stream never ends: only for clients that ask for one (EventSource sends this Accept).
      if (!String(req.headers.accept ?? '').includes('text/event-stream')) {
        throw new KumoError('KUMO_ERR_BAD_REQUEST', 'this is a server-sent-event stream: send Accept: text/event-stream');
      }
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // A stream opened with a session cookie ends when the session does (log-out, log-out everywhere, expiry).
      const sid = req.consoleUser !== null ? new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([^;]+)`).exec(req.headers.cookie ?? '')?.[1] : undefined;
      if (sid !== undefined) {
        const check = setInterval(() => {
          sessions.alive(sid).then(
            (ok) => ok || reply.raw.end(),
            () => undefined,
          );
        }, LIVE_SESSION_CHECK_MS);
        check.unref();
        reply.raw.on('close', () => clearInterval(check));
      }
      try {
        await hub.attach(t.id, reply.raw);
      } catch (err) {
        // Redis unavailable at the start: end the stream; EventSource reconnects by itself.
        req.log.warn({ err, tenantId: t.id }, 'live feed could not start');
        reply.raw.end();
      }
    },
  );
});
