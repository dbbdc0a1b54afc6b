import { describe, expect, it } from 'vitest';
import { canMoveTicket, canMoveWork, TICKET_STATES, type TicketState } from './helpdesk.js';

describe('ticket states', () => {
  it.each([
    ['new', 'in-progress', true],
    ['new', 'closed', true],
    ['in-progress', 'new', false],
    ['waiting', 'in-progress', true],
    ['resolved', 'in-progress', true],
    ['resolved', 'waiting', false],
    ['closed', 'in-progress', false],
    ['closed', 'closed', true],
  ] as [TicketState, TicketState, boolean][])('%s → %s: %s', (a, b, ok) => {
    expect(canMoveTicket(a, b)).toBe(ok);
  });

  it('nothing leaves closed', () => {
    for (const s of TICKET_STATES) if (s !== 'closed') expect(canMoveTicket('closed', s)).toBe(false);
  });
});

describe('work states', () => {
  it.each([
    ['scheduled', 'in-progress', true],
    ['scheduled', 'cancelled', true],
    ['in-progress', 'cancelled', false],
    ['completed', 'scheduled', false],
  ] as const)('%s → %s: %s', (a, b, ok) => {
    expect(canMoveWork(a, b)).toBe(ok);
  });
});
