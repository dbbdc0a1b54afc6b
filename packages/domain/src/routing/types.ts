/**
 * What `planRoute` reads: a read-only view of one tenant's routing configuration and of
 * the live state (registrations, who is in a call, hunt cursors). The sip app builds these
 * views from the store; tests build them by hand.
 */
import type { PermissionClass } from './permissions.js';
import type { TrunkNumberFormat } from './numbering.js';

export type HuntStrategy = 'ring-all' | 'sequential' | 'round-robin' | 'longest-idle';
export type CallerIdPolicy = 'present' | 'withhold';

/** Call forwarding targets are dial strings, exactly as the extension would dial them. */
export interface ForwardingView {
  readonly unconditional?: string;
  readonly busy?: string;
  /** Also used when no device of the extension is registered. */
  readonly noAnswer?: string;
}

export interface ExtensionView {
  readonly number: string;
  readonly displayName?: string;
  readonly permission?: PermissionClass;
  /** E.164 DID presented as caller ID on outside calls instead of the tenant's representative number. */
  readonly did?: string;
  readonly callerId?: CallerIdPolicy;
  /** Seconds to ring before no-answer; default 30. */
  readonly noAnswerTimeoutSec?: number;
  readonly forwarding?: ForwardingView;
  readonly pickupGroup?: string;
  readonly department?: string;
}

export interface RingGroupView {
  readonly number: string;
  readonly name?: string;
  readonly strategy: HuntStrategy;
  /** Extension numbers in configured order. */
  readonly members: readonly string[];
  /** Seconds each member rings (sequential, round-robin, longest-idle); default 15. */
  readonly memberTimeoutSec?: number;
  /** Seconds the whole group may ring; default 60. */
  readonly totalTimeoutSec?: number;
  /** Dial string to go to when nobody answers, everybody is busy or nobody is registered. */
  readonly overflow?: string;
}

export type SipTransport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

export interface GatewayView {
  readonly id: string;
  readonly host: string;
  readonly port?: number;
  readonly transport?: SipTransport;
  /** Lower is tried first (like DNS SRV). */
  readonly priority: number;
}

export interface TrunkView {
  readonly id: string;
  readonly name?: string;
  readonly numberFormat: TrunkNumberFormat;
  readonly gateways: readonly GatewayView[];
  /** Seconds to wait for a provisional answer from a gateway before trying the next one; default 5. */
  readonly setupTimeoutSec?: number;
  /** Simultaneous calls (both directions); enforced by the call's channel accounting, not by the plan. */
  readonly channels?: number;
}

export interface TenantRoutingView {
  readonly id: string;
  /** Default `0`. */
  readonly outsidePrefix?: string;
  /** E.164 number presented on outside calls when the extension has no DID. */
  readonly representativeNumber?: string;
  readonly defaultPermission?: PermissionClass;
  readonly defaultCallerId?: CallerIdPolicy;
  /** Trunk for outside calls. */
  readonly outboundTrunkId?: string;
  /** Trunk for 110/118/119; falls back to the outbound trunk. */
  readonly emergencyTrunkId?: string;
  readonly extensions: ReadonlyMap<string, ExtensionView>;
  readonly groups: ReadonlyMap<string, RingGroupView>;
  readonly trunks: ReadonlyMap<string, TrunkView>;
  /** Inbound DIDs: E.164 → extension or group number. */
  readonly dids: ReadonlyMap<string, string>;
}

/** One registered device: where to send the INVITE (the address it registered from). */
export interface ContactView {
  /** Contact URI as registered. */
  readonly uri: string;
  /** Source address the REGISTER came from (NAT-safe target). */
  readonly source?: { readonly address: string; readonly port: number; readonly transport: SipTransport };
  readonly userAgent?: string;
  readonly instanceId?: string;
}

/** Extension number → its registered devices. */
export type RegistrationsView = ReadonlyMap<string, readonly ContactView[]>;

/** Live facts the hunt strategies use; all optional. */
export interface HuntStateView {
  /** Extensions currently in a call. */
  readonly busy?: ReadonlySet<string>;
  /** Extension → epoch ms its last call ended (missing: never called, the longest idle). */
  readonly idleSince?: ReadonlyMap<string, number>;
  /** Group number → member who took the group's last call. */
  readonly lastAnswered?: ReadonlyMap<string, string>;
}

export type RouteCaller =
  | { readonly kind: 'extension'; readonly extension: string }
  /** A call from a carrier: `number` is the From/PAI user as received. */
  | { readonly kind: 'trunk'; readonly trunkId: string; readonly number: string; readonly displayName?: string };
