/**
 * A call's CDR and the clear of its call record in one script (`CallRecordStore.publishAndClear`): both
 * or, when the XADD fails, neither — the record stays for a recovery to republish the CDR.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildCdr, type CallFacts } from '@kumo/domain';
import { CallRecordStore, CdrStreams, createRedis, keySchema, type KeySchema, type RedisClient } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';

let redis: RedisClient;
let keys: KeySchema;

beforeAll(() => {
  redis = createRedis(inject('redisUrl'));
  keys = keySchema(uniquePrefix('crec'));
});
afterAll(() => redis.disconnect());

const facts = (callId: string): CallFacts => ({
  tenantId: 't1',
  aLegCallId: callId,
  aLegFromTag: 'ft',
  direction: 'internal',
  caller: { dialled: '1001', extension: '1001' },
  callee: { dialled: '1002', extension: '1002' },
  startedAt: 1_000,
  answeredAt: 2_000,
  endedAt: 3_000,
  finalStatus: 200,
  codecs: ['PCMU'],
  privacy: false,
});

describe('CallRecordStore.publishAndClear', () => {
  it('publishes the CDR and clears the record and its index entry in one script; a failed XADD leaves both', async () => {
    const records = new CallRecordStore(redis, keys, 'owner-1');
    const streams = new CdrStreams(redis, keys, 1);
    expect(records.clearsWithCdr(streams)).toBe(true);
    expect(records.clearsWithCdr(new CdrStreams(redis, keys, 1, { minReplicas: 1, timeoutMs: 100 }))).toBe(false);

    await records.put({ tenantId: 't1', callKey: 'c1;ft', startedAt: 1_000, facts: facts('c1') });
    const cdr = buildCdr(facts('c1'));
    const id = await records.publishAndClear(streams, cdr, 't1', 'c1;ft');
    const entries = await redis.xrange(streams.streamKey(0), '-', '+');
    expect(entries.map(([i, kv]) => [i, (JSON.parse(kv[1] as string) as { cdrId: string }).cdrId])).toEqual([[id, cdr.cdrId]]);
    expect(await records.read('t1', 'c1;ft')).toBeUndefined();
    expect(await records.callsOf('owner-1')).toEqual([]);

    // The stream key holds something else: the XADD fails, the record and its index entry stay.
    await records.put({ tenantId: 't1', callKey: 'c2;ft', startedAt: 1_000, facts: facts('c2') });
    const broken = new CdrStreams(redis, keySchema(`${uniquePrefix('crec')}`), 1);
    await redis.set(broken.streamKey(0), 'not a stream');
    await expect(records.publishAndClear(broken, buildCdr(facts('c2')), 't1', 'c2;ft')).rejects.toThrow(/WRONGTYPE/);
    expect((await records.read('t1', 'c2;ft'))?.facts.aLegCallId).toBe('c2');
    expect(await records.callsOf('owner-1')).toEqual([{ tenantId: 't1', callKey: 'c2;ft' }]);
  });
});
