import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

/** What the OPTIONS pings found out about one trunk gateway. */
export interface GatewayHealth {
  readonly state: 'up' | 'down';
  /** When the state last changed (epoch ms). */
  readonly since: number;
  /** Consecutive pings without an answer. */
  readonly failures: number;
  readonly lastPingAt: number;
  /** Status of the last answer (absent: no answer). */
  readonly lastStatus?: number;
}

/**
 * Trunk gateway health, shared by every sip worker (`kumo:gw:health`, by gateway identity): written
 * by the one worker holding the ping lock, read on the call path to skip gateways that are down.
 */
export class GatewayHealthStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {}

  /** Takes (or keeps) the pinger role for `ttlMs`; true when `owner` holds it. */
  async lead(owner: string, ttlMs: number): Promise<boolean> {
    const key = this.keys.global.gatewayPingLock();
    if ((await this.redis.set(key, owner, 'PX', ttlMs, 'NX')) === 'OK') return true;
    if ((await this.redis.get(key)) !== owner) return false;
    await this.redis.pexpire(key, ttlMs);
    return true;
  }

  async read(ids: readonly string[]): Promise<Map<string, GatewayHealth>> {
    const out = new Map<string, GatewayHealth>();
    if (ids.length === 0) return out;
    const raw = await this.redis.hmget(this.keys.global.gatewayHealth(), ...ids);
    ids.forEach((id, i) => {
      const v = raw[i];
      if (v) out.set(id, JSON.parse(v) as GatewayHealth);
    });
    return out;
  }

  /** The gateways among `ids` known to be down (never pinged = not down). */
  async down(ids: readonly string[]): Promise<Set<string>> {
    const h = await this.read(ids);
    return new Set([...h].filter(([, v]) => v.state === 'down').map(([id]) => id));
  }

  /**
   * Records one ping (`status` undefined: no answer, or an answer meaning "out of service"). A
   * gateway goes down after `downAfter` failures in a row and up at its first answer. Returns the
   * new state and whether it changed.
   */
  async record(id: string, answered: boolean, status: number | undefined, now: number, downAfter: number): Promise<{ health: GatewayHealth; changed: boolean }> {
    const prev = (await this.read([id])).get(id);
    const failures = answered ? 0 : (prev?.failures ?? 0) + 1;
    const state: GatewayHealth['state'] = answered ? 'up' : failures >= downAfter ? 'down' : (prev?.state ?? 'up');
    const changed = prev === undefined ? state === 'down' : prev.state !== state;
    const health: GatewayHealth = {
      state,
      since: changed || prev === undefined ? now : prev.since,
      failures,
      lastPingAt: now,
      ...(status !== undefined ? { lastStatus: status } : {}),
    };
    await this.redis.hset(this.keys.global.gatewayHealth(), id, JSON.stringify(health));
    return { health, changed };
  }

  /** Forgets gateways that are no longer configured. */
  async prune(keep: ReadonlySet<string>): Promise<void> {
    const all = await this.redis.hkeys(this.keys.global.gatewayHealth());
    const gone = all.filter((id) => !keep.has(id));
    if (gone.length > 0) await this.redis.hdel(this.keys.global.gatewayHealth(), ...gone);
  }
}
