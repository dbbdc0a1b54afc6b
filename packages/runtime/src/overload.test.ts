import { describe, expect, it } from 'vitest';
import { createOverloadDetector } from './overload.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const block = (ms: number): void => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy: simulate a process that cannot keep up
  }
};

describe('createOverloadDetector', () => {
  it('flags a blocked event loop and clears after it recovers', async () => {
    const changes: boolean[] = [];
    let worst = 0;
    const d = createOverloadDetector({ lagThresholdMs: 100, maxQueueDepth: 0, sampleMs: 50, holdMs: 200, onChange: (on) => changes.push(on), onSample: (l) => (worst = Math.max(worst, l)) });
    try {
      await sleep(120);
      expect(d.overloaded()).toBe(false);
      block(250);
      await sleep(80);
      expect(d.overloaded()).toBe(true);
      expect(worst).toBeGreaterThan(100);
      await sleep(400);
      expect(d.overloaded()).toBe(false);
      expect(changes).toEqual([true, false]);
    } finally {
      d.close();
    }
  });

  it('flags a queue deeper than the limit at once', () => {
    let depth = 0;
    const d = createOverloadDetector({ lagThresholdMs: 0, maxQueueDepth: 10, queueDepth: () => depth });
    expect(d.overloaded()).toBe(false);
    depth = 11;
    expect(d.overloaded()).toBe(true);
    depth = 10;
    expect(d.overloaded()).toBe(false);
    d.close();
  });

  it('is off when both thresholds are 0', () => {
    const d = createOverloadDetector({ lagThresholdMs: 0, maxQueueDepth: 0, queueDepth: () => 1e9 });
    expect(d.overloaded()).toBe(false);
    d.close();
  });
});
