import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HuntStateStore, createRedis, keySchema, type KeySchema, type RedisClient } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';

let redis: RedisClient;
let keys: KeySchema;

beforeAll(() => {
  redis = createRedis(inject('redisUrl'));
  keys = keySchema(uniquePrefix('hunt'));
});
afterAll(() => redis.disconnect());

describe('HuntStateStore: who is in a call, idle since when, the round-robin cursor', () => {
  it('counts calls per extension, stamps the idle time when the last one ends, keeps each group’s last answerer', async () => {
    const hunt = new HuntStateStore(redis, keys);
    expect(await hunt.read('t', [], [])).toEqual({ busy: new Set(), idleSince: new Map(), lastAnswered: new Map() });
    await hunt.callStarted('t', ['1001', '1002']);
    await hunt.callStarted('t', ['1002']);
    expect(await redis.pttl(keys.tenant.inCall('t'))).toBeGreaterThan(0);
    await hunt.groupAnswered('t', '200', '1002');
    expect(await hunt.read('t', ['1001', '1002', '1003'], ['200', '300'])).toEqual({
      busy: new Set(['1001', '1002']),
      idleSince: new Map(),
      lastAnswered: new Map([['200', '1002']]),
    });
    await hunt.callEnded('t', ['1001', '1002'], 5_000);
    expect(await hunt.read('t', ['1001', '1002'], [])).toEqual({ busy: new Set(['1002']), idleSince: new Map([['1001', 5_000], ['1002', 5_000]]), lastAnswered: new Map() });
    await hunt.callEnded('t', ['1002'], 6_000);
    expect(await hunt.read('t', [], ['200'])).toEqual({ busy: new Set(), idleSince: new Map(), lastAnswered: new Map([['200', '1002']]) });
    expect((await hunt.read('t', ['1002'], [])).idleSince.get('1002')).toBe(6_000);
  });
});
