import { describe, expect, it } from 'vitest';
import { forwardingProblem } from './references.js';
import { MAX_FORWARD_DEPTH } from './plan.js';
import type { ExtensionView, RingGroupView } from './types.js';

const ext = (number: string, forwarding: ExtensionView['forwarding'] = {}): ExtensionView => ({ number, forwarding });
const group = (number: string, overflow?: string): RingGroupView =>
  ({ number, strategy: 'ring-all', members: [], totalTimeoutSec: 60, ...(overflow !== undefined ? { overflow } : {}) });

function check(items: (ExtensionView | RingGroupView)[], start: string) {
  const m = new Map(items.map((i) => [i.number, i]));
  return forwardingProblem(start, (n) => m.get(n), MAX_FORWARD_DEPTH);
}

describe('forwardingProblem (write-time form of the routing guard)', () => {
  it.each([
    ['no forwarding', [ext('1001')], undefined],
    ['outside number', [ext('1001', { unconditional: '0312345678' })], undefined],
    ['unconditional loop of two', [ext('1001', { unconditional: '1002' }), ext('1002', { unconditional: '1001' })], { kind: 'loop', chain: ['1001', '1002', '1001'] }],
    ['busy ping-pong is allowed', [ext('1001', { busy: '1002' }), ext('1002', { busy: '1001' })], undefined],
    ['unconditional then busy back is allowed', [ext('1001', { unconditional: '1002' }), ext('1002', { noAnswer: '1001' })], undefined],
    ['overflow back to the group is allowed', [group('600', '1001'), ext('1001', { noAnswer: '600' })], undefined],
  ] as const)('%s', (_name, items, expected) => {
    const p = check([...items], items[0].number);
    if (expected === undefined) expect(p).toBeUndefined();
    else expect(p).toMatchObject(expected);
  });

  it(`refuses chains longer than the ${MAX_FORWARD_DEPTH} hops routing follows, and accepts exactly ${MAX_FORWARD_DEPTH}`, () => {
    const chain = (n: number) => Array.from({ length: n + 1 }, (_, i) => ext(String(1001 + i), i < n ? { busy: String(1002 + i) } : {}));
    expect(check(chain(MAX_FORWARD_DEPTH), '1001')).toBeUndefined();
    expect(check(chain(MAX_FORWARD_DEPTH + 1), '1001')).toMatchObject({ kind: 'depth', field: 'forwarding/busy' });
  });
});

describe('forwardingProblem with the chain leading in', () => {
  it('counts the hops before start', () => {
    const m = new Map([['1006', ext('1006', { noAnswer: '1008' })], ['1008', ext('1008')]]);
    const lead = ['1001', '1002', '1003', '1004', '1005'];
    expect(forwardingProblem('1006', (n) => m.get(n), MAX_FORWARD_DEPTH, {}, lead)).toMatchObject({ kind: 'depth', chain: [...lead, '1006', '1008'] });
    expect(forwardingProblem('1006', (n) => m.get(n), MAX_FORWARD_DEPTH, {}, lead.slice(1))).toBeUndefined();
  });
});
