/** Timers as the transaction and dialog layers see them: injectable, so state machines run on a fake clock in tests. */
export interface Clock {
  /** Calls `fn` once after `ms`; the handle is opaque. */
  set(ms: number, fn: () => void): TimerHandle;
  /** Cancels a timer (undefined is fine); always returns undefined, for `h = clock.clear(h)`. */
  clear(h: TimerHandle | undefined): undefined;
}

export type TimerHandle = { readonly __timer: true } | NodeJS.Timeout;

/** The real clock: unref'd `setTimeout`s, so engine timers never hold the process open. */
export const realClock: Clock = {
  set(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear(h) {
    if (h !== undefined) clearTimeout(h as NodeJS.Timeout);
    return undefined;
  },
};
