import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';

export interface OverloadDetectorOptions {
  /** p99 event-loop delay (ms) over one sample above which the process is overloaded; 0 disables. */
  readonly lagThresholdMs: number;
  /** Work items in flight above which the process is overloaded; 0 disables. */
  readonly maxQueueDepth: number;
  /** Current work in flight (e.g. INVITEs being admitted/set up). */
  readonly queueDepth?: () => number;
  /** How often the lag histogram is read and reset. Default 250 ms. */
  readonly sampleMs?: number;
  /** The lag state holds for at least this long after the last sample over the threshold. Default 1000 ms. */
  readonly holdMs?: number;
  /** Called when the state flips. */
  readonly onChange?: (overloaded: boolean, lagMs: number) => void;
  /** Called after every sample with the p99 lag in ms. */
  readonly onSample?: (lagMs: number) => void;
}

export interface OverloadDetector {
  /** True while lag or queue depth is over its threshold (queue depth is checked live). */
  overloaded(): boolean;
  /** p99 event-loop delay of the last sample, ms. */
  lagMs(): number;
  close(): void;
}

/**
 * Detects that the process is about to degrade, from the event-loop delay
 * (`perf_hooks.monitorEventLoopDelay`) and a queue depth the caller supplies, so new
 * non-priority work can be refused before it hurts calls in progress. The lag state has
 * hysteresis: it clears only on a sample below half the threshold, `holdMs` after the last bad one.
 */
export function createOverloadDetector(o: OverloadDetectorOptions): OverloadDetector {
  const sampleMs = o.sampleMs ?? 250;
  const holdMs = o.holdMs ?? 1000;
  let lastBad = -Infinity;
  let h: IntervalHistogram | undefined;
  let lag = 0;
  let lagOver = false;
  let last = false;
  const depthOver = (): boolean => o.maxQueueDepth > 0 && o.queueDepth !== undefined && o.queueDepth() > o.maxQueueDepth;
  const state = (): boolean => lagOver || depthOver();
  const report = (): void => {
    const now = state();
    if (now !== last) {
      last = now;
      o.onChange?.(now, lag);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  if (o.lagThresholdMs > 0) {
    h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    let due = performance.now() + sampleMs;
    timer = setInterval(() => {
      if (!h) return;
      // A blocked loop shows up in the histogram and as this timer firing late; take the worse.
      const late = Math.max(0, performance.now() - due);
      due = performance.now() + sampleMs;
      lag = Math.max(h.count > 0 ? h.percentile(99) / 1e6 : 0, late);
      h.reset();
      if (lag > o.lagThresholdMs) {
        lagOver = true;
        lastBad = performance.now();
      } else if (lag < o.lagThresholdMs / 2 && performance.now() - lastBad >= holdMs) lagOver = false;
      o.onSample?.(lag);
      report();
    }, sampleMs);
    timer.unref();
  }
  return {
    overloaded() {
      const s = state();
      if (s !== last) report();
      return s;
    },
    lagMs: () => lag,
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      h?.disable();
      h = undefined;
    },
  };
}
