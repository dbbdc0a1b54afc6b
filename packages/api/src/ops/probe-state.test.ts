import { describe, expect, it } from 'vitest';
import { INITIAL_STATE, nextState, type TargetState } from './probe-state.js';

describe('probe state machine', () => {
  it('opens after N consecutive failures with the first failure as start, closes at the first success', () => {
    let s: TargetState = INITIAL_STATE;
    const steps: [boolean, number][] = [[true, 0], [false, 5], [true, 10], [false, 15], [false, 20], [false, 25], [true, 30], [true, 35]];
    const out: string[] = [];
    for (const [ok, at] of steps) {
      const t = nextState(s, ok, at, 2);
      out.push(t.kind === 'open' ? `open@${t.start}` : t.kind === 'close' ? `close@${t.end}` : '-');
      s = t.kind === 'open' ? { ...t.state, incidentId: 'INC-1' } : t.state;
    }
    expect(out).toEqual(['-', '-', '-', '-', 'open@15', '-', 'close@30', '-']);
    expect(s).toEqual({ ok: true, since: 30, consecutiveFailures: 0, detectedAt: null, incidentId: null });
  });

  it('keeps trying to open while failing; an outage that could never be written is recorded when it ends', () => {
    let s: TargetState = INITIAL_STATE;
    const kinds: string[] = [];
    for (const [ok, at] of [[false, 10], [false, 20], [false, 30], [true, 40]] as [boolean, number][]) {
      const t = nextState(s, ok, at, 2);
      kinds.push(t.kind);
      s = t.state; // the incident write failed every time: incidentId stays null
    }
    expect(kinds).toEqual(['none', 'open', 'open', 'record']);
    expect(nextState({ ok: false, since: 10, consecutiveFailures: 3, detectedAt: 20, incidentId: null }, true, 40, 2)).toMatchObject({ kind: 'record', start: 10, detectedAt: 20, end: 40 });
  });

  it('a close that could not be written is retried with the original end', () => {
    const t = nextState({ ok: true, since: 30, consecutiveFailures: 0, detectedAt: null, incidentId: 'INC-1' }, true, 35, 2);
    expect(t).toMatchObject({ kind: 'close', incidentId: 'INC-1', end: 30 });
  });

  it('opens at once with failuresToOpen = 1', () => {
    expect(nextState(INITIAL_STATE, false, 7, 1)).toMatchObject({ kind: 'open', start: 7 });
  });
});
