import type { AppConnection } from '../control/server.js';
import type { TimerHandle } from '../transaction/clock.js';
import type { Retransmitter } from '../transaction/retransmit.js';
import type { SipUri } from '../sip/index.js';
import type { Dest } from '../transaction/types.js';

/** A SIP dialog (RFC 3261 §12) as the engine tracks it for one app. */
export interface Dialog {
  /** `Call-ID;from-tag=<tag of the initiator>`, as drachtio computes it. */
  readonly id: string;
  readonly role: 'uas' | 'uac';
  readonly callId: string;
  readonly localTag: string;
  remoteTag: string;
  /** From/To header values without tags, as the local / remote party. */
  readonly localUri: string;
  readonly remoteUri: string;
  /** Remote target (the peer's Contact URI). */
  remoteTarget: string;
  /** Route set, as Route header values in the order to send. */
  routeSet: string[];
  localSeq: number;
  remoteSeq: number;
  /** Our Contact, for in-dialog requests that carry one. */
  localContact: string;
  app: AppConnection | undefined;
  /** Connection the dialog was set up over, reused for in-dialog requests when still open. */
  dest: Dest;
  /** 'early' after a provisional with a tag, 'confirmed' after 2xx, 'failed' after a non-2xx final. */
  state: 'early' | 'confirmed' | 'failed' | 'terminated';
  readonly isInvite: boolean;
  /** UAS: the INVITE transaction whose 2xx waits for its ACK. */
  ackWait: { txnId: string; cseq: number; retrans: Retransmitter; timer: TimerHandle | undefined } | undefined;
  /** UAS: the txn id of the last INVITE, reported with its ACK. */
  inviteTxnId: string;
  /** UAC: CSeq of the last INVITE we sent, and the ACK we sent for its 2xx (resent on retransmitted 2xx). */
  inviteCSeq: number;
  lastAck: { cseq: number; bytes: Buffer; dest: Dest } | undefined;
  /**
   * The first hop's URI as last parsed (first route, else remote target), whether its host is an address literal, and
   * the texts it was parsed from: in-dialog requests parse it again only when the route set or the target changed
   * (dialogDest).
   */
  hop?: { route: string | undefined; target: string; uri: SipUri | undefined; ip: boolean } | undefined;
  /** A CANCEL crossed our 2xx: hang up once the ACK comes (drachtio behaviour). */
  byeAfterAck: boolean;
  created: number;
}
