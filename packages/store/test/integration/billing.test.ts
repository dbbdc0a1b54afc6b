import { afterAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_TARIFF, buildCdr, jstMonthOf, nextMonth, rateCdr, type CallFacts } from '@kumo/domain';
import { BillingLedger, CdrStreams, createRedis, keySchema } from '@kumo/store';
import { uniquePrefix } from '@kumo/testkit';

const redis = createRedis(inject('redisUrl'));
afterAll(() => redis.disconnect());

function setup(grace = 3600_000) {
  const keys = keySchema(uniquePrefix('bill'));
  return { keys, streams: new CdrStreams(redis, keys, 3), ledger: new BillingLedger(redis, keys, { closeGraceMs: grace, tariffCacheMs: 0 }) };
}

const now = Date.now();
function cdr(i: number, o: Partial<CallFacts> = {}) {
  return buildCdr({
    tenantId: 'acme',
    aLegCallId: `call-${i}`,
    aLegFromTag: 'f',
    direction: 'outbound',
    caller: { dialled: '1001', extension: `10${i % 3}`, department: i % 2 ? 'sales' : 'ops' },
    callee: { dialled: '09012345678', e164: '+819012345678' },
    trunkId: 'trunk-1',
    startedAt: now - 120_000,
    answeredAt: now - 115_000,
    endedAt: now - 115_000 + (i % 5) * 30_000 + 1,
    finalStatus: 200,
    ...o,
  });
}

describe('billing ledger (real Redis)', () => {
  it('publishes to the tenant shard, charges each CDR once, duplicates are no-ops', async () => {
    const { streams, ledger, keys } = setup();
    await streams.ensureGroup();
    const cdrs = Array.from({ length: 10 }, (_, i) => cdr(i));
    for (const c of cdrs) await streams.publishCdr(c);
    await streams.publishCdr(cdrs[0]!); // a retried publish
    const shard = streams.shardOf('acme');
    expect(await redis.xlen(keys.global.cdrStream(shard))).toBe(11);
    const entries = await streams.read(redis, { shard, consumer: 'c1', count: 100 });
    expect(entries).toHaveLength(11);
    const rated = entries.map((e) => rateCdr(JSON.parse(e.payload!), DEFAULT_TARIFF));
    const first = await ledger.chargeBatch('acme', rated);
    expect(first.filter((o) => o.outcome === 'charged')).toHaveLength(10);
    expect(first[10]).toMatchObject({ outcome: 'duplicate' });
    const again = await ledger.chargeBatch('acme', rated.slice(0, 5));
    expect(again.every((o) => o.outcome === 'duplicate')).toBe(true);
    const m = jstMonthOf(now - 120_000);
    const report = await ledger.getMonthlyReport('acme', m);
    const expected = rated.slice(0, 10).reduce((s, r) => s + r.charge, 0);
    expect(report.main.calls).toBe(10);
    expect(report.main.charge).toBe(expected);
    expect(report.main.byExtension.map((r) => r.key)).toEqual(['100', '101', '102']);
    expect(report.main.byDepartment.map((r) => r.key)).toEqual(['ops', 'sales']);
    expect(report.status).toBe('open');
    const page = await ledger.listCalls('acme', m, 0, 4);
    expect(page.total).toBe(10);
    expect(page.items).toHaveLength(4);
    expect(page.items[0]!.charge).toMatchObject({ tenantId: 'acme', month: m, cls: 'mobile' });
    expect(await streams.ack(shard, entries.map((e) => e.id))).toBe(11);
  });

  it('a closed month is frozen: a late CDR goes to the adjustments of the next month, once', async () => {
    const { ledger } = setup();
    const m = jstMonthOf(now - 120_000);
    const a = rateCdr(cdr(1), DEFAULT_TARIFF);
    const b = rateCdr(cdr(2), DEFAULT_TARIFF);
    await ledger.chargeBatch('acme', [a]);
    const closed = await ledger.closeMonth('acme', m);
    expect(closed).toMatchObject({ reconciled: true, calls: 1, mismatches: [] });
    const late = await ledger.chargeBatch('acme', [b, a]);
    expect(late).toEqual([
      { cdrId: b.cdrId, outcome: 'charged', month: nextMonth(m), section: 'adj' },
      { cdrId: a.cdrId, outcome: 'duplicate', month: m, section: null },
    ]);
    expect((await ledger.chargeBatch('acme', [b]))[0]).toMatchObject({ outcome: 'duplicate', month: nextMonth(m) });
    expect((await ledger.getMonthlyReport('acme', m)).main.calls).toBe(1);
    expect((await ledger.getMonthlyReport('acme', m)).status).toBe('closed');
    const next = await ledger.getMonthlyReport('acme', nextMonth(m));
    expect(next.adjustments).toMatchObject({ calls: 1, charge: b.charge });
    expect(next.main.calls).toBe(0);
  });

  it('months close by time (month end + grace) inside the charge script', async () => {
    const { ledger, keys } = setup(0);
    const old = rateCdr(cdr(3, { startedAt: now - 70 * 86400_000, answeredAt: now - 70 * 86400_000, endedAt: now - 70 * 86400_000 + 60_000 }), DEFAULT_TARIFF);
    const [o] = await ledger.chargeBatch('acme', [old]);
    expect(o!.section).toBe('adj');
    expect(o!.month).toBe(jstMonthOf(Date.now()));
    expect(await redis.hexists(keys.tenant.billClosed('acme'), old.month)).toBe(1);
  });

  it('the close sweep closes due months of every active tenant and reconciles them', async () => {
    const keys = keySchema(uniquePrefix('bill'));
    const open = new BillingLedger(redis, keys, { closeGraceMs: 365 * 86400_000 });
    const at = now - 70 * 86400_000;
    const old = [1, 2, 3].map((i) => rateCdr(cdr(i, { startedAt: at, answeredAt: at + 1000, endedAt: at + 200_000 }), DEFAULT_TARIFF));
    await open.noteActivity('acme', [old[0]!.month]);
    expect((await open.chargeBatch('acme', old)).every((o) => o.section === 'main')).toBe(true);
    expect(await open.closeDueMonths()).toEqual([]);
    const due = new BillingLedger(redis, keys, { closeGraceMs: 0 });
    expect(await due.closeDueMonths()).toEqual([{ tenantId: 'acme', month: old[0]!.month, calls: 3, mismatches: [] }]);
    expect(await due.closeDueMonths()).toEqual([]); // once
    expect(await due.closeMarker('acme', old[0]!.month)).toMatchObject({ reconciled: true, calls: 3, revision: 0 });
    // a tampered total is reported by the check
    await redis.hincrby(keys.tenant.billTotals('acme', old[0]!.month), 'main|all||c', 1);
    const again = await due.closeMonth('acme', old[0]!.month);
    expect(again.reconciled).toBe(false);
    expect(again.mismatches).toEqual([expect.stringContaining('main|all||c')]);
  });

  it('re-rating a month is explicit and audited; totals follow the new tariff', async () => {
    const { ledger } = setup();
    const calls = Array.from({ length: 7 }, (_, i) => rateCdr(cdr(i), DEFAULT_TARIFF));
    await ledger.chargeBatch('acme', calls);
    const m = calls[0]!.month;
    await ledger.setTenantOverride('acme', { classes: { mobile: { unitSeconds: 30, unitPrice: 500 } } }, 'op:alice');
    const r = await ledger.rerateMonth('acme', m, 'op:alice', 'mobile price correction');
    const t = await ledger.tariffFor('acme');
    const want = Array.from({ length: 7 }, (_, i) => rateCdr(cdr(i), t).charge).reduce((s, x) => s + x, 0);
    expect(r.after.main.charge).toBe(want);
    expect(r.changed).toBeGreaterThan(0);
    expect(r.skipped).toBe(0);
    const log = await ledger.auditLog('acme');
    expect(log[0]).toMatchObject({ action: 'rerate', actor: 'op:alice', month: m, reason: 'mobile price correction' });
    expect((await ledger.closeMonth('acme', m)).mismatches).toEqual([]);
    await expect(ledger.setTenantOverride('acme', { classes: { mobile: { unitSeconds: 0, unitPrice: 1 } } }, 'x')).rejects.toMatchObject({
      code: 'KUMO_ERR_BILLING_TARIFF_INVALID',
    });
  });

  it('trims only what every group acknowledged, past the retention period', async () => {
    const { streams, keys } = setup();
    await streams.ensureGroup();
    await redis.xgroup('CREATE', keys.global.cdrStream(0), 'audit', '0');
    const key = keys.global.cdrStream(0);
    for (let i = 0; i < 10; i++) await redis.xadd(key, '*', 'cdr', '{}');
    const billing = await streams.read(redis, { shard: 0, consumer: 'w', count: 10 });
    await streams.ack(0, billing.slice(0, 6).map((e) => e.id));
    const audit = await streams.read(redis, { shard: 0, consumer: 'w', count: 4, group: 'audit' });
    await streams.ack(0, audit.map((e) => e.id), 'audit');
    // retention not yet passed: nothing goes
    expect((await streams.trim(0, 3600_000)).trimmed).toBe(0);
    // retention 0: billing acked 6 (4 pending), audit acked the first 4 and never saw the rest
    const r = await streams.trim(0, 0, Date.now() + 1000);
    expect(r.trimmed).toBe(3); // ids < last-delivered(audit) = 4th entry: the first 3 go (the 4th itself stays)
    expect(await redis.xlen(key)).toBe(7);
    const rest = (await redis.xrange(key, '-', '+')).map(([id]) => id);
    expect(rest[0]).toBe(billing[3]!.id);
  });

  it('dead letters can be listed and replayed', async () => {
    const { streams } = setup();
    await streams.ensureGroup();
    const c = cdr(1);
    const id = await streams.publishCdr(c);
    const shard = streams.shardOf('acme');
    const [e] = await streams.read(redis, { shard, consumer: 'w', count: 1 });
    expect(e!.id).toBe(id);
    await streams.deadLetter(e!, 'boom', 5);
    const dl = await streams.listDeadLetters({ count: 10 });
    expect(dl).toHaveLength(1);
    expect(dl[0]).toMatchObject({ entryId: id, error: 'boom', deliveries: 5 });
    expect(JSON.parse(dl[0]!.payload!).cdrId).toBe(c.cdrId);
    expect(await streams.deliveries(shard, id)).toBe(0);
    const again = await streams.replayDeadLetter(dl[0]!.id);
    expect(again).not.toBeNull();
    expect(await streams.deadLetterCount()).toBe(0);
  });
});
