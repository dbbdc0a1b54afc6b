import type { Cdr } from '@kumo/domain';
import type { CallMetrics } from '@kumo/runtime';
import type { InboundInvite, Leg } from './types.js';

/**
 * The call-metrics hook (docs/operations.md, "Call metrics"): one wrapper around the caller's
 * side of an INVITE and one around CDR publishing, so the call lifecycle itself stays untouched.
 */
export class CallMetricsHook {
  private ringing = 0;
  private answered = 0;

  constructor(
    private readonly m: CallMetrics,
    private readonly now: () => number = () => performance.now(),
  ) {
    m.setActiveCounter(() => ({ ringing: this.ringing, answered: this.answered }));
  }

  /**
   * Wraps the caller's side of one INVITE for as long as `run` (the request route) takes: the call is
   * `ringing` until answered, then `answered`; the first 180/183 or the 200 gives the setup time.
   */
  async track(inv: InboundInvite, run: (inv: InboundInvite) => Promise<unknown>): Promise<void> {
    const t0 = this.now();
    let state: 'ringing' | 'answered' = 'ringing';
    let setupSeen = false;
    const setupDone = (): void => {
      if (setupSeen) return;
      setupSeen = true;
      this.m.observeSetup((this.now() - t0) / 1000);
    };
    this.ringing++;
    const wrapped: InboundInvite = {
      callId: inv.callId,
      fromTag: inv.fromTag,
      sdp: inv.sdp,
      ...(inv.userAgent !== undefined ? { userAgent: inv.userAgent } : {}),
      progress: (...a: Parameters<InboundInvite['progress']>) => {
        setupDone();
        inv.progress(...a);
      },
      // Every argument forwarded as given (the 200's headers: the connected party's P-Asserted-Identity).
      answer: async (...a: Parameters<InboundInvite['answer']>): Promise<Leg> => {
        const leg = await inv.answer(...a);
        setupDone();
        if (state === 'ringing') {
          state = 'answered';
          this.ringing--;
          this.answered++;
        }
        return leg;
      },
      reject: (status, reason, headers) => inv.reject(status, reason, headers),
      onCancel: (cb) => inv.onCancel(cb),
    };
    try {
      await run(wrapped);
    } finally {
      if (state === 'ringing') this.ringing--;
      else this.answered--;
    }
  }

  /** Wraps the CDR publisher: every published CDR counts one finished call; failures are counted and rethrown. */
  publisher<R, A extends unknown[] = []>(publish: (cdr: Cdr, ...rest: A) => Promise<R>): (cdr: Cdr, ...rest: A) => Promise<R> {
    return async (cdr, ...rest) => {
      try {
        return await publish(cdr, ...rest);
      } catch (err) {
        this.m.cdrPublishFailed();
        throw err;
      } finally {
        this.m.ended(cdr);
      }
    };
  }
}
