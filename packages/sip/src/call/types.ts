/**
 * The seams between call logic and SIP: a `CallSession` runs a route plan against these
 * interfaces; `srf-io.ts` implements them with drachtio-srf, tests with fakes.
 */
import type { AttemptFailure, HangupBy } from '@kumo/domain';

/** An outgoing INVITE (one fork of a ring step, or one trunk gateway attempt). */
export interface DialRequest {
  /** Request-URI. */
  readonly uri: string;
  /** Where to send it (`sip:host:port;transport=x`): a phone's registered source address, a gateway. */
  readonly proxy?: string;
  /** From, To, P-Asserted-Identity, Privacy… */
  readonly headers: Readonly<Record<string, string>>;
  readonly sdp: string;
}

export interface DialProgress {
  readonly status: number;
  /** SDP of a provisional response (early media). */
  readonly sdp?: string;
}

/** An established dialog, on either side of the B2BUA. */
export interface Leg {
  readonly callId: string;
  readonly remoteSdp: string;
  readonly userAgent?: string;
  /** Sends BYE (idempotent; a leg already gone resolves at once). */
  hangup(): Promise<void>;
}

export type DialOutcome = { readonly kind: 'answered'; readonly leg: Leg } | { readonly kind: 'failed'; readonly failure: AttemptFailure };

export interface PendingDial {
  readonly outcome: Promise<DialOutcome>;
  /**
   * Stop this attempt: CANCEL while it rings; if it answers anyway (a 200 crossing the
   * CANCEL), the answered leg is hung up. Idempotent.
   */
  cancel(): void;
}

/** The caller's INVITE, until it is answered or rejected. */
export interface InboundInvite {
  readonly callId: string;
  readonly fromTag: string;
  readonly sdp: string;
  readonly userAgent?: string;
  /** 180/183 to the caller (183 with SDP: early media). */
  progress(status: 180 | 183, sdp?: string): void;
  /** 200 OK with `sdp`; resolves with the caller's dialog. Rejects when the caller is gone. */
  answer(sdp: string): Promise<Leg>;
  reject(status: number, reason: string, headers?: Readonly<Record<string, string>>): void;
  /** Called once if the caller CANCELs before the final response. */
  onCancel(cb: () => void): void;
}

/** Everything a session does to the outside world. */
export interface CallIo {
  dial(req: DialRequest, onProgress: (p: DialProgress) => void): PendingDial;
  /**
   * Connects two answered legs (in-dialog requests relayed both ways) and resolves when
   * the call ends, with who hung up.
   */
  bridge(caller: Leg, callee: Leg): Promise<HangupBy>;
  now(): number;
  /** Returns a function that clears the timer. */
  setTimer(ms: number, cb: () => void): () => void;
}
