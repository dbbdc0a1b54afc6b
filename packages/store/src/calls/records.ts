/**
 * Call records (docs/reliability.md): every admitted call has one in Redis while it is in
 * progress — tenant, the CDR facts known so far, its dialogs (legs), its admission ticket and
 * the sip process that owns it. The owner heart-beats; a process that stops heart-beating
 * leaves its records behind, and a recovery sweeper in any surviving sip process ends those
 * calls (BYE to the legs, leases released, a CDR with end cause `system-failure`).
 *
 * Keys: the record is a tenant key (`{t:<id>}` slot); the owner index and the heartbeat set are
 * global keys. Writes touching both are separate commands, never one script or pipeline (Cluster
 * slots): the index entry is written first, and one without its record is dropped by the sweeper.
 */
import type { Cdr, CallFacts } from '@kumo/domain';
import { KumoError } from '@kumo/runtime';
import type { RedisClient } from '../client.js';
import type { CdrStreams } from '../billing/stream.js';
import { LuaScript } from '../script.js';
import type { KeySchema } from '../keys.js';
import type { AdmissionTicket } from '../admission/store.js';
import { defineScripts, runScript } from '../admission/scripts.js';

/** One dialog of a call, as needed to end it with a BYE from any process (an out-of-dialog request). */
export interface LegRecord {
  readonly side: 'caller' | 'callee';
  readonly callId: string;
  /** Kumo's side (From of a BYE we send), with Kumo's tag. */
  readonly local: string;
  /** The far end (To of a BYE we send), with its tag. */
  readonly remote: string;
  /** The far end's Contact URI (Request-URI of a BYE). */
  readonly target: string;
  /** Where requests go when not to the target itself (`sip:host:port;transport=x`). */
  readonly proxy?: string;
}

export interface CallRecord {
  readonly tenantId: string;
  readonly callKey: string;
  readonly owner: string;
  readonly startedAt: number;
  readonly answeredAt?: number;
  /** The CDR facts known when the record was last written (endedAt is filled in at recovery). */
  readonly facts: CallFacts;
  readonly legs: readonly LegRecord[];
  readonly ticket?: AdmissionTicket;
  /** Extensions this call counts as busy in the hunt state (a recovery gives them back: counters do not drift). */
  readonly busy?: readonly string[];
}

export interface OwnerBeat {
  readonly owner: string;
  /** Last heartbeat, epoch ms (Redis clock). */
  readonly lastSeen: number;
}

const CLOCK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** KEYS: 1 owners zset. ARGV: 1 owner. Returns now (ms, Redis clock). */
const HEARTBEAT = `${CLOCK}
redis.call('ZADD', KEYS[1], now, ARGV[1])
return now
`;

/** KEYS: 1 owners zset. ARGV: 1 dead after ms. Returns {now, owner, score, owner, score, …} of owners silent for longer. */
const DEAD_OWNERS = `${CLOCK}
local out = {now}
local r = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'WITHSCORES', 'LIMIT', 0, 100)
for i = 1, #r do out[#out + 1] = r[i] end
return out
`;

/**
 * KEYS: CDR stream, call record, owner index. ARGV: CDR payload, index member. The CDR first: a failed XADD
 * ends the script before the record is touched (the record stays, and a recovery republishes the CDR).
 */
const PUBLISH_AND_CLEAR_LUA = `
local id = redis.call('XADD', KEYS[1], '*', 'cdr', ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
return id
`;
const publishAndClearScript = new LuaScript(PUBLISH_AND_CLEAR_LUA);

const SEP = ' ';

export class CallRecordStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    /** This process's id (unique per process start). */
    readonly owner: string,
  ) {
    defineScripts(redis, { kumoCallHeartbeat: HEARTBEAT, kumoCallDeadOwners: DEAD_OWNERS });
  }

  /** Records that this process is alive; resolves with the Redis clock (ms). */
  async heartbeat(): Promise<number> {
    return Number(await runScript(this.redis, 'kumoCallHeartbeat', HEARTBEAT, [this.keys.global.callOwners()], [this.owner]));
  }

  /** Writes the record of a newly admitted call (before it is connected). */
  async put(r: Omit<CallRecord, 'owner' | 'legs' | 'answeredAt'>): Promise<void> {
    // Index first: an index entry without its record is dropped by the sweeper, a record without its index would be lost.
    const index = (): Promise<unknown> => this.redis.sadd(this.keys.global.callOwnerCalls(this.owner), `${r.tenantId}${SEP}${r.callKey}`);
    const record = (): Promise<unknown> =>
      this.redis.hset(this.keys.tenant.callRecord(r.tenantId, r.callKey), {
        owner: this.owner,
        startedAt: String(r.startedAt),
        facts: JSON.stringify(r.facts),
        ...(r.ticket ? { ticket: JSON.stringify(r.ticket) } : {}),
      });
    await this.inOrder(index, record);
  }

  /**
   * Runs two writes in this order. On one connection (standalone, Sentinel) Redis executes commands in
   * the order they were sent, so both go out at once (one round trip); on a Cluster they may reach
   * different nodes, so the second waits for the first.
   */
  private async inOrder(first: () => Promise<unknown>, second: () => Promise<unknown>): Promise<void> {
    if (this.redis.isCluster) {
      await first();
      await second();
      return;
    }
    const a = first();
    const b = second();
    await Promise.all([a, b]);
  }

  /**
   * The call was answered: its legs, answer time, facts and (trunk) ticket as they are now, and the
   * extensions it counts as busy (hunt state), which a process recovering it counts idle again. One write.
   */
  async answered(
    tenantId: string,
    callKey: string,
    a: { answeredAt: number; facts: CallFacts; legs: readonly LegRecord[]; ticket?: AdmissionTicket; busy?: readonly string[] },
  ): Promise<void> {
    await this.redis.hset(this.keys.tenant.callRecord(tenantId, callKey), {
      answeredAt: String(a.answeredAt),
      facts: JSON.stringify(a.facts),
      legs: JSON.stringify(a.legs),
      ...(a.ticket ? { ticket: JSON.stringify(a.ticket) } : {}),
      ...(a.busy !== undefined && a.busy.length > 0 ? { busy: JSON.stringify(a.busy) } : {}),
    });
  }

  /** Sets the extensions the call counts as busy (a recovery empties it once it gave them back). */
  async busy(tenantId: string, callKey: string, extensions: readonly string[]): Promise<void> {
    await this.redis.hset(this.keys.tenant.callRecord(tenantId, callKey), { busy: JSON.stringify(extensions) });
  }

  /** The call's CDR is published: the record goes (idempotent). */
  async clear(tenantId: string, callKey: string, owner = this.owner): Promise<void> {
    await this.inOrder(
      () => this.redis.del(this.keys.tenant.callRecord(tenantId, callKey)),
      () => this.redis.srem(this.keys.global.callOwnerCalls(owner), `${tenantId}${SEP}${callKey}`),
    );
  }

  /**
   * Whether `publishAndClear` can publish through `streams` here: one Redis (a Cluster spreads the stream, the
   * record and the index over slots) and publishes that do not wait for replicas.
   */
  clearsWithCdr(streams: CdrStreams): boolean {
    return !this.redis.isCluster && streams.replication.minReplicas <= 0;
  }

  /**
   * Publishes the call's CDR and clears its record (the `clear` after a publish) in one script: one Redis
   * write instead of two. Only where `clearsWithCdr` says so. Resolves with the stream entry id.
   */
  async publishAndClear(streams: CdrStreams, cdr: Cdr, tenantId: string, callKey: string): Promise<string> {
    const entry = this.clearsWithCdr(streams) ? streams.entryOf(cdr) : undefined;
    if (entry === undefined) throw new KumoError('KUMO_ERR_CDR_PUBLISH', 'the CDR and the call record cannot be written by one script here');
    const id = await publishAndClearScript.run(
      this.redis,
      [entry.key, this.keys.tenant.callRecord(tenantId, callKey), this.keys.global.callOwnerCalls(this.owner)],
      [entry.payload, `${tenantId}${SEP}${callKey}`],
    );
    if (typeof id !== 'string') throw new KumoError('KUMO_ERR_CDR_PUBLISH', 'XADD returned no id');
    return id;
  }

  async read(tenantId: string, callKey: string): Promise<CallRecord | undefined> {
    const h = await this.redis.hgetall(this.keys.tenant.callRecord(tenantId, callKey));
    if (h.owner === undefined || h.facts === undefined) return undefined;
    return {
      tenantId,
      callKey,
      owner: h.owner,
      startedAt: Number(h.startedAt),
      ...(h.answeredAt !== undefined ? { answeredAt: Number(h.answeredAt) } : {}),
      facts: JSON.parse(h.facts) as CallFacts,
      legs: h.legs !== undefined ? (JSON.parse(h.legs) as LegRecord[]) : [],
      ...(h.ticket !== undefined ? { ticket: JSON.parse(h.ticket) as AdmissionTicket } : {}),
      ...(h.busy !== undefined ? { busy: JSON.parse(h.busy) as string[] } : {}),
    };
  }

  /** Owners whose last heartbeat is older than `deadAfterMs` (Redis clock), and the Redis clock now. */
  async deadOwners(deadAfterMs: number): Promise<{ now: number; dead: OwnerBeat[] }> {
    const r = (await runScript(this.redis, 'kumoCallDeadOwners', DEAD_OWNERS, [this.keys.global.callOwners()], [deadAfterMs])) as (string | number)[];
    const dead: OwnerBeat[] = [];
    for (let i = 1; i + 1 < r.length; i += 2) {
      const owner = String(r[i]);
      if (owner !== this.owner) dead.push({ owner, lastSeen: Number(r[i + 1]) });
    }
    return { now: Number(r[0]), dead };
  }

  /** Takes the right to recover a dead owner's calls for `ttlMs` (false: another process has it). */
  async claim(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.global.callOwnerClaim(owner), this.owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Every owner in the heartbeat set, alive or not (the toll meter reads all calls in progress). */
  async owners(): Promise<string[]> {
    return this.redis.zrange(this.keys.global.callOwners(), 0, -1);
  }

  /** The calls an owner still has records of. */
  async callsOf(owner: string): Promise<{ tenantId: string; callKey: string }[]> {
    const members = await this.redis.smembers(this.keys.global.callOwnerCalls(owner));
    return members.flatMap((m) => {
      const i = m.indexOf(SEP);
      return i > 0 ? [{ tenantId: m.slice(0, i), callKey: m.slice(i + 1) }] : [];
    });
  }

  /** A dead owner is fully recovered: it leaves the heartbeat set (or this process stops cleanly). */
  async retire(owner = this.owner): Promise<void> {
    // One key per command: the three keys may live in different Cluster slots.
    await this.redis.zrem(this.keys.global.callOwners(), owner);
    await this.redis.del(this.keys.global.callOwnerCalls(owner));
    await this.redis.del(this.keys.global.callOwnerClaim(owner));
  }
}
