/**
 * Provisioning data model: what a tenant admin or an operator configures through the API
 * and what the SIP side reads back from Redis. Pure types; validation is in `validate.ts`.
 *
 * Secrets: an extension's SIP password is never stored. Only the digest HA1 values
 * (`H(user:realm:password)` for MD5 and SHA-256, realm = the tenant's SIP domain, user =
 * the extension number) are kept, in `ExtensionRecord`, and the API never returns them.
 */

export const TENANT_STATUSES = ['active', 'suspended', 'terminated'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/**
 * 0 = no restriction … 3 = strictest (disasters). What each level blocks is decided by
 * call admission (see docs/admission.md); provisioning only stores the level.
 */
export type RestrictionLevel = 0 | 1 | 2 | 3;
export const MAX_RESTRICTION_LEVEL = 3;

/**
 * Digest algorithms a tenant's (or one extension's) phones may authenticate with: `sha-256,md5`
 * (SHA-256 offered first, MD5 for phones that cannot), `sha-256` (no MD5 at all) or `md5`.
 * Unset: the tenant's setting, then the server's (KUMO_SIP_DIGEST_ALGORITHMS). See docs/interop.md.
 */
export const DIGEST_POLICIES = ['sha-256,md5', 'sha-256', 'md5'] as const;
export type DigestPolicy = (typeof DIGEST_POLICIES)[number];

/** The service contract of a tenant. */
export interface Contract {
  /** Provisioned extensions may never exceed this: 100–20,000. */
  readonly ports: number;
  /** Simultaneous calls over trunks (all trunks together). */
  readonly trunkChannels: number;
  /** New calls per second the tenant may start. */
  readonly callsPerSecond: number;
}

export interface Tenant extends Contract {
  /** Slug: `[a-z0-9][a-z0-9-]{1,31}`; part of every Redis key of the tenant. */
  readonly id: string;
  readonly name: string;
  /** SIP domain and digest realm; unique across tenants; lower case; fixed after creation. */
  readonly sipDomain: string;
  readonly status: TenantStatus;
  readonly restrictionLevel: RestrictionLevel;
  readonly notes: string;
  /** Digest policy of the tenant's phones; unset = the server's. */
  readonly digestAlgorithms?: DigestPolicy;
  /** Longest an answered call of the tenant may last, seconds (docs/reliability.md); unset = the platform's `KUMO_SIP_MAX_CALL_S`. */
  readonly maxCallSeconds?: number;
  /** ISO-8601 UTC. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const PERMISSION_CLASSES = ['internal', 'national', 'mobile', 'international'] as const;
/** Outbound permission, each class including the ones before it. */
export type PermissionClass = (typeof PERMISSION_CLASSES)[number];

export const CALLER_ID_PRESENTATIONS = ['allowed', 'restricted'] as const;
/** `restricted` = withhold the caller ID on outside calls (like dialling 184). */
export type CallerIdPresentation = (typeof CALLER_ID_PRESENTATIONS)[number];

/** The phone on the desk, for the equipment ledger (設備原簿). */
export interface Device {
  /** Lower case, colon separated: `00:11:22:aa:bb:cc`. */
  readonly mac?: string;
  readonly model?: string;
  readonly location?: string;
}

/** Dial strings (extension, group or outside number with the outside-line prefix). */
export interface Forwarding {
  readonly unconditional?: string;
  readonly busy?: string;
  readonly noAnswer?: string;
}

/** An extension as the API shows it (no secrets). The SIP user name is the number. */
export interface Extension {
  readonly number: string;
  readonly displayName: string;
  readonly permissionClass: PermissionClass;
  readonly callerIdPresentation: CallerIdPresentation;
  /** E.164 number presented on outside calls; unset = the trunk's representative number. */
  readonly outboundCallerId?: string;
  readonly device: Device;
  readonly department: string;
  /** Seconds the extension rings before no-answer forwarding / the next step. Default 30. */
  readonly noAnswerTimeoutSec: number;
  readonly forwarding: Forwarding;
  /** Digest policy of this extension's phones; unset = the tenant's. */
  readonly digestAlgorithms?: DigestPolicy;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What Redis holds: the extension plus its digest HA1 values (hex). Never leaves the store/sip side. */
export interface ExtensionRecord extends Extension {
  readonly ha1Md5: string;
  readonly ha1Sha256: string;
}

export const RING_STRATEGIES = ['ring-all', 'sequential', 'round-robin', 'longest-idle'] as const;
export type RingStrategy = (typeof RING_STRATEGIES)[number];

export interface RingGroupMember {
  readonly extension: string;
  /** Seconds this member rings in sequential / round-robin / longest-idle hunting. */
  readonly timeoutSec: number;
}

export interface RingGroup {
  readonly number: string;
  readonly name: string;
  readonly strategy: RingStrategy;
  /** In hunt order. Members that no longer exist are skipped at call time. */
  readonly members: readonly RingGroupMember[];
  /** Seconds before the call overflows (or fails when no overflow is set). */
  readonly totalTimeoutSec: number;
  /** Dial string the call goes to on total timeout / all busy. */
  readonly overflow?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Extensions that may pick up each other's ringing calls with the pickup feature code. */
export interface PickupGroup {
  /** Slug, unique in the tenant. */
  readonly id: string;
  readonly name: string;
  readonly members: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export interface Gateway {
  /** IPv4/IPv6 literal or host name. Inbound trunk identification matches IP literals only. */
  readonly host: string;
  readonly port: number;
  readonly transport: Transport;
  /** Lower first. Equal priorities share load. */
  readonly priority: number;
}

/** A gateway's identity: transport, host, port (inbound identification, health state). */
export function gatewayIdentity(g: Pick<Gateway, 'host' | 'port' | 'transport'>): string {
  return `${g.transport}|${g.host}|${g.port}`;
}

/** Outbound REGISTER to the carrier. The password is needed in clear to answer challenges. */
export interface TrunkRegistration {
  readonly username: string;
  readonly password: string;
  /** Defaults to the first gateway's host. */
  readonly realm?: string;
  readonly expiresSec: number;
}

/**
 * What a trunk carries: `ordinary` outside calls, `emergency` calls (110/118/119), or both.
 * Ordinary calls use the trunks with the `ordinary` role; emergency calls the `emergency` ones
 * first and then every other trunk, so an emergency call is never refused while any trunk exists.
 */
export const TRUNK_ROLES = ['ordinary', 'emergency'] as const;
export type TrunkRole = (typeof TRUNK_ROLES)[number];

/** A trunk's roles; records written before roles existed have only the `emergency` flag (ordinary + emergency). */
export function trunkRoles(t: { readonly roles?: readonly TrunkRole[] | undefined; readonly emergency?: boolean | undefined }): readonly TrunkRole[] {
  if (t.roles !== undefined && t.roles.length > 0) return t.roles;
  return t.emergency === true ? ['ordinary', 'emergency'] : ['ordinary'];
}

export const NUMBER_FORMATS = ['e164', 'national'] as const;
/** How the called/calling numbers are sent to the carrier: `+81312345678` or `0312345678`. */
export type NumberFormat = (typeof NUMBER_FORMATS)[number];

export const CALLER_NAME_MODES = ['none', 'extension', 'fixed'] as const;
/**
 * The display name sent to the carrier in From on outbound calls: `none` (number only, the
 * default — internal names stay inside), `extension` (the calling extension's display name),
 * `fixed` (the trunk's `callerNameFixed`, e.g. the company name).
 */
export type CallerNameMode = (typeof CALLER_NAME_MODES)[number];

/** What Redis holds for a trunk (including the registration password: sip needs it). */
export interface TrunkRecord {
  /** Slug, unique in the tenant. */
  readonly id: string;
  readonly name: string;
  readonly gateways: readonly Gateway[];
  readonly registration?: TrunkRegistration;
  /** Simultaneous calls on this trunk; at most the contract's trunkChannels. */
  readonly channelLimit: number;
  readonly numberFormat: NumberFormat;
  /** Representative caller ID (代表番号), E.164. */
  readonly callerId?: string;
  /** What the trunk carries (see TRUNK_ROLES). */
  readonly roles?: readonly TrunkRole[];
  /** Derived from `roles` (it includes `emergency`); kept for readers of older records and exports. */
  readonly emergency: boolean;
  /** Display name in From on outbound calls; absent (older records) = `none`. */
  readonly callerName?: CallerNameMode;
  /** The name sent when `callerName` is `fixed`. */
  readonly callerNameFixed?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const DID_TARGET_TYPES = ['extension', 'ringGroup'] as const;
export type DidTargetType = (typeof DID_TARGET_TYPES)[number];

export interface DidTarget {
  readonly type: DidTargetType;
  readonly number: string;
}

/** An inbound public number (ダイヤルイン) routed to an extension or ring group. */
export interface Did {
  /** E.164, `+81…`. National input (`03…`) is normalised on the way in. */
  readonly number: string;
  readonly target: DidTarget;
  readonly description: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Known feature codes. `directedPickup` is a prefix: `**1001` picks up 1001's call. */
export interface FeatureCodes {
  readonly pickup: string;
  readonly directedPickup: string;
}

export interface NumberingPlan {
  /** Digits in an extension number: 2–8. Ring group numbers may have another length. */
  readonly extensionLength: number;
  /** Outside-line prefix (外線発信番号), `0` by default; `''` = none. Extensions may not start with it. */
  readonly outsideLinePrefix: string;
  readonly featureCodes: FeatureCodes;
}

/** Numbers no extension, group or feature code may take (police, coast guard, fire/ambulance). */
export const EMERGENCY_NUMBERS = ['110', '118', '119'] as const;

export const DEFAULT_NUMBERING_PLAN: NumberingPlan = {
  extensionLength: 4,
  outsideLinePrefix: '0',
  featureCodes: { pickup: '*8', directedPickup: '**' },
};

/** Kinds of numbers that share one number space in a tenant. */
export type NumberKind = 'extension' | 'ringGroup' | 'feature';
