/**
 * The seams between call logic and SIP: a `CallSession` runs a route plan against these
 * interfaces; `srf-io.ts` implements them with drachtio-srf, tests with fakes.
 */
import type { AttemptFailure, EndCause, HangupBy } from '@kumo/domain';
import type { LegRecord } from '@kumo/store';

/** An outgoing INVITE (one fork of a ring step, or one trunk gateway attempt). */
export interface DialRequest {
  /** Request-URI. */
  readonly uri: string;
  /** Where to send it (`sip:host:port;transport=x`): a phone's registered source address, a gateway. */
  readonly proxy?: string;
  /** From, To, P-Asserted-Identity, Privacy… */
  readonly headers: Readonly<Record<string, string>>;
  readonly sdp: string;
  /** Digest credentials to answer a 401/407 from the far end (a registration-based trunk). */
  readonly auth?: { readonly username: string; readonly password: string };
}

export interface DialProgress {
  readonly status: number;
  /** SDP of a provisional response (early media). */
  readonly sdp?: string;
}

/** An established dialog, on either side of the B2BUA. */
export interface Leg {
  readonly callId: string;
  /** The far end's current SDP. */
  readonly remoteSdp: string;
  readonly userAgent?: string;
  /** The dialog's identity, enough for any process to end it with a BYE (call records, engine loss). */
  readonly dialog?: LegRecord;
  /** Sends BYE (idempotent; a leg already gone resolves at once). */
  hangup(): Promise<void>;
  /** re-INVITE with `sdp`; resolves with the far end's answer. Optional for legs that cannot. */
  reoffer?(sdp: string, headers?: Readonly<Record<string, string>>): Promise<string>;
}

/** A blind transfer asked for by one side of a bridged call (REFER). */
export interface TransferRequest {
  /** The side that sent the REFER (the transferor). */
  readonly from: 'caller' | 'callee';
  /** User part of the Refer-To URI: what to dial. */
  readonly target: string;
  /** The other side, who stays and is connected to the target. */
  readonly transferee: Leg;
}

/** SIP dialog identifiers, tags as Kumo sees them. */
export interface DialogKey {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
}

/** Who a party is, as phones show it (From / P-Asserted-Identity user and display name). */
export interface PartyIdentity {
  readonly user: string;
  readonly displayName?: string;
}

/** A display name as a quoted string (quotes and backslashes dropped). */
export function quoteName(name: string): string {
  return `"${name.replace(/["\\]/g, '')}"`;
}

/** `"Name" <sip:user@domain>`: a party as From or P-Asserted-Identity names it. */
export function identityUri(p: PartyIdentity, domain: string): string {
  return `${p.displayName !== undefined ? `${quoteName(p.displayName)} ` : ''}<sip:${p.user}@${domain}>`;
}

/** One leg of a live bridge, findable by its dialog (attended transfer). */
export interface BridgedLeg {
  readonly key: DialogKey;
  /** Who is on the other leg of this bridge: the party a Replaces of this leg joins (when known). */
  readonly peer?: PartyIdentity;
  /**
   * Takes the leg's bridge apart for an attended transfer: the bridge ends (its call's CDR
   * says the side of this leg hung up) without hanging anything up; returns this leg (to be
   * released by the caller) and the other one (to be joined). Undefined once the bridge ended
   * or is busy with a transfer.
   */
  takeOver(): { replaced: Leg; other: Leg } | undefined | Promise<{ replaced: Leg; other: Leg } | undefined>;
}

export type DialogFind = { kind: 'found'; leg: BridgedLeg } | { kind: 'other-tenant' } | { kind: 'none' };

/** Bridged legs of one tenant (call/dialogs.ts). */
export interface DialogRegistry {
  /** Registers both legs of a bridge; returns the function that removes them. */
  add(a: BridgedLeg, b: BridgedLeg): () => void;
  /** A leg of this worker (at once) or of another (pickup.ts: through Redis and the relay). */
  find(r: { callId: string; toTag: string; fromTag: string }): DialogFind | Promise<DialogFind>;
}

/** An attended transfer (REFER with Replaces) asked for by one side of a bridged call. */
export interface AttendedRequest {
  readonly from: 'caller' | 'callee';
  /** User part of the Refer-To URI (for the joined call's CDR). */
  readonly target: string;
  readonly transferee: Leg;
  /** Who the transferee is joined to: the other party of the replaced call (when known). */
  readonly joinedParty?: PartyIdentity;
  /**
   * Takes the replaced call over and connects the transferee to its other party (re-INVITEs
   * both with each other's SDP; `headers` ride on them: each party's connected identity, RFC
   * 4916-style). On failure both are hung up.
   */
  join(headers?: {
    readonly transferee?: Readonly<Record<string, string>>;
    readonly other?: Readonly<Record<string, string>>;
  }): Promise<{ ok: true; other: Leg } | { ok: false; status: number; reason: string }>;
}

export type AttendedHandler = (t: AttendedRequest) => Promise<{ ok: true } | { ok: false; status: number; reason: string }>;

/** Optional bridge features beyond blind transfer. */
export interface BridgeOptions {
  /** Where the bridged legs are registered, and Replaces targets found. */
  readonly dialogs?: DialogRegistry;
  /** Without it REFER with Replaces is answered 501. */
  readonly attended?: AttendedHandler;
  /** The system ends the call (drain, engine loss, keep-alive, maximum duration): the bridge ends, both legs get a BYE. */
  readonly control?: SystemEnd;
  /** In-dialog OPTIONS to each leg this often; a 408/481 or no answer ends the call (`keepalive-timeout`). 0/undefined: off. */
  readonly keepAliveMs?: number;
  /** Who is on each leg (a later attended transfer tells the joined parties who they talk to). */
  readonly parties?: { readonly caller?: PartyIdentity; readonly callee?: PartyIdentity };
}

/** The part of a call's control the bridge and the session use (call/registry.ts). */
export interface SystemEnd {
  readonly endCause: EndCause | undefined;
  onEnd(cb: (cause: EndCause) => void): () => void;
  end(cause: EndCause): void;
}

/** Resolves once the transfer target answered (`ok`) or failed; the transferred call goes on. */
export type TransferHandler = (t: TransferRequest) => Promise<{ ok: true } | { ok: false; status: number; reason: string }>;

export type DialOutcome = { readonly kind: 'answered'; readonly leg: Leg } | { readonly kind: 'failed'; readonly failure: AttemptFailure };

/**
 * Why a ringing fork is cancelled, when the phone should know: `answered-elsewhere` puts
 * `Reason: SIP;cause=200;text="Call completed elsewhere"` (RFC 3326) on the CANCEL, so phones that
 * lost a ring race (ring group, several devices, pickup) do not log a missed call.
 */
export type CancelReason = 'answered-elsewhere';

export const CANCEL_REASON_HEADER: Readonly<Record<CancelReason, string>> = {
  'answered-elsewhere': 'SIP;cause=200;text="Call completed elsewhere"',
};

export interface PendingDial {
  readonly outcome: Promise<DialOutcome>;
  /**
   * Stop this attempt: CANCEL while it rings; if it answers anyway (a 200 crossing the
   * CANCEL), the answered leg is hung up. Idempotent.
   */
  cancel(reason?: CancelReason): void;
}

/** The caller's INVITE, until it is answered or rejected. */
export interface InboundInvite {
  readonly callId: string;
  readonly fromTag: string;
  readonly sdp: string;
  readonly userAgent?: string;
  /** 180/183 to the caller (183 with SDP: early media). */
  progress(status: 180 | 183, sdp?: string): void;
  /** 200 OK with `sdp` (and `headers`, e.g. the connected party's P-Asserted-Identity); resolves with the caller's dialog. Rejects when the caller is gone. */
  answer(sdp: string, headers?: Readonly<Record<string, string>>): Promise<Leg>;
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
  bridge(caller: Leg, callee: Leg, onTransfer?: TransferHandler, opts?: BridgeOptions): Promise<HangupBy>;
  now(): number;
  /** Returns a function that clears the timer. */
  setTimer(ms: number, cb: () => void): () => void;
}
