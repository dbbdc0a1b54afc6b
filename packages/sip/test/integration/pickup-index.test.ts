/**
 * The ringing index for pickup across workers (SharedPickupRegistry, docs/scaling.md): an entry is
 * written when a call starts ringing an extension and removed when it stops; the removal for an
 * answered call waits for the answer's writes (one Redis write for both), any other goes at once.
 * The registry and the checks share one Redis connection, so each check sees every command sent before it.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '@kumo/runtime';
import { createRedis, keySchema, type KeySchema, type RedisClient } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';
import { SharedPickupRegistry, type CallSession } from '@kumo/sip';

let redis: RedisClient;
let keys: KeySchema;

beforeAll(() => {
  redis = createRedis(inject('redisUrl'));
  keys = keySchema(uniquePrefix('pickidx'));
});
afterAll(() => redis.disconnect());

const relayed = { relay: { self: 'w1', on: () => undefined } } as unknown as ConstructorParameters<typeof SharedPickupRegistry>[2];
const session = (callId: string): CallSession => ({ invite: { callId, fromTag: 'ft' }, callerSdp: 'v=0\r\n' }) as unknown as CallSession;

describe('SharedPickupRegistry: the ringing index in Redis', () => {
  it('an answered call’s entry goes with the answer’s writes; a call that stops ringing otherwise leaves at once', async () => {
    const reg = new SharedPickupRegistry(redis, keys, relayed, silentLogger()).forTenant('t1');
    const entries = (ext: string): Promise<string[]> => redis.zrange(keys.tenant.ringingExt('t1', ext), 0, -1);
    const offer = (callId: string): Promise<string | null> => redis.get(keys.tenant.ringingOffer('t1', `${callId};ft`));

    // Both scripts loaded first (a fresh Redis answers the first EVALSHA of each with NOSCRIPT, then EVAL).
    const until = async (ok: () => Promise<boolean>): Promise<void> => {
      for (let i = 0; i < 1000 && !(await ok()); i++) await new Promise((r) => setTimeout(r, 10));
    };
    const warmOff = reg.ringing('1000', session('c-warm'));
    await until(async () => (await entries('1000')).length === 1);
    warmOff();
    await until(async () => (await entries('1000')).length === 0);
    const answeredOff = reg.ringing('1001', session('c-answered'));
    expect(await entries('1001')).toEqual(['w1 c-answered;ft']);
    let issued!: () => void;
    answeredOff(new Promise<void>((r) => (issued = r)));
    await new Promise((r) => setImmediate(r));
    await redis.ping();
    // Answered, the answer's writes not issued yet: the entry is still there (another worker's picker is told no).
    expect(await entries('1001')).toEqual(['w1 c-answered;ft']);
    issued();
    await new Promise((r) => setImmediate(r));
    expect(await entries('1001')).toEqual([]);
    expect(await offer('c-answered')).toBeNull();

    const cancelledOff = reg.ringing('1002', session('c-cancelled'));
    expect(await entries('1002')).toEqual(['w1 c-cancelled;ft']);
    cancelledOff();
    await new Promise((r) => setImmediate(r));
    expect(await entries('1002')).toEqual([]);
    expect(await offer('c-cancelled')).toBeNull();
  });
});
