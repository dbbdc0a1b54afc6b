/**
 * Recovery of calls whose sip process died (docs/reliability.md). Every sip process
 * heart-beats; every sip process also sweeps: a call-record owner whose heartbeat is older
 * than `deadAfterMs` is dead, and one surviving process (a claim in Redis) ends its calls:
 * BYE to legs that may still exist, admission leases released, and the CDR published with end
 * cause `system-failure` and billable time up to the owner's last heartbeat. The record goes
 * only after its CDR is published; the CDR id is the call's, so a retried recovery is charged once.
 */
import { buildCdr, factsEndedAt, type CallFacts } from '@kumo/domain';
import type { Logger } from '@kumo/runtime';
import type { AdmissionStore, CallRecord, CallRecordStore, HuntStateStore, LegRecord } from '@kumo/store';
import type { PublishCdr } from '../request-route/route.js';

export interface CallRecoveryOptions {
  readonly records: CallRecordStore;
  readonly publishCdr: PublishCdr;
  /** Releases the admission leases of recovered calls. */
  readonly admission?: Pick<AdmissionStore, 'release' | 'releaseByCallId'>;
  /** Hunt state: the extensions a recovered call kept busy become idle again. */
  readonly hunt?: Pick<HuntStateStore, 'callEnded'>;
  /** Sends a BYE for a recovered leg (through this process's engine link); undefined when no engine is reachable. */
  readonly hangupLeg?: (leg: LegRecord) => Promise<unknown>;
  readonly log: Logger;
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;
  /** Called with each recovered call (metrics, tests). */
  readonly onRecovered?: (rec: CallRecord) => void;
}

/** How long one process may work on a dead owner's calls before another may take over. */
const CLAIM_MS = 30_000;
/** Calls recovered at once. */
const RECOVERY_BATCH = 50;

export class CallRecovery {
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private healthySince: number | undefined;
  private sweeping: Promise<number> | undefined;
  private beating = false;
  private stopped = false;

  constructor(private readonly o: CallRecoveryOptions) {}

  /** Heart-beats now and then every `heartbeatMs`; sweeps on the same period. */
  start(): void {
    void this.heartbeatNow();
    this.heartbeatTimer ??= setInterval(() => void this.heartbeatNow(), this.o.heartbeatMs);
    this.heartbeatTimer.unref();
    this.sweepTimer ??= setInterval(() => void this.sweepNow(), this.o.heartbeatMs);
    this.sweepTimer.unref();
  }

  /** Stops heart-beating and sweeping; with `retire`, this process leaves the owner set (a clean stop with no call left). */
  async stop(o: { retire?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.heartbeatTimer = undefined;
    this.sweepTimer = undefined;
    await this.sweeping?.catch(() => undefined);
    if (o.retire) await this.o.records.retire().catch((err: unknown) => this.o.log.warn({ err }, 'could not retire call-record owner'));
  }

  async heartbeatNow(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      await this.o.records.heartbeat();
      this.healthySince ??= Date.now();
    } catch (err) {
      if (this.healthySince !== undefined) this.o.log.warn({ err: (err as Error).message }, 'call-record heartbeat failed');
      this.healthySince = undefined;
    } finally {
      this.beating = false;
    }
  }

  /**
   * Recovers the calls of dead owners; resolves with how many calls were recovered. Sweeps only
   * after this process has heart-beaten without a break for `deadAfterMs` (after a Redis outage
   * every live process must have been able to heart-beat again before anyone is judged dead).
   */
  sweepNow(): Promise<number> {
    this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweep(): Promise<number> {
    if (this.stopped || this.healthySince === undefined || Date.now() - this.healthySince < this.o.deadAfterMs) return 0;
    const { records, log } = this.o;
    let recovered = 0;
    try {
      const { dead } = await records.deadOwners(this.o.deadAfterMs);
      for (const owner of dead) {
        if (this.stopped || !(await records.claim(owner.owner, CLAIM_MS))) continue;
        const calls = await records.callsOf(owner.owner);
        if (calls.length > 0) log.warn({ owner: owner.owner, lastSeen: new Date(owner.lastSeen).toISOString(), calls: calls.length }, 'recovering the calls of a dead sip process');
        let left = 0;
        // In parallel, a bounded batch at a time: each call may wait a moment for its BYEs' answers.
        for (let i = 0; i < calls.length && !this.stopped; i += RECOVERY_BATCH) {
          const done = await Promise.all(
            calls.slice(i, i + RECOVERY_BATCH).map((c) =>
              this.recover(owner.owner, owner.lastSeen, c.tenantId, c.callKey).catch((err: unknown) => {
                left += 1;
                log.error({ err, owner: owner.owner, tenantId: c.tenantId, callKey: c.callKey }, 'call recovery failed; retrying on the next sweep');
                return false;
              }),
            ),
          );
          recovered += done.filter(Boolean).length;
        }
        if (left === 0 && !this.stopped) await records.retire(owner.owner);
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'call-record sweep failed');
    }
    return recovered;
  }

  private async recover(owner: string, lastSeen: number, tenantId: string, callKey: string): Promise<boolean> {
    const { records, log } = this.o;
    const rec = await records.read(tenantId, callKey);
    if (!rec || rec.owner !== owner) {
      await records.clear(tenantId, callKey, owner);
      return false;
    }
    const hangup = this.o.hangupLeg;
    if (hangup) await Promise.all(rec.legs.map((l) => hangup(l)));
    const t = rec.ticket;
    if (t && this.o.admission) {
      await this.o.admission.releaseByCallId(t.tenantId, t.callId);
      if (t.trunkId !== undefined) await this.o.admission.release(t);
    }
    if (rec.busy && rec.busy.length > 0 && this.o.hunt) {
      await this.o.hunt.callEnded(tenantId, rec.busy, lastSeen);
      await records.busy(tenantId, callKey, []); // once, even if this recovery is retried
    }
    await this.o.publishCdr(buildCdr(recoveredFacts(rec, lastSeen)));
    await records.clear(tenantId, callKey, owner);
    log.info({ tenantId, callKey, answered: rec.answeredAt !== undefined }, 'call recovered: legs released, CDR published (system-failure)');
    this.o.onRecovered?.(rec);
    return true;
  }
}

/** The CDR facts of a call whose process died: it ended at the owner's last heartbeat. */
export function recoveredFacts(rec: CallRecord, lastSeen: number): CallFacts {
  return {
    ...factsEndedAt(rec.facts, rec.answeredAt, lastSeen),
    ...(rec.answeredAt !== undefined ? { hangupBy: 'system' as const } : {}),
    endCause: 'system-failure',
  };
}
