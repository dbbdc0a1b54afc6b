import { describe, expect, it, vi } from 'vitest';
import { QuietGc, collectGarbage } from '../../src/memory.js';

/** QuietGc (docs/engine.md, "Memory after a burst"): full GCs when the live transactions fall after a burst. */
describe('QuietGc', () => {
  const make = (loads: number[]) => {
    const gc = vi.fn();
    let i = 0;
    const q = new QuietGc({ load: () => loads[Math.min(i++, loads.length - 1)] as number, gc, intervalMs: 5000, minPeak: 1000 });
    return { q, gc, run: () => loads.map(() => q.tick()) };
  };

  it('collects on the two looks after the load falls to a tenth of a peak of at least minPeak, then not again', () => {
    const { gc, run } = make([0, 5000, 32000, 30000, 8000, 3300, 100, 0, 0, 0]);
    expect(run()).toEqual([false, false, false, false, false, false, true, true, false, false]);
    expect(gc).toHaveBeenCalledTimes(2);
  });

  it('a load that rises again between the two looks: the second waits for the next fall', () => {
    const { gc, run } = make([20000, 1000, 15000, 14000, 500, 0, 0]);
    expect(run()).toEqual([false, true, false, false, true, true, false]);
    expect(gc).toHaveBeenCalledTimes(3);
  });

  it('never at a steady load, nor after a small peak', () => {
    expect(make([30000, 31000, 29000, 30500]).run()).toEqual([false, false, false, false]);
    expect(make([0, 900, 0, 0]).run()).toEqual([false, false, false, false]);
  });

  it('a second burst earns a second collection', () => {
    const { gc, run } = make([20000, 0, 0, 0, 20000, 1000, 0, 0]);
    expect(run()).toEqual([false, true, true, false, false, true, true, false]);
    expect(gc).toHaveBeenCalledTimes(4);
  });

  it('collectGarbage runs a full GC without --expose-gc', () => {
    expect(() => collectGarbage()).not.toThrow();
  });
});
