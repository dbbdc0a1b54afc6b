import { describe, expect, it } from 'vitest';
import { mergePatch } from './merge.js';

describe('mergePatch (RFC 7396)', () => {
  // The examples of RFC 7396 appendix A.
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('%j + %j = %j', (target, patch, result) => {
    expect(mergePatch(target, patch)).toEqual(result);
  });

  it('merges forwarding by kind and clears one kind with null', () => {
    const ext = { forwarding: { noAnswer: '1002', busy: '1003' } };
    expect(mergePatch(ext, { forwarding: { busy: '1004' } })).toEqual({ forwarding: { noAnswer: '1002', busy: '1004' } });
    expect(mergePatch(ext, { forwarding: { noAnswer: null } })).toEqual({ forwarding: { busy: '1003' } });
    expect(mergePatch(ext, { forwarding: null })).toEqual({});
  });

  it('does not touch the target and ignores prototype keys', () => {
    const t = { a: { b: 1 } };
    mergePatch(t, JSON.parse('{"a":{"b":2},"__proto__":{"x":1}}'));
    expect(t).toEqual({ a: { b: 1 } });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
