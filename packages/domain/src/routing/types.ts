/**
 * What `planRoute` reads: a read-only view of one tenant's routing configuration (the
 * provisioning records themselves, or only the fields routing uses) and the live state
 * (registrations, who is in a call, hunt cursors). The sip app loads just the records a
 * call needs (see `numbersReferencedBy`); tests build views by hand.
 */
import type {
  DidTarget,
  Extension,
  Gateway,
  NumberingPlan,
  PickupGroup,
  RingGroup,
  RingStrategy,
  Transport,
  TrunkRecord,
} from '../provisioning/types.js';

/** An extension as routing needs it; a full `Extension`/`ExtensionRecord` fits. */
export type ExtensionView = Pick<Extension, 'number'> &
  Partial<
    Pick<
      Extension,
      'displayName' | 'permissionClass' | 'callerIdPresentation' | 'outboundCallerId' | 'department' | 'noAnswerTimeoutSec' | 'forwarding'
    >
  >;

/** A ring group as routing needs it; a full `RingGroup` fits. */
export type RingGroupView = Pick<RingGroup, 'number' | 'strategy' | 'members' | 'totalTimeoutSec'> & Partial<Pick<RingGroup, 'name' | 'overflow'>>;

export type PickupGroupView = Pick<PickupGroup, 'id' | 'members'>;

/** A trunk as routing needs it; a `TrunkRecord` fits. */
export type TrunkView = Pick<TrunkRecord, 'id' | 'gateways' | 'numberFormat'> &
  Partial<Pick<TrunkRecord, 'name' | 'callerId' | 'emergency' | 'roles' | 'channelLimit' | 'callerName' | 'callerNameFixed'>>;

export type GatewayView = Gateway;
export type HuntStrategy = RingStrategy;
export type SipTransport = Transport | 'ws' | 'wss';

export interface TenantRoutingView {
  readonly id: string;
  /** Outside-line prefix and feature codes; default DEFAULT_NUMBERING_PLAN. */
  readonly numbering?: Partial<Pick<NumberingPlan, 'outsideLinePrefix' | 'featureCodes'>>;
  /** Extensions by number: at least the caller and every extension the call may reach. */
  readonly extensions: ReadonlyMap<string, ExtensionView>;
  readonly groups: ReadonlyMap<string, RingGroupView>;
  /** Pickup groups (at least those of the caller). */
  readonly pickupGroups?: readonly PickupGroupView[];
  /** Every trunk of the tenant, in id order (the store's order). */
  readonly trunks: readonly TrunkView[];
  /** Inbound DIDs (E.164) → target; at least the dialled one. */
  readonly dids: ReadonlyMap<string, DidTarget>;
  /** Trunk gateways found down by OPTIONS pings (`gatewayIdentity`): skipped by ordinary calls, tried last by emergency calls. */
  readonly downGateways?: ReadonlySet<string>;
}

/** One registered device: where to send the INVITE (the address it registered from). */
export interface ContactView {
  /** Contact URI as registered. */
  readonly uri: string;
  /** Source address the REGISTER came from (NAT-safe target). */
  readonly source?: { readonly address: string; readonly port: number; readonly transport: SipTransport };
  readonly userAgent?: string;
  readonly instanceId?: string;
  /** RFC 5626 `reg-id`: the device keeps its own flow alive and re-registers it; its Contact is not dialled directly. */
  readonly regId?: number;
  /** RFC 3327 Path recorded by a trusted edge proxy: the Route set of requests to this device (first entry = next hop). */
  readonly path?: readonly string[];
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

export interface PlanOptions {
  readonly hunt?: HuntStateView;
  /** Seconds to wait for a provisional answer from a trunk gateway before the next; default 5. */
  readonly trunkSetupTimeoutSec?: number;
}

export type RouteCaller =
  | { readonly kind: 'extension'; readonly extension: string }
  /** A call from a carrier: `number` is the From/PAI user as received. */
  | { readonly kind: 'trunk'; readonly trunkId: string; readonly number: string; readonly displayName?: string };
