import { describe, expect, inject, it } from 'vitest';
import { createRedis, keySchema } from '@kumo/store';
import { startRedis, uniquePrefix } from '@kumo/testkit';

describe('testkit redis', () => {
  it('the shared redis-server answers and prefixes isolate', async () => {
    const r = createRedis(inject('redisUrl'));
    const k = keySchema(uniquePrefix());
    await r.sadd(k.global.tenants(), 'a');
    expect(await r.smembers(k.global.tenants())).toEqual(['a']);
    expect(await r.smembers(keySchema(uniquePrefix()).global.tenants())).toEqual([]);
    r.disconnect();
  });

  it('a private redis-server survives SIGKILL with AOF always', async () => {
    const h = await startRedis({ settings: { appendonly: 'yes', appendfsync: 'always' } });
    try {
      const r = createRedis(h.url, { maxRetriesPerRequest: null });
      await r.set('x', '1');
      await h.restart();
      expect(await r.get('x')).toBe('1');
      r.disconnect();
    } finally {
      await h.stop();
    }
  });
});
