import type { AppConnection } from '../control/server.js';
import type { SipRequest } from '../sip/index.js';
import type { Peer, Proto, StreamConn } from '../transport/types.js';

/** Where to send: protocol, address, port and the TCP connection to prefer. */
export interface Dest {
  proto: Proto;
  addr: string;
  port: number;
  conn?: StreamConn | undefined;
}

/**
 * A server transaction (RFC 3261 §17.2, RFC 6026) for a request from the network. It is created when the
 * request arrives and handed to an app at once; until the app's first response, retransmissions are absorbed.
 */
export interface ServerTxn {
  readonly id: string;
  readonly key: string;
  readonly method: string;
  readonly req: SipRequest;
  readonly peer: Peer;
  /** Where responses go (RFC 3261 §18.2.2 with RFC 3581). */
  readonly dest: Dest;
  app: AppConnection | undefined;
  /** Dialog id of an in-dialog request ('' for a dialog-creating or out-of-dialog request). */
  dialogId: string;
  /** Dialog this request created with a 1xx/2xx (INVITE, SUBSCRIBE), '' until then. */
  formedDialogId: string;
  toTag: string;
  /** 'trying' (no response yet), 'proceeding' (1xx sent), 'completed' (final sent, waiting ACK / timer J), 'confirmed', 'accepted' (2xx to INVITE sent). */
  state: 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';
  lastResponse: Buffer | undefined;
  finalStatus: number;
  cancelled: boolean;
  timer: NodeJS.Timeout | undefined;
  retrans: NodeJS.Timeout | undefined;
  interval: number;
}

/** A client transaction (RFC 3261 §17.1) for a request the app (or the engine) sends. */
export interface ClientTxn {
  readonly id: string;
  readonly key: string;
  readonly branch: string;
  readonly method: string;
  readonly req: SipRequest;
  readonly bytes: Buffer;
  dest: Dest;
  /** Owning app; undefined for engine-generated requests (BYE after ACK timeout, orphan cleanup). */
  app: AppConnection | undefined;
  /** Dialog id of an in-dialog request ('' for out-of-dialog). */
  dialogId: string;
  state: 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';
  timer: NodeJS.Timeout | undefined;
  retrans: NodeJS.Timeout | undefined;
  interval: number;
  /** A CANCEL asked for before any provisional arrived: sent when one does. */
  cancelPending: Buffer | undefined;
  cancelSent: boolean;
  /** ACK generated for a non-2xx final, re-sent on response retransmissions. */
  ackBytes: Buffer | undefined;
  /** The app went away: CANCEL/BYE whatever comes back. */
  orphan: boolean;
}
