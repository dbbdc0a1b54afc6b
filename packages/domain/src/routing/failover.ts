/**
 * What to do after an attempt failed: `onAttemptFailed(plan, state, failure)` → try another
 * step of the plan or give the caller a final answer. Pure.
 *
 * Rules:
 * - the caller hung up (CANCEL) or the far end said 487: stop, never fail over;
 * - a trunk gateway that answered 5xx, 408, a transport error or nothing within the setup
 *   timeout → the next gateway; but never once early media reached the caller;
 * - busy (486/600/603), no answer, unavailable and other refusals follow the step's rules
 *   (forwarding, next group member, overflow) or end the call;
 * - a ring group whose total timeout is over goes to its overflow.
 */
import type { FailureClass, Next, PlanStep, RoutePlan, Stop } from './plan.js';

export type AttemptFailure =
  /** A final non-2xx response (after forking, the best one: see mergeForkFailures). */
  | { readonly kind: 'response'; readonly status: number; readonly reason?: string; readonly earlyMedia?: boolean }
  /** Ringing for the step's timeout without an answer. */
  | { readonly kind: 'no-answer-timeout'; readonly earlyMedia?: boolean }
  /** No provisional response within the trunk's setup timeout. */
  | { readonly kind: 'setup-timeout' }
  /** The request could not be sent (connection refused, ICMP, TCP reset…). */
  | { readonly kind: 'transport-error'; readonly earlyMedia?: boolean }
  /** Nothing to ring (e.g. every contact of a step expired meanwhile, nothing to pick up). */
  | { readonly kind: 'no-targets' }
  /** The ring group's total timeout fired during this step. */
  | { readonly kind: 'total-timeout' }
  /** The caller cancelled. */
  | { readonly kind: 'caller-cancelled' };

export interface AttemptState {
  /** Index of the step that failed. */
  readonly step: number;
  /** Epoch ms now, and when each segment (ring group) began: enforces the group's total timeout. */
  readonly now?: number;
  readonly segmentStartedAt?: Readonly<Record<string, number>>;
}

export type AttemptDecision =
  | { readonly action: 'try'; readonly step: number; readonly because: FailureClass | 'total-timeout' }
  | { readonly action: 'stop'; readonly stop: Stop; readonly because: FailureClass | 'total-timeout' | 'cancelled' | 'invalid-step' };

const CANCELLED: Stop = { status: 487, reason: 'Request Terminated', code: 'cancelled', rejected: false };
/**
 * Every device of the callee failed at the transport (no TCP flow, no connection to its Contact):
 * nothing rang. Answered at once with 480, and the CDR says `unreachable`, not `no-answer`.
 */
export const UNREACHABLE_STOP: Stop = { status: 480, reason: 'Temporarily Unavailable', code: 'unreachable', rejected: false };

/** Classifies a failure for the kind of step it happened on. */
export function classifyFailure(step: PlanStep, f: AttemptFailure): FailureClass | 'cancelled' | 'total-timeout' {
  switch (f.kind) {
    case 'caller-cancelled':
      return 'cancelled';
    case 'total-timeout':
      return 'total-timeout';
    case 'no-answer-timeout':
      return 'no-answer';
    case 'setup-timeout':
    case 'transport-error':
      return step.kind === 'trunk' ? 'failover' : 'unavailable';
    case 'no-targets':
      return 'unavailable';
    case 'response': {
      const s = f.status;
      if (s === 487) return 'cancelled';
      if (s === 486 || s === 600 || s === 603) return 'busy';
      if (s === 408) return step.kind === 'trunk' ? 'failover' : 'no-answer';
      if (s >= 500 && s < 600) return step.kind === 'trunk' ? 'failover' : 'unavailable';
      if (step.kind !== 'trunk' && (s === 480 || s === 404 || s === 410)) return 'unavailable';
      return 'rejected';
    }
  }
}

function relayStop(f: AttemptFailure): Stop {
  switch (f.kind) {
    case 'response':
      return { status: f.status, reason: f.reason ?? defaultReason(f.status), code: `status-${f.status}`, rejected: false };
    case 'setup-timeout':
      return { status: 408, reason: 'Request Timeout', code: 'setup-timeout', rejected: false };
    case 'no-answer-timeout':
      return { status: 480, reason: 'Temporarily Unavailable', code: 'no-answer', rejected: false };
    case 'transport-error':
      return { status: 503, reason: 'Service Unavailable', code: 'transport-error', rejected: false };
    default:
      return { status: 480, reason: 'Temporarily Unavailable', code: 'unavailable', rejected: false };
  }
}

function defaultReason(status: number): string {
  const known: Record<number, string> = {
    403: 'Forbidden',
    404: 'Not Found',
    408: 'Request Timeout',
    480: 'Temporarily Unavailable',
    484: 'Address Incomplete',
    486: 'Busy Here',
    488: 'Not Acceptable Here',
    500: 'Server Internal Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Server Time-out',
    600: 'Busy Everywhere',
    603: 'Decline',
  };
  return known[status] ?? 'Call Failed';
}

function resolve(next: Next, f: AttemptFailure, because: FailureClass | 'total-timeout'): AttemptDecision {
  if ('goto' in next) return { action: 'try', step: next.goto, because };
  if ('stop' in next) return { action: 'stop', stop: next.stop, because };
  return { action: 'stop', stop: relayStop(f), because };
}

export function onAttemptFailed(plan: RoutePlan, state: AttemptState, failure: AttemptFailure): AttemptDecision {
  const step = plan.steps[state.step];
  if (!step) return { action: 'stop', stop: relayStop(failure), because: 'invalid-step' };
  const cls = classifyFailure(step, failure);
  if (cls === 'cancelled') return { action: 'stop', stop: failure.kind === 'response' ? relayStop(failure) : CANCELLED, because: 'cancelled' };

  const segment = step.segment === undefined ? undefined : plan.segments[step.segment];
  if (segment) {
    const started = state.segmentStartedAt?.[step.segment as string];
    const over =
      cls === 'total-timeout' ||
      (state.now !== undefined && started !== undefined && state.now - started >= segment.totalTimeoutSec * 1000);
    if (over) return resolve(segment.onTimeout, failure, 'total-timeout');
  }
  // A total timeout outside a segment is just a no-answer.
  const klass: FailureClass = cls === 'total-timeout' ? 'no-answer' : cls;
  const early = 'earlyMedia' in failure && failure.earlyMedia === true;
  if (klass === 'failover' && early) return { action: 'stop', stop: relayStop(failure), because: klass };
  const d = resolve(step.on[klass], failure, klass);
  if (step.kind === 'ring' && failure.kind === 'transport-error' && d.action === 'stop' && d.stop.code === 'no-answer') return { ...d, stop: UNREACHABLE_STOP };
  return d;
}

/**
 * When every fork of a ring step failed: the one failure that represents them (after
 * RFC 3261 §16.7, simplified): 6xx first, then busy, then the lowest 4xx, then 5xx/transport.
 * Returns a no-targets failure for an empty list.
 */
export function mergeForkFailures(failures: readonly AttemptFailure[]): AttemptFailure {
  let best: AttemptFailure | undefined;
  let bestRank = Number.POSITIVE_INFINITY;
  for (const f of failures) {
    const r = forkRank(f);
    if (r < bestRank) {
      best = f;
      bestRank = r;
    }
  }
  return best ?? { kind: 'no-targets' };
}

function forkRank(f: AttemptFailure): number {
  switch (f.kind) {
    case 'caller-cancelled':
      return 0;
    case 'response':
      if (f.status >= 600) return 1;
      if (f.status === 486) return 2;
      if (f.status >= 400 && f.status < 500) return 3 + (f.status === 480 || f.status === 408 ? 1 : 0);
      return 10;
    case 'no-answer-timeout':
      return 5;
    case 'total-timeout':
      return 5;
    case 'setup-timeout':
      return 11;
    case 'transport-error':
      return 12;
    case 'no-targets':
      return 13;
  }
}

/** How long a step may ring: its own timeout, cut short by its group's remaining total time. */
export function stepTimeoutMs(plan: RoutePlan, state: AttemptState): number {
  const step = plan.steps[state.step];
  if (!step) return 0;
  const own = step.kind === 'ring' ? step.timeoutSec * 1000 : step.kind === 'trunk' ? Number.POSITIVE_INFINITY : 0;
  const segment = step.segment === undefined ? undefined : plan.segments[step.segment];
  const started = step.segment === undefined ? undefined : state.segmentStartedAt?.[step.segment];
  if (!segment || started === undefined || state.now === undefined) return own;
  return Math.max(0, Math.min(own, started + segment.totalTimeoutSec * 1000 - state.now));
}
