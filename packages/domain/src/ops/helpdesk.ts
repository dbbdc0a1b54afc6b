/**
 * Help desk (総合ヘルプデスク) tickets and maintenance works (工事情報): kinds, channels, states and
 * the allowed state changes (pure). docs/operations.md, "Help desk" and "Maintenance works".
 */
export const TICKET_KINDS = ['inquiry', 'fault', 'change'] as const;
export type TicketKind = (typeof TICKET_KINDS)[number];
export const TICKET_CHANNELS = ['phone', 'mail', 'web'] as const;
export type TicketChannel = (typeof TICKET_CHANNELS)[number];
export const TICKET_STATES = ['new', 'in-progress', 'waiting', 'resolved', 'closed'] as const;
export type TicketState = (typeof TICKET_STATES)[number];

/** Allowed next states. `waiting` = waiting for the tenant; `resolved` can be reopened; `closed` is final. */
const TICKET_NEXT: Readonly<Record<TicketState, readonly TicketState[]>> = {
  new: ['in-progress', 'waiting', 'resolved', 'closed'],
  'in-progress': ['waiting', 'resolved', 'closed'],
  waiting: ['in-progress', 'resolved', 'closed'],
  resolved: ['in-progress', 'closed'],
  closed: [],
};

export function canMoveTicket(from: TicketState, to: TicketState): boolean {
  return from === to || TICKET_NEXT[from].includes(to);
}

export const WORK_STATES = ['scheduled', 'in-progress', 'completed', 'cancelled'] as const;
export type WorkState = (typeof WORK_STATES)[number];
const WORK_NEXT: Readonly<Record<WorkState, readonly WorkState[]>> = {
  scheduled: ['in-progress', 'completed', 'cancelled'],
  'in-progress': ['completed'],
  completed: [],
  cancelled: [],
};

export function canMoveWork(from: WorkState, to: WorkState): boolean {
  return from === to || WORK_NEXT[from].includes(to);
}

/** Expected service impact of a maintenance work during its window. */
export const WORK_IMPACTS = ['none', 'partial', 'full'] as const;
export type WorkImpact = (typeof WORK_IMPACTS)[number];
