/**
 * The probe state machine (pure): one target's streak of results decides when an automatic
 * incident opens (after `failuresToOpen` consecutive failures) and closes (at the first success).
 */
export interface TargetState {
  readonly ok: boolean;
  /** Start of the current streak: the first failed (or first good) probe. */
  readonly since: number;
  readonly consecutiveFailures: number;
  /** When the failing streak reached the threshold (the operator "learned of it"); null while ok or below it. */
  readonly detectedAt: number | null;
  readonly incidentId: string | null;
}

export type ProbeTransition =
  | { readonly kind: 'none'; readonly state: TargetState }
  /** Open an incident that started at `start` (the first failure), detected `now`. */
  | { readonly kind: 'open'; readonly state: TargetState; readonly start: number }
  /** Close `incidentId`, service restored at `end` (the first good probe). */
  | { readonly kind: 'close'; readonly state: TargetState; readonly incidentId: string; readonly end: number }
  /** The outage ended before an incident could be written (e.g. Redis itself was down): record it resolved. */
  | { readonly kind: 'record'; readonly state: TargetState; readonly start: number; readonly detectedAt: number; readonly end: number };

export const INITIAL_STATE: TargetState = { ok: true, since: 0, consecutiveFailures: 0, detectedAt: null, incidentId: null };

/** `at`: when the probe was sent (a failure's start), so a timeout does not shift the outage start. */
export function nextState(prev: TargetState, ok: boolean, at: number, failuresToOpen: number): ProbeTransition {
  if (ok) {
    // After a close that could not be written, prev is already ok: the service came back at prev.since.
    const end = prev.ok ? prev.since || at : at;
    const state: TargetState = { ok: true, since: end, consecutiveFailures: 0, detectedAt: null, incidentId: null };
    if (prev.incidentId !== null) return { kind: 'close', state, incidentId: prev.incidentId, end };
    if (!prev.ok && prev.detectedAt !== null) return { kind: 'record', state, start: prev.since, detectedAt: prev.detectedAt, end };
    return { kind: 'none', state };
  }
  const failures = prev.consecutiveFailures + 1;
  const since = prev.ok ? at : prev.since;
  const detectedAt = prev.detectedAt ?? (failures >= failuresToOpen ? at : null);
  const state: TargetState = { ok: false, since, consecutiveFailures: failures, detectedAt, incidentId: prev.incidentId };
  if (prev.incidentId === null && detectedAt !== null) return { kind: 'open', state, start: since };
  return { kind: 'none', state };
}
