import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';

/** Where Kumo's registration to a carrier (a registration-based trunk) stands. */
export interface TrunkRegistrationState {
  readonly state: 'registered' | 'failed' | 'unregistered';
  /** When the carrier's binding expires (registered), epoch ms. */
  readonly expiresAt?: number;
  /** When Kumo sends the next REGISTER (refresh before expiry, or retry after a backoff), epoch ms. */
  readonly nextAt: number;
  /** Failed attempts in a row (the backoff grows with it). */
  readonly failures: number;
  readonly lastStatus?: number;
  readonly lastAttemptAt?: number;
}

/** Registration state of registration-based trunks, shared by sip workers and read by the api. */
export class TrunkRegistrationStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
  ) {}

  static field(tenantId: string, trunkId: string): string {
    return `${tenantId}/${trunkId}`;
  }

  async lead(owner: string, ttlMs: number): Promise<boolean> {
    const key = this.keys.global.trunkRegLock();
    if ((await this.redis.set(key, owner, 'PX', ttlMs, 'NX')) === 'OK') return true;
    if ((await this.redis.get(key)) !== owner) return false;
    await this.redis.pexpire(key, ttlMs);
    return true;
  }

  async get(tenantId: string, trunkId: string): Promise<TrunkRegistrationState | undefined> {
    const v = await this.redis.hget(this.keys.global.trunkRegistrations(), TrunkRegistrationStore.field(tenantId, trunkId));
    return v ? (JSON.parse(v) as TrunkRegistrationState) : undefined;
  }

  async set(tenantId: string, trunkId: string, s: TrunkRegistrationState): Promise<void> {
    await this.redis.hset(this.keys.global.trunkRegistrations(), TrunkRegistrationStore.field(tenantId, trunkId), JSON.stringify(s));
  }

  async all(): Promise<Map<string, TrunkRegistrationState>> {
    const h = await this.redis.hgetall(this.keys.global.trunkRegistrations());
    return new Map(Object.entries(h).map(([k, v]) => [k, JSON.parse(v) as TrunkRegistrationState]));
  }

  /** Forgets trunks that no longer register. */
  async prune(keep: ReadonlySet<string>): Promise<void> {
    const gone = (await this.redis.hkeys(this.keys.global.trunkRegistrations())).filter((f) => !keep.has(f));
    if (gone.length > 0) await this.redis.hdel(this.keys.global.trunkRegistrations(), ...gone);
  }
}
