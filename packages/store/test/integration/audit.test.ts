/**
 * The audit trail (docs/security.md): time-based retention that churn cannot shorten, a hash
 * chain that detects changed, removed and truncated entries, operator actions on the platform
 * trail too.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { AuditRepo, createRedis, keySchema, type Actor } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';

const redis = createRedis(inject('redisUrl'));
afterAll(() => redis.disconnect());

const operator: Actor = { keyId: 'op1', role: 'operator' };
const admin: Actor = { keyId: 'adm1', role: 'tenant-admin' };
const TWO_YEARS = 730 * 86_400_000;

async function allEntries(stream: string): Promise<[string, string[]][]> {
  return redis.xrange(stream, '-', '+');
}

describe('audit trail', () => {
  it('100,000 writes of churn keep the oldest entries within retention; the chain verifies', async () => {
    const keys = keySchema(uniquePrefix('audit'));
    const audit = new AuditRepo(redis, keys);
    await audit.append('acme', { actor: operator, action: 'tenant.create', target: 'tenant:acme', after: { id: 'acme' } });
    await audit.append('acme', { actor: operator, action: 'apiKey.issue', target: 'apiKey:k1' });
    const churn = 100_000;
    const entry = (i: number) => ({ actor: admin, action: i % 2 === 0 ? 'extension.create' : 'extension.delete', target: `extension:${1000 + (i % 50)}` });
    // Create/delete churn: 2,000 one by one (the API's path), the rest in bulk appends of 1,000.
    await Promise.all(Array.from({ length: 2000 }, (_, i) => audit.append('acme', entry(i))));
    for (let i = 2000; i < churn; i += 1000) await audit.appendMany('acme', Array.from({ length: 1000 }, (_, j) => entry(i + j)));
    expect(await audit.size('acme')).toBe(churn + 2);
    // The retention job with the default period trims nothing: nothing is older than two years.
    expect(await audit.trimExpired('acme', TWO_YEARS)).toBe(0);
    const oldest = (await redis.xrange(keys.tenant.audit('acme'), '-', '+', 'COUNT', 2)).map(([, f]) => f[f.indexOf('action') + 1]);
    expect(oldest).toEqual(['tenant.create', 'apiKey.issue']);
    const v = await audit.verify('acme');
    expect(v).toEqual({ ok: true, entries: churn + 2, firstBad: null, reason: null });
    // Operator actions are on the platform trail as well (who, what, when, the tenant entry's hash).
    const platform = await audit.list(null, { limit: 10 });
    expect(platform.items.map((e) => e.target)).toEqual(['tenant:acme/apiKey:k1', 'tenant:acme/tenant:acme']);
    expect(platform.items[0]?.after).toBeNull();
    expect((await audit.verify(null)).ok).toBe(true);
  });

  it('trimming by time keeps the chain verifiable (anchor); tampering is detected', async () => {
    const keys = keySchema(uniquePrefix('audit'));
    const audit = new AuditRepo(redis, keys);
    for (let i = 0; i < 20; i++) await audit.append('t1', { actor: admin, action: 'extension.create', target: `extension:${i}`, after: { n: i } });
    await new Promise((r) => setTimeout(r, 5));
    const boundary = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 20; i < 40; i++) await audit.append('t1', { actor: admin, action: 'extension.create', target: `extension:${i}`, after: { n: i } });
    // "retention" ends at the boundary: the first 20 entries are trimmed, the chain still verifies.
    const later = new AuditRepo(redis, keys, () => new Date(boundary + 1000));
    expect(await later.trimExpired('t1', 1000)).toBe(20);
    expect(await audit.verify('t1')).toMatchObject({ ok: true, entries: 20 });

    const stream = keys.tenant.audit('t1');
    const entries = await allEntries(stream);
    const victim = entries[5];
    if (victim === undefined) throw new Error('no entry');

    // 1. A changed entry (re-written with the same id, different content).
    const rewrite = async (change: (id: string, f: string[]) => string[] | null) => {
      await redis.del(stream);
      for (const [id, f] of entries) {
        const nf = change(id, [...f]);
        if (nf !== null) await redis.xadd(stream, id, ...nf);
      }
    };
    await rewrite((id, f) => {
      if (id === victim[0]) f[f.indexOf('after') + 1] = JSON.stringify({ n: 999 });
      return f;
    });
    expect(await audit.verify('t1')).toMatchObject({ ok: false, firstBad: victim[0] });

    // 2. A removed entry in the middle: the next one's link breaks.
    await rewrite((id, f) => (id === victim[0] ? null : f));
    expect(await audit.verify('t1')).toMatchObject({ ok: false, firstBad: entries[6]?.[0] });

    // 3. The oldest kept entry removed (not by the retention job): the anchor does not match.
    await rewrite((id, f) => (id === entries[0]?.[0] ? null : f));
    expect(await audit.verify('t1')).toMatchObject({ ok: false, firstBad: entries[1]?.[0] });

    // 4. The newest entries removed: the head does not match.
    await rewrite((id, f) => (id === entries[entries.length - 1]?.[0] ? null : f));
    expect(await audit.verify('t1')).toMatchObject({ ok: false, firstBad: 'head' });

    // Intact again: verifies.
    await rewrite((_id, f) => f);
    expect((await audit.verify('t1')).ok).toBe(true);
  });

  it('appends from several processes (clients) interleave without breaking the chain', async () => {
    const keys = keySchema(uniquePrefix('audit'));
    const a = new AuditRepo(redis, keys);
    const other = createRedis(inject('redisUrl'));
    try {
      const b = new AuditRepo(other, keys);
      await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).append('t2', { actor: admin, action: 'x', target: `n:${i}` })),
      );
      expect(await a.verify('t2')).toEqual({ ok: true, entries: 200, firstBad: null, reason: null });
    } finally {
      other.disconnect();
    }
  });
});
