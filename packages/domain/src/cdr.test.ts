import { describe, expect, it } from 'vitest';
import { buildCdr, cdrIdFor, dispositionOf, factsEndedAt, type CallFacts } from './index.js';

const base: CallFacts = {
  tenantId: 'demo',
  aLegCallId: 'abc@host',
  aLegFromTag: 'f1',
  direction: 'outbound',
  caller: { dialled: '1001', extension: '1001' },
  callee: { dialled: '0312345678', e164: '+81312345678' },
  startedAt: 1_000_000,
  endedAt: 1_065_500,
  finalStatus: 200,
};

describe('buildCdr', () => {
  it('is deterministic per first leg', () => {
    expect(buildCdr(base).cdrId).toBe(buildCdr({ ...base, endedAt: 9_999_999 }).cdrId);
    expect(cdrIdFor('demo', 'abc@host', 'f1')).not.toBe(cdrIdFor('demo', 'abc@host', 'f2'));
    expect(cdrIdFor('demo', 'a', 'bc')).not.toBe(cdrIdFor('demo', 'ab', 'c'));
  });

  it.each([
    { answeredAt: 1_005_000, endedAt: 1_065_000, billable: 60, ring: 5 },
    { answeredAt: 1_005_000, endedAt: 1_065_001, billable: 61, ring: 5 },
    { answeredAt: 1_005_000, endedAt: 1_005_000, billable: 0, ring: 5 },
    { answeredAt: undefined, endedAt: 1_030_000, billable: 0, ring: 30 },
  ])('billable $billable s, ring $ring s', ({ answeredAt, endedAt, billable, ring }) => {
    const cdr = buildCdr({ ...base, endedAt, ...(answeredAt !== undefined ? { answeredAt } : { finalStatus: 480 }) });
    expect(cdr.billableSeconds).toBe(billable);
    expect(cdr.ringSeconds).toBe(ring);
  });

  it.each([
    [{ answeredAt: 1, finalStatus: 200 }, 'answered'],
    [{ finalStatus: 486 }, 'busy'],
    [{ finalStatus: 600 }, 'busy'],
    [{ finalStatus: 480 }, 'no-answer'],
    [{ finalStatus: 487, cancelledByCaller: true }, 'cancelled'],
    [{ finalStatus: 503, rejectionReason: 'port-limit' }, 'rejected'],
    [{ finalStatus: 503 }, 'failed'],
    [{ finalStatus: 404 }, 'failed'],
  ] as const)('disposition of %o is %s', (facts, expected) => {
    expect(dispositionOf(facts)).toBe(expected);
  });
});

describe('factsEndedAt: a call in progress as if it ended at a moment', () => {
  const t0 = base.startedAt;
  it.each([
    { name: 'answered: a 200 call up to the moment', answeredAt: t0 + 2000, at: t0 + 62_500, want: { disposition: 'answered', finalStatus: 200, billableSeconds: 61, endedAt: t0 + 62_500 } },
    { name: 'answered a moment ago: never ends before its answer', answeredAt: t0 + 2000, at: t0 + 1000, want: { disposition: 'answered', finalStatus: 200, billableSeconds: 0, endedAt: t0 + 2000 } },
    { name: 'not answered: a failed call, nothing billable', answeredAt: undefined, at: t0 + 9000, want: { disposition: 'failed', finalStatus: 500, billableSeconds: 0, endedAt: t0 + 9000 } },
  ])('$name', ({ answeredAt, at, want }) => {
    // what the record held: the caller had cancelled, a refusal reason, a stale answer time — none of it is the end
    const recorded: CallFacts = { ...base, cancelledByCaller: true, rejectionReason: 'stale', answeredAt: t0 + 99_000 };
    const cdr = buildCdr(factsEndedAt(recorded, answeredAt, at));
    expect(cdr).toMatchObject(want);
    expect(cdr.cdrId).toBe(buildCdr(base).cdrId); // the call's own id: its final CDR replaces what was priced
  });
});

