/**
 * Call detail records. `buildCdr` turns the facts a call session recorded into the
 * record published to the CDR stream. Pure: no clock, no I/O. Field meanings are
 * documented in docs/cdr.md.
 */
import { stableId } from './hash.js';

export type CallDirection = 'internal' | 'outbound' | 'inbound' | 'emergency';
/** `unreachable`: no device of the callee could be reached at all (nothing rang), unlike `no-answer`. */
export type Disposition = 'answered' | 'no-answer' | 'busy' | 'failed' | 'cancelled' | 'rejected' | 'unreachable';
export type HangupBy = 'caller' | 'callee' | 'system';
/**
 * Why Kumo itself ended a call (absent: the call ended normally, by a party's BYE or a final
 * response). See docs/reliability.md.
 */
export type EndCause = 'system-failure' | 'engine-lost' | 'shutdown' | 'keepalive-timeout' | 'max-duration' | 'toll-fraud';

export interface PartyFacts {
  /** Exactly what was dialled or presented (request-URI user / From user). */
  readonly dialled: string;
  /** Normalised E.164 (`+81…`) when the party is a public number. */
  readonly e164?: string;
  /** The tenant extension number, when the party is one. */
  readonly extension?: string;
  readonly displayName?: string;
  /** Department of the extension at call time (for per-department billing). */
  readonly department?: string;
}

/** What a call session knows when it ends. Timestamps are epoch milliseconds (UTC). */
export interface CallFacts {
  readonly tenantId: string;
  /** SIP Call-ID and From-tag of the leg that started the call: together they make the CDR id. */
  readonly aLegCallId: string;
  readonly aLegFromTag: string;
  readonly bLegCallId?: string;
  readonly direction: CallDirection;
  readonly caller: PartyFacts;
  readonly callee: PartyFacts;
  /** Ring group number when the call went to a group. */
  readonly group?: string;
  readonly trunkId?: string;
  readonly gatewayId?: string;
  readonly startedAt: number;
  readonly answeredAt?: number;
  readonly endedAt: number;
  /** Final SIP status seen by the caller (200 for answered calls). */
  readonly finalStatus: number;
  readonly finalReason?: string;
  readonly hangupBy?: HangupBy;
  /** Set when Kumo itself refused the call (admission, permission, routing). */
  readonly rejectionReason?: string;
  /** True when the caller cancelled before answer. */
  readonly cancelledByCaller?: boolean;
  /** No device of the callee could be reached (transport failures only: nothing rang). */
  readonly unreachable?: boolean;
  readonly codecs?: readonly string[];
  readonly userAgent?: string;
  /** Caller ID withheld (184 / Privacy: id). */
  readonly privacy?: boolean;
  /** Set when Kumo ended the call because something failed (docs/reliability.md). */
  readonly endCause?: EndCause;
}

export interface Cdr {
  readonly cdrId: string;
  readonly tenantId: string;
  readonly callIdA: string;
  readonly callIdB: string | null;
  readonly direction: CallDirection;
  readonly callerDialled: string;
  readonly callerE164: string | null;
  readonly callerExtension: string | null;
  readonly callerName: string | null;
  readonly department: string | null;
  readonly calleeDialled: string;
  readonly calleeE164: string | null;
  readonly calleeExtension: string | null;
  readonly group: string | null;
  readonly trunkId: string | null;
  readonly gatewayId: string | null;
  readonly startedAt: number;
  readonly answeredAt: number | null;
  readonly endedAt: number;
  readonly ringSeconds: number;
  /** Whole seconds from answer to end, partial seconds rounded up; 0 when unanswered. */
  readonly billableSeconds: number;
  readonly billableMs: number;
  readonly disposition: Disposition;
  readonly finalStatus: number;
  readonly finalReason: string | null;
  readonly hangupBy: HangupBy | null;
  readonly rejectionReason: string | null;
  readonly codecs: readonly string[];
  readonly userAgent: string | null;
  readonly privacy: boolean;
  /** Present only when Kumo ended the call itself: `system-failure`, `engine-lost`, `shutdown`, `keepalive-timeout`, `max-duration`, `toll-fraud` (the tenant's hourly toll spend limit was reached while it ran). */
  readonly endCause?: EndCause;
}

/** The CDR id is a function of the call's first leg only, so a retried publish is harmless. */
export function cdrIdFor(tenantId: string, aLegCallId: string, aLegFromTag: string): string {
  return stableId('cdr', tenantId, aLegCallId, aLegFromTag);
}

export function dispositionOf(f: Pick<CallFacts, 'answeredAt' | 'finalStatus' | 'rejectionReason' | 'cancelledByCaller' | 'unreachable'>): Disposition {
  if (f.answeredAt !== undefined) return 'answered';
  if (f.rejectionReason !== undefined) return 'rejected';
  if (f.cancelledByCaller === true) return 'cancelled';
  if (f.unreachable === true) return 'unreachable';
  if (f.finalStatus === 486 || f.finalStatus === 600) return 'busy';
  if (f.finalStatus === 408 || f.finalStatus === 480 || f.finalStatus === 487) return 'no-answer';
  return 'failed';
}

/**
 * The facts of a call still in progress as if it ended at `at`: answered (at `answeredAt`) it is a 200 call up to
 * `at`, otherwise a 500. What a recovered call's CDR is built from (with its end cause), and what the toll meter
 * prices a running call by (docs/security.md).
 */
export function factsEndedAt(f: CallFacts, answeredAt: number | undefined, at: number): CallFacts {
  const { rejectionReason: _r, cancelledByCaller: _c, answeredAt: _a, ...rest } = f;
  const answered = answeredAt !== undefined;
  return {
    ...rest,
    ...(answered ? { answeredAt } : {}),
    endedAt: Math.max(at, answeredAt ?? f.startedAt),
    finalStatus: answered ? 200 : 500,
    finalReason: answered ? 'OK' : 'Server Internal Error',
  };
}

export function buildCdr(f: CallFacts): Cdr {
  const endedAt = Math.max(f.endedAt, f.startedAt);
  const answeredAt = f.answeredAt === undefined ? null : Math.min(Math.max(f.answeredAt, f.startedAt), endedAt);
  const billableMs = answeredAt === null ? 0 : endedAt - answeredAt;
  const ringEnd = answeredAt ?? endedAt;
  return {
    cdrId: cdrIdFor(f.tenantId, f.aLegCallId, f.aLegFromTag),
    tenantId: f.tenantId,
    callIdA: f.aLegCallId,
    callIdB: f.bLegCallId ?? null,
    direction: f.direction,
    callerDialled: f.caller.dialled,
    callerE164: f.caller.e164 ?? null,
    callerExtension: f.caller.extension ?? null,
    callerName: f.caller.displayName ?? null,
    department: f.caller.department ?? null,
    calleeDialled: f.callee.dialled,
    calleeE164: f.callee.e164 ?? null,
    calleeExtension: f.callee.extension ?? null,
    group: f.group ?? null,
    trunkId: f.trunkId ?? null,
    gatewayId: f.gatewayId ?? null,
    startedAt: f.startedAt,
    answeredAt,
    endedAt,
    ringSeconds: Math.round((ringEnd - f.startedAt) / 1000),
    billableSeconds: Math.ceil(billableMs / 1000),
    billableMs,
    disposition: dispositionOf(f),
    finalStatus: f.finalStatus,
    finalReason: f.finalReason ?? null,
    hangupBy: f.hangupBy ?? null,
    rejectionReason: f.rejectionReason ?? null,
    codecs: [...(f.codecs ?? [])],
    userAgent: f.userAgent ?? null,
    privacy: f.privacy ?? false,
    ...(f.endCause !== undefined ? { endCause: f.endCause } : {}),
  };
}
