import { describe, expect, it } from 'vitest';
import { cancelVerdict, type CancelledInvite } from '../../src/transaction/cancel.js';

const inv = (o: Partial<CancelledInvite>): CancelledInvite => ({ pending: true, hasRequest: true, state: 'proceeding', formedDialog: false, ...o });

describe('CANCEL verdicts (RFC 3261 §9.2, RFC 6026)', () => {
  it.each([
    ['no INVITE with that branch', undefined, { status: 481, action: 'none' }],
    ['INVITE in Proceeding, no dialog yet', inv({}), { status: 200, action: 'terminate-invite' }],
    ['INVITE ringing with an early dialog', inv({ formedDialog: true }), { status: 200, action: 'terminate-invite' }],
    ['INVITE in Trying', inv({ state: 'trying' }), { status: 200, action: 'terminate-invite' }],
    ['2xx sent (Accepted): CANCEL raced the answer', inv({ pending: false, hasRequest: false, state: 'accepted', formedDialog: true }), { status: 481, action: 'bye-after-ack' }],
    ['non-2xx sent (Completed)', inv({ pending: false, hasRequest: false, state: 'completed', formedDialog: true }), { status: 200, action: 'none' }],
    ['non-2xx ACKed (Confirmed)', inv({ pending: false, hasRequest: false, state: 'confirmed' }), { status: 200, action: 'none' }],
    ['pending but its request already released', inv({ hasRequest: false }), { status: 200, action: 'none' }],
  ] as const)('%s', (_name, invite, verdict) => {
    expect(cancelVerdict(invite)).toEqual(verdict);
  });
});
