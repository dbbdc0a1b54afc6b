import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCdr } from '@kumo/domain';
import { CdrStreams, LocationStore, createRedis, keySchema, type RedisClient } from '@kumo/store';
import { startSentinelSet, uniquePrefix, type SentinelSet } from '@kumo/testkit';

/**
 * A real Sentinel set (1 master, 1 replica, 3 sentinels): the master is SIGKILLed while CDRs are
 * being published with KUMO_CDR_MIN_REPLICAS=1. Every publish that was acknowledged must be on the
 * promoted replica, and registrations made before the failover must survive it (docs/scaling.md).
 */
let set: SentinelSet;
let redis: RedisClient;

beforeAll(async () => {
  set = await startSentinelSet({ settings: { appendonly: 'yes', appendfsync: 'always' } });
  redis = createRedis(set.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined); // the old master's refusals while Sentinel fails over: expected here
});
afterAll(async () => {
  redis.disconnect();
  await set.stop();
});

const cdrOf = (i: number) =>
  buildCdr({
    tenantId: `t${i % 5}`,
    aLegCallId: `failover-${i}`,
    aLegFromTag: 'f',
    direction: 'outbound',
    caller: { dialled: '1001', extension: '1001' },
    callee: { dialled: '0312345678', e164: '+81312345678' },
    trunkId: 'trunk-1',
    startedAt: 1_700_000_000_000 + i * 1000,
    answeredAt: 1_700_000_000_500 + i * 1000,
    endedAt: 1_700_000_030_000 + i * 1000,
    finalStatus: 200,
  });

describe('Redis Sentinel failover (real redis-server and redis-sentinel)', () => {
  it('loses no acknowledged CDR and no registration made before the failover', async () => {
    const keys = keySchema(uniquePrefix('sentinel'));
    const streams = new CdrStreams(redis, keys, 2, { minReplicas: 1, timeoutMs: 500 });
    const location = new LocationStore(redis, keys);

    // Registrations older than the replication lag.
    for (let e = 0; e < 20; e++) {
      const r = await location.register({
        tenantId: 'acme', extension: String(2000 + e), callId: `reg-${e}`, cseq: 1, maxContacts: 3, policy: 'replace-oldest', mode: 'update',
        updates: [{ id: `b${e}`, expires: 3600, contact: `sip:${2000 + e}@192.0.2.1:5060`, source: { address: '192.0.2.1', port: 5060, transport: 'udp' }, userAgent: 'T/1' }],
      });
      expect(r.kind).toBe('ok');
    }

    const acknowledged = new Set<string>();
    let failures = 0;
    let outageStart = 0;
    let outageMs = 0;
    const total = 300;
    let failedOver: Promise<number> | undefined;
    for (let i = 0; i < total; i++) {
      if (i === 100) failedOver = set.failover('kill');
      const cdr = cdrOf(i);
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          await streams.publishCdr(cdr);
          acknowledged.add(cdr.cdrId);
          if (outageStart) {
            outageMs = Math.max(outageMs, Date.now() - outageStart);
            outageStart = 0;
          }
          break;
        } catch {
          failures++;
          outageStart ||= Date.now();
          if (Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
    const newMaster = await failedOver;
    streams.close();

    // Read back from the promoted master only.
    const direct = createRedis(`redis://127.0.0.1:${newMaster}`);
    try {
      const found = new Set<string>();
      for (let s = 0; s < streams.shards; s++) {
        const rows = (await direct.xrange(keys.global.cdrStream(s), '-', '+')) as [string, string[]][];
        for (const [, fields] of rows) found.add((JSON.parse(fields[1] as string) as { cdrId: string }).cdrId);
      }
      const lost = [...acknowledged].filter((id) => !found.has(id));
      console.log(`sentinel failover: ${acknowledged.size}/${total} publishes acknowledged, ${failures} failed attempts, longest outage ${outageMs} ms, lost ${lost.length}, unreplicated ${streams.unreplicatedPublishes}`);
      expect(acknowledged.size).toBe(total);
      expect(lost).toEqual([]);

      const promoted = new LocationStore(direct, keys);
      for (let e = 0; e < 20; e++) expect((await promoted.contactsFor('acme', String(2000 + e))).map((b) => b.id)).toEqual([`b${e}`]);
    } finally {
      direct.disconnect();
    }
  }, 90_000);
});
