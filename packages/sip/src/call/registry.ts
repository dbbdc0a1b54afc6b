/**
 * Every call of this sip process and every piece of work a call starts (transfers, joined
 * calls) lives here: nothing runs detached. The registry is what drain (SIGTERM), engine-loss
 * reconciliation and keep-alive act on, and what `idle()` waits for (docs/reliability.md).
 */
import type { EndCause } from '@kumo/domain';
import type { LegRecord } from '@kumo/store';

/** One live call, as the registry sees it. */
export interface LiveCall {
  readonly tenantId: string;
  /** `<A-leg Call-ID>;<A-leg From tag>`: the CDR identity. */
  readonly callKey: string;
  /** Its established dialogs (empty until answered). */
  legs(): readonly LegRecord[];
  /** Ends the call now (BYE / final response to whoever is still there); its CDR says why. Idempotent. */
  end(cause: EndCause): void;
}

/** What a call can be told: ended by the system, and why. */
export class CallControl {
  private cause: EndCause | undefined;
  private readonly listeners: ((cause: EndCause) => void)[] = [];

  get endCause(): EndCause | undefined {
    return this.cause;
  }

  /** Runs `cb` once the call is ended by the system (at once if it already was). Returns the unsubscribe. */
  onEnd(cb: (cause: EndCause) => void): () => void {
    if (this.cause !== undefined) {
      cb(this.cause);
      return () => undefined;
    }
    this.listeners.push(cb);
    return () => {
      const i = this.listeners.indexOf(cb);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  end(cause: EndCause): void {
    if (this.cause !== undefined) return;
    this.cause = cause;
    for (const cb of this.listeners.splice(0)) cb(cause);
  }
}

export class CallRegistry {
  private readonly calls = new Set<LiveCall>();
  private readonly work = new Set<Promise<unknown>>();
  private readonly waiters: (() => void)[] = [];
  private drainingSince: number | undefined;

  /** Registers a call; returns its removal (idempotent). */
  add(call: LiveCall): () => void {
    this.calls.add(call);
    return () => {
      if (this.calls.delete(call)) this.settle();
    };
  }

  /**
   * Tracks a promise started on behalf of a call (a transfer, a joined call): `idle()` waits
   * for it, and its failure is reported instead of becoming an unhandled rejection.
   */
  track(p: Promise<unknown>, onError: (err: unknown) => void): void {
    const t = p.then(
      () => undefined,
      (err: unknown) => onError(err),
    );
    this.work.add(t);
    void t.finally(() => {
      this.work.delete(t);
      this.settle();
    });
  }

  get size(): number {
    return this.calls.size;
  }

  /** Calls and tracked work in progress. */
  get busy(): number {
    return this.calls.size + this.work.size;
  }

  list(): readonly LiveCall[] {
    return [...this.calls];
  }

  /** Stops taking new calls (the INVITE handler answers 503 + Retry-After). */
  drain(): void {
    this.drainingSince ??= Date.now();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Ends every live call (its CDR carries `cause`). */
  endAll(cause: EndCause): number {
    const all = [...this.calls];
    for (const c of all) c.end(cause);
    return all.length;
  }

  /** Resolves once no call and no tracked work is left, or after `timeoutMs` (false then). */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.busy === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(this.busy === 0);
      }, Math.max(0, timeoutMs));
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }

  private settle(): void {
    if (this.busy !== 0) return;
    for (const w of this.waiters.splice(0)) w();
  }
}
