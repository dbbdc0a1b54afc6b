/**
 * What a CANCEL from the network does (RFC 3261 §9.2), decided from the INVITE server transaction it names alone.
 * Pure: the engine carries the verdict out (responses, the app, the dialog).
 */

/** What the CANCEL needs to know of the INVITE server transaction with its branch. */
export interface CancelledInvite {
  /** No final response sent yet. */
  readonly pending: boolean;
  /** Its request is still kept (dropped once a final response is sent). */
  readonly hasRequest: boolean;
  readonly state: string;
  /** The INVITE created a dialog with a provisional or 2xx. */
  readonly formedDialog: boolean;
}

export type CancelVerdict =
  /** No INVITE with that branch: 481 to the CANCEL. */
  | { readonly status: 481; readonly action: 'none' }
  /** Pending: 200 to the CANCEL, 487 to the INVITE, the app told, an early dialog dropped. */
  | { readonly status: 200; readonly action: 'terminate-invite' }
  /** A CANCEL racing our 2xx (RFC 6026 Accepted): 481, and the confirmed call hung up once its ACK has come. */
  | { readonly status: 481; readonly action: 'bye-after-ack' }
  /** A final non-2xx was sent already: 200 to the CANCEL, no effect on the INVITE (§9.2). */
  | { readonly status: 200; readonly action: 'none' };

export function cancelVerdict(inv: CancelledInvite | undefined): CancelVerdict {
  if (!inv) return { status: 481, action: 'none' };
  if (inv.pending && inv.hasRequest) return { status: 200, action: 'terminate-invite' };
  // drachtio does the same (sip-dialog-controller.cpp 1640-1712)
  if (inv.state === 'accepted' && inv.formedDialog) return { status: 481, action: 'bye-after-ack' };
  return { status: 200, action: 'none' };
}
