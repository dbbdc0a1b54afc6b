/**
 * The traffic report over a tenant's month, read from billing's per-call detail
 * (`bill:calls:<month>`, one JSON value per call; docs/operations.md, "Traffic report").
 */
import {
  TrafficAccumulator,
  jstMonthEndMs,
  jstMonthStartMs,
  nextMonth,
  trafficCallOf,
  type Month,
  type TrafficCall,
  type TrafficCapacity,
  type TrafficReport,
} from '@kumo/domain';
import type { RedisClient } from '../client.js';
import type { KeySchema } from '../keys.js';
import type { DirectoryRepo } from '../provisioning/directory.js';

interface StoredTraffic {
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly billableSeconds: number;
  readonly rejectionReason?: string;
  readonly trunkId: string | null;
  readonly group?: string;
}

/** HSCAN page size: large pages keep round trips few on a million-call month. */
const PAGE = 5000;

async function scan(redis: RedisClient, key: string, each: (value: string) => void): Promise<void> {
  let cursor = '0';
  do {
    const [next, flat] = await redis.hscan(key, cursor, 'COUNT', PAGE);
    cursor = next;
    for (let i = 1; i < flat.length; i += 2) each(flat[i] as string);
  } while (cursor !== '0');
}

/**
 * Feeds every call of the month into an accumulator: the month's own calls, plus late calls of this month
 * that billing booked into the next month as adjustments (a closed month takes no new calls).
 */
export async function accumulateMonthTraffic(redis: RedisClient, keys: KeySchema, tenantId: string, month: Month, acc: { add(c: TrafficCall): void }): Promise<void> {
  const from = jstMonthStartMs(month);
  const to = jstMonthEndMs(month);
  const add = (v: string): void => {
    const s = JSON.parse(v) as StoredTraffic;
    acc.add(trafficCallOf(s));
  };
  await scan(redis, keys.tenant.billCalls(tenantId, month), add);
  await scan(redis, keys.tenant.billCalls(tenantId, nextMonth(month)), (v) => {
    if (!v.startsWith('{"section":"adj"')) return;
    const s = JSON.parse(v) as StoredTraffic;
    if (s.startedAt >= from && s.startedAt < to) acc.add(trafficCallOf(s));
  });
}

/** The capacity each series is measured against: contract ports, trunk channel limits, ring-group members. */
export async function trafficCapacity(repo: DirectoryRepo, tenantId: string): Promise<TrafficCapacity> {
  const tenant = await repo.tenantById(tenantId);
  const trunks: Record<string, number> = {};
  for (const t of await repo.trunks(tenantId)) trunks[t.id] = t.channelLimit;
  const groups: Record<string, number> = {};
  let after: string | undefined;
  for (;;) {
    const p = await repo.listRingGroups(tenantId, { limit: 1000, ...(after !== undefined ? { after } : {}) });
    for (const g of p.items) groups[g.number] = g.members.length;
    if (p.next === null) break;
    after = p.next;
  }
  return { ports: tenant?.ports ?? null, trunks, groups };
}

/** The traffic report of one tenant's JST month. */
export async function monthTrafficReport(
  redis: RedisClient,
  keys: KeySchema,
  repo: DirectoryRepo,
  tenantId: string,
  month: Month,
  target = 0.01,
): Promise<TrafficReport> {
  const acc = new TrafficAccumulator(jstMonthStartMs(month), jstMonthEndMs(month), tenantId);
  const [capacity] = await Promise.all([trafficCapacity(repo, tenantId), accumulateMonthTraffic(redis, keys, tenantId, month, acc)]);
  return acc.report(capacity, target);
}
