/**
 * Pure validators for provisioning input. Each returns either the normalised value (defaults
 * applied, strings trimmed, numbers canonical) or every problem found, so an API can answer
 * one 400 listing them all. Shape checks (types, unknown fields) are the API's JSON schemas;
 * these check meaning: ranges, formats, and rules between fields.
 */
import {
  CALLER_ID_PRESENTATIONS,
  CALLER_NAME_MODES,
  DIGEST_POLICIES,
  type DigestPolicy,
  DEFAULT_NUMBERING_PLAN,
  DID_TARGET_TYPES,
  EMERGENCY_NUMBERS,
  MAX_RESTRICTION_LEVEL,
  NUMBER_FORMATS,
  PERMISSION_CLASSES,
  RING_STRATEGIES,
  TENANT_STATUSES,
  TRANSPORTS,
  TRUNK_ROLES,
  trunkRoles,
  type TrunkRole,
  type CallerIdPresentation,
  type CallerNameMode,
  type Contract,
  type Device,
  type DidTarget,
  type FeatureCodes,
  type Forwarding,
  type Gateway,
  type NumberingPlan,
  type PermissionClass,
  type RestrictionLevel,
  type RingGroupMember,
  type RingStrategy,
  type TenantStatus,
  type TrunkRegistration,
  type NumberFormat,
} from './types.js';

export interface Problem {
  /** JSON-pointer-like path of the offending field, e.g. `members/2/extension`. */
  readonly field: string;
  readonly message: string;
}

export type Validation<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly Problem[] };

export const CONTRACT_LIMITS = {
  ports: { min: 100, max: 20_000 },
  trunkChannels: { min: 0, max: 20_000 },
  callsPerSecond: { min: 1, max: 1_000 },
} as const;

const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,31}$/;
const SLUG = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/;
const DIGITS = /^[0-9]+$/;
const DIAL_STRING = /^\+?[0-9*#]{1,32}$/;
const FEATURE_CODE = /^[*#0-9]{1,6}$/;
const E164 = /^\+[1-9][0-9]{6,14}$/;
const MAC = /^(?:[0-9a-f]{2}[:-]?){5}[0-9a-f]{2}$/i;
const HOSTNAME = /^(?=.{1,253}$)(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$/;

/** Collects problems while a validator walks its input. */
class Checker {
  readonly problems: Problem[] = [];
  fail(field: string, message: string): void {
    this.problems.push({ field, message });
  }
  intIn(field: string, v: number | undefined, min: number, max: number): void {
    if (v === undefined) return;
    if (!Number.isInteger(v) || v < min || v > max) this.fail(field, `must be an integer between ${min} and ${max}`);
  }
  text(field: string, v: string, max: number, opts?: { required?: boolean }): string;
  text(field: string, v: string | undefined, max: number, opts?: { required?: boolean }): string | undefined;
  text(field: string, v: string | undefined, max: number, opts: { required?: boolean } = {}): string | undefined {
    if (v === undefined) return undefined;
    const t = v.trim();
    if (opts.required === true && t.length === 0) this.fail(field, 'must not be empty');
    else if (t.length > max) this.fail(field, `must be at most ${max} characters`);
    else if (/[\u0000-\u001f\u007f]/.test(t)) this.fail(field, 'must not contain control characters');
    return t;
  }
  oneOf<T extends string>(field: string, v: string | undefined, values: readonly T[]): void {
    if (v !== undefined && !(values as readonly string[]).includes(v)) this.fail(field, `must be one of ${values.join(', ')}`);
  }
  done<T>(value: T): Validation<T> {
    return this.problems.length === 0 ? { ok: true, value } : { ok: false, problems: this.problems };
  }
}

// ---- small predicates ---------------------------------------------------------------------

export function isTenantId(s: string): boolean {
  return TENANT_ID.test(s);
}
export function isSlug(s: string): boolean {
  return SLUG.test(s);
}
export function isSipDomain(s: string): boolean {
  return DOMAIN.test(s);
}
export function isE164(s: string): boolean {
  return E164.test(s);
}
export function isEmergencyNumber(s: string): boolean {
  return (EMERGENCY_NUMBERS as readonly string[]).includes(s);
}
export function isIpLiteral(s: string): boolean {
  return IPV4.test(s) || (IPV6.test(s) && s.split(':').length >= 3);
}
/** Canonical form of an IP literal for index keys (lower case; IPv4 as is). Host names: lower case. */
export function canonicalHost(s: string): string {
  return s.trim().toLowerCase().replace(/^\[|\]$/g, '');
}
/** `00-11-22-AA-BB-CC`, `001122aabbcc` … → `00:11:22:aa:bb:cc`. */
export function canonicalMac(s: string): string {
  const hex = s.toLowerCase().replace(/[^0-9a-f]/g, '');
  return hex.match(/.{2}/g)?.join(':') ?? hex;
}

/**
 * Normalises a Japanese public number to E.164. Accepts `+81312345678`, `81312345678`
 * is NOT accepted (ambiguous); national `0312345678`, `050…`, `0120…`; international
 * `010<cc>…`. Separators (space, `-`, `(`, `)`) are ignored. Returns undefined when the
 * input is not a public number.
 */
export function normalizeE164(input: string, countryCode = '81'): string | undefined {
  const s = input.trim().replace(/[\s\-()]/g, '');
  let out: string | undefined;
  if (s.startsWith('+')) out = s;
  else if (s.startsWith('010')) out = `+${s.slice(3)}`;
  else if (s.startsWith('0') && !s.startsWith('00')) out = `+${countryCode}${s.slice(1)}`;
  return out !== undefined && E164.test(out) ? out : undefined;
}

/** The digest A1 input `user:realm:password`; hashing (MD5, SHA-256) is done by the caller. */
export function digestA1Input(user: string, realm: string, password: string): string {
  return `${user}:${realm}:${password}`;
}

// ---- tenant -------------------------------------------------------------------------------

export interface TenantCreateInput {
  readonly id: string;
  readonly name: string;
  readonly sipDomain: string;
  readonly ports: number;
  readonly trunkChannels: number;
  readonly callsPerSecond: number;
  readonly status?: TenantStatus;
  readonly restrictionLevel?: number;
  readonly notes?: string;
  readonly digestAlgorithms?: DigestPolicy;
  readonly maxCallSeconds?: number;
}

export interface TenantValue extends Contract {
  readonly id: string;
  readonly name: string;
  readonly sipDomain: string;
  readonly status: TenantStatus;
  readonly restrictionLevel: RestrictionLevel;
  readonly notes: string;
  readonly digestAlgorithms?: DigestPolicy;
  readonly maxCallSeconds?: number;
}

/** A tenant's maximum call duration: one minute to one week (0 in a PATCH: back to the platform's). */
export const MAX_CALL_SECONDS = { min: 60, max: 604_800 } as const;

/** The maximum duration of a tenant's answered calls, ms: its own when set, else the platform's (undefined: none). */
export function maxCallMsFor(tenant: { readonly maxCallSeconds?: number }, platformMs: number | undefined): number | undefined {
  return tenant.maxCallSeconds !== undefined && tenant.maxCallSeconds > 0 ? tenant.maxCallSeconds * 1000 : platformMs;
}

function checkContract(c: Checker, v: Partial<Contract>): void {
  c.intIn('ports', v.ports, CONTRACT_LIMITS.ports.min, CONTRACT_LIMITS.ports.max);
  c.intIn('trunkChannels', v.trunkChannels, CONTRACT_LIMITS.trunkChannels.min, CONTRACT_LIMITS.trunkChannels.max);
  c.intIn('callsPerSecond', v.callsPerSecond, CONTRACT_LIMITS.callsPerSecond.min, CONTRACT_LIMITS.callsPerSecond.max);
}

/**
 * Rules between contract fields, on the contract as it will be after a create or PATCH:
 * a tenant cannot have more simultaneous trunk calls than extensions (ports).
 */
export function contractProblems(v: Contract): Problem[] {
  const out: Problem[] = [];
  if (Number.isInteger(v.trunkChannels) && Number.isInteger(v.ports) && v.trunkChannels > v.ports) {
    out.push({ field: 'trunkChannels', message: `must not exceed ports (${v.ports})` });
  }
  return out;
}

export function validateTenantCreate(v: TenantCreateInput): Validation<TenantValue> {
  const c = new Checker();
  if (!TENANT_ID.test(v.id)) c.fail('id', 'must be 2–32 characters of a-z, 0-9 and -, starting with a letter or digit');
  const name = c.text('name', v.name, 200, { required: true }) ?? '';
  const sipDomain = v.sipDomain.trim().toLowerCase();
  if (!DOMAIN.test(sipDomain)) c.fail('sipDomain', 'must be a DNS domain name such as pbx.example.jp');
  checkContract(c, v);
  if (c.problems.length === 0) for (const p of contractProblems(v)) c.fail(p.field, p.message);
  c.oneOf('status', v.status, TENANT_STATUSES);
  if (v.status === 'terminated') c.fail('status', 'a tenant cannot be created terminated');
  c.intIn('restrictionLevel', v.restrictionLevel, 0, MAX_RESTRICTION_LEVEL);
  const notes = c.text('notes', v.notes, 2000) ?? '';
  c.oneOf('digestAlgorithms', v.digestAlgorithms, DIGEST_POLICIES);
  c.intIn('maxCallSeconds', v.maxCallSeconds, MAX_CALL_SECONDS.min, MAX_CALL_SECONDS.max);
  return c.done({
    id: v.id,
    name,
    sipDomain,
    ports: v.ports,
    trunkChannels: v.trunkChannels,
    callsPerSecond: v.callsPerSecond,
    status: v.status ?? 'active',
    restrictionLevel: (v.restrictionLevel ?? 0) as RestrictionLevel,
    notes,
    ...(v.digestAlgorithms !== undefined ? { digestAlgorithms: v.digestAlgorithms } : {}),
    ...(v.maxCallSeconds !== undefined ? { maxCallSeconds: v.maxCallSeconds } : {}),
  });
}

/** What an operator may change on a tenant with PATCH (status has its own actions). */
export interface TenantPatch {
  readonly name?: string;
  readonly ports?: number;
  readonly trunkChannels?: number;
  readonly callsPerSecond?: number;
  readonly restrictionLevel?: number;
  readonly notes?: string;
  /** '' = back to the server's policy. */
  readonly digestAlgorithms?: DigestPolicy | '';
  /** 0 = back to the platform's maximum. */
  readonly maxCallSeconds?: number;
}

export function validateTenantPatch(v: TenantPatch): Validation<TenantPatch> {
  const c = new Checker();
  const out: { -readonly [K in keyof TenantPatch]: TenantPatch[K] } = {};
  if (v.name !== undefined) out.name = c.text('name', v.name, 200, { required: true });
  checkContract(c, v);
  if (v.ports !== undefined) out.ports = v.ports;
  if (v.trunkChannels !== undefined) out.trunkChannels = v.trunkChannels;
  if (v.callsPerSecond !== undefined) out.callsPerSecond = v.callsPerSecond;
  c.intIn('restrictionLevel', v.restrictionLevel, 0, MAX_RESTRICTION_LEVEL);
  if (v.restrictionLevel !== undefined) out.restrictionLevel = v.restrictionLevel;
  if (v.notes !== undefined) out.notes = c.text('notes', v.notes, 2000);
  if (v.digestAlgorithms !== undefined && v.digestAlgorithms !== '') c.oneOf('digestAlgorithms', v.digestAlgorithms, DIGEST_POLICIES);
  if (v.digestAlgorithms !== undefined) out.digestAlgorithms = v.digestAlgorithms;
  if (v.maxCallSeconds !== undefined && v.maxCallSeconds !== 0) c.intIn('maxCallSeconds', v.maxCallSeconds, MAX_CALL_SECONDS.min, MAX_CALL_SECONDS.max);
  if (v.maxCallSeconds !== undefined) out.maxCallSeconds = v.maxCallSeconds;
  return c.done(out);
}

export function validateRestrictionLevel(level: number): Validation<RestrictionLevel> {
  const c = new Checker();
  c.intIn('level', level, 0, MAX_RESTRICTION_LEVEL);
  return c.done(level as RestrictionLevel);
}

// ---- numbers in the tenant number space ------------------------------------------------------

/**
 * Format problem of an extension / group number under `plan` (→ HTTP 400), or undefined.
 * Collisions with reserved numbers are `numberConflict`; with other numbers of the tenant,
 * the store's atomic checks.
 */
export function numberProblem(number: string, plan: NumberingPlan, kind: 'extension' | 'ringGroup'): string | undefined {
  if (!DIGITS.test(number)) return 'must be digits only';
  if (kind === 'extension' && number.length !== plan.extensionLength) {
    return `must have ${plan.extensionLength} digits (numbering plan)`;
  }
  if (kind === 'ringGroup' && (number.length < 2 || number.length > 8)) return 'must have 2–8 digits';
  return undefined;
}

/**
 * Why `number` collides with a number the plan reserves (emergency numbers, the outside-line
 * prefix, feature codes) (→ HTTP 409), or undefined.
 */
export function numberConflictReason(number: string, plan: NumberingPlan): 'emergency' | 'outsideLinePrefix' | 'featureCode' | undefined {
  if (isEmergencyNumber(number)) return 'emergency';
  if (plan.outsideLinePrefix !== '' && number.startsWith(plan.outsideLinePrefix)) return 'outsideLinePrefix';
  if (numberConflict(number, plan) !== undefined) return 'featureCode';
  return undefined;
}

export function numberConflict(number: string, plan: NumberingPlan): string | undefined {
  if (isEmergencyNumber(number)) return 'is an emergency number (110, 118, 119)';
  if (plan.outsideLinePrefix !== '' && number.startsWith(plan.outsideLinePrefix)) {
    return `starts with the outside-line prefix ${plan.outsideLinePrefix}`;
  }
  for (const [name, code] of featureCodeEntries(plan.featureCodes)) {
    if (number === code || (name === 'directedPickup' && number.startsWith(code))) return `collides with feature code ${name} (${code})`;
  }
  return undefined;
}

/** The feature code numbers a plan reserves in the tenant number space. */
export function reservedFeatureNumbers(plan: NumberingPlan): string[] {
  return featureCodeEntries(plan.featureCodes).map(([, code]) => code);
}

/** `[name, code]` pairs of a feature code table. */
export function featureCodeEntries(codes: FeatureCodes): [keyof FeatureCodes, string][] {
  return [
    ['pickup', codes.pickup],
    ['directedPickup', codes.directedPickup],
  ];
}

// ---- extension ------------------------------------------------------------------------------

export interface ExtensionInput {
  readonly number: string;
  readonly displayName: string;
  /** Clear text, only on the way in; 8–64 printable characters. Required on create. */
  readonly password?: string;
  readonly permissionClass?: PermissionClass;
  readonly callerIdPresentation?: CallerIdPresentation;
  readonly outboundCallerId?: string;
  readonly device?: Device;
  readonly department?: string;
  readonly noAnswerTimeoutSec?: number;
  readonly forwarding?: Forwarding;
  /** Unset (or '' in a PATCH): the tenant's policy. */
  readonly digestAlgorithms?: DigestPolicy | '';
}

export interface ExtensionValue {
  readonly number: string;
  readonly displayName: string;
  /** Absent on a replacement that keeps the stored digests. */
  readonly password?: string;
  readonly permissionClass: PermissionClass;
  readonly callerIdPresentation: CallerIdPresentation;
  readonly outboundCallerId?: string;
  readonly device: Device;
  readonly department: string;
  readonly noAnswerTimeoutSec: number;
  readonly forwarding: Forwarding;
  readonly digestAlgorithms?: DigestPolicy;
}

/** PATCH of an extension: any field but the number; a password replaces the HA1s. */
export type ExtensionPatch = Partial<Omit<ExtensionInput, 'number'>>;

export const DEFAULT_NO_ANSWER_TIMEOUT_SEC = 30;

function checkPassword(c: Checker, pw: string | undefined): void {
  if (pw === undefined) return;
  if (pw.length < 8 || pw.length > 64) c.fail('password', 'must be 8–64 characters');
  else if (!/^[\x21-\x7e]+$/.test(pw)) c.fail('password', 'must be printable ASCII without spaces');
}

function checkDevice(c: Checker, d: Device | undefined): Device {
  if (d === undefined) return {};
  const out: { -readonly [K in keyof Device]: Device[K] } = {};
  if (d.mac !== undefined && d.mac !== '') {
    if (!MAC.test(d.mac.trim())) c.fail('device/mac', 'must be a MAC address such as 00:11:22:aa:bb:cc');
    else out.mac = canonicalMac(d.mac);
  }
  const model = c.text('device/model', d.model, 100);
  if (model !== undefined && model !== '') out.model = model;
  const location = c.text('device/location', d.location, 200);
  if (location !== undefined && location !== '') out.location = location;
  return out;
}

function checkForwarding(c: Checker, f: Forwarding | undefined, self?: string): Forwarding {
  if (f === undefined) return {};
  const out: { -readonly [K in keyof Forwarding]: Forwarding[K] } = {};
  for (const k of ['unconditional', 'busy', 'noAnswer'] as const) {
    const t = f[k];
    if (t === undefined || t === '') continue;
    if (!DIAL_STRING.test(t)) c.fail(`forwarding/${k}`, 'must be a dial string (digits, *, #, optional leading +)');
    else if (isEmergencyNumber(t)) c.fail(`forwarding/${k}`, 'cannot forward to an emergency number');
    else if (t === self) c.fail(`forwarding/${k}`, 'cannot forward to itself');
    else out[k] = t;
  }
  return out;
}

function checkExtensionFields(c: Checker, v: ExtensionPatch): void {
  checkPassword(c, v.password);
  c.oneOf('permissionClass', v.permissionClass, PERMISSION_CLASSES);
  c.oneOf('callerIdPresentation', v.callerIdPresentation, CALLER_ID_PRESENTATIONS);
  if (v.outboundCallerId !== undefined && v.outboundCallerId !== '' && normalizeE164(v.outboundCallerId) === undefined) {
    c.fail('outboundCallerId', 'must be a public number (+81… or 0…)');
  }
  c.intIn('noAnswerTimeoutSec', v.noAnswerTimeoutSec, 5, 300);
  if (v.digestAlgorithms !== undefined && v.digestAlgorithms !== '') c.oneOf('digestAlgorithms', v.digestAlgorithms, DIGEST_POLICIES);
}

/**
 * A whole extension: a create (`password` required) or a replacement (PUT, or a PATCH merged
 * into the stored extension), where an absent password keeps the stored digests.
 */
export function validateExtension(
  v: ExtensionInput,
  plan: NumberingPlan = DEFAULT_NUMBERING_PLAN,
  opts: { readonly requirePassword?: boolean } = {},
): Validation<ExtensionValue> {
  const c = new Checker();
  const np = numberProblem(v.number, plan, 'extension');
  // A reserved number (110, 119, a feature code …) is a 409 NUMBER_RESERVED from the store, whatever its length.
  if (np !== undefined && numberConflict(v.number, plan) === undefined) c.fail('number', np);
  const displayName = c.text('displayName', v.displayName, 100, { required: true }) ?? '';
  if (v.password === undefined && opts.requirePassword !== false) c.fail('password', 'is required');
  checkExtensionFields(c, v);
  const device = checkDevice(c, v.device);
  const forwarding = checkForwarding(c, v.forwarding, v.number);
  const department = c.text('department', v.department, 100) ?? '';
  const outboundCallerId = v.outboundCallerId ? normalizeE164(v.outboundCallerId) : undefined;
  return c.done({
    number: v.number,
    displayName,
    ...(v.password !== undefined ? { password: v.password } : {}),
    permissionClass: v.permissionClass ?? 'national',
    callerIdPresentation: v.callerIdPresentation ?? 'allowed',
    ...(outboundCallerId !== undefined ? { outboundCallerId } : {}),
    device,
    department,
    noAnswerTimeoutSec: v.noAnswerTimeoutSec ?? DEFAULT_NO_ANSWER_TIMEOUT_SEC,
    forwarding,
    ...(v.digestAlgorithms !== undefined && v.digestAlgorithms !== '' ? { digestAlgorithms: v.digestAlgorithms } : {}),
  });
}

/** Validates a PATCH; returns the normalised patch (only the fields given). */
export function validateExtensionPatch(v: ExtensionPatch): Validation<ExtensionPatch> {
  const c = new Checker();
  const out: { -readonly [K in keyof ExtensionPatch]: ExtensionPatch[K] } = {};
  if (v.displayName !== undefined) out.displayName = c.text('displayName', v.displayName, 100, { required: true });
  checkExtensionFields(c, v);
  if (v.password !== undefined) out.password = v.password;
  if (v.permissionClass !== undefined) out.permissionClass = v.permissionClass;
  if (v.callerIdPresentation !== undefined) out.callerIdPresentation = v.callerIdPresentation;
  if (v.outboundCallerId !== undefined) out.outboundCallerId = v.outboundCallerId === '' ? '' : (normalizeE164(v.outboundCallerId) ?? '');
  if (v.device !== undefined) out.device = checkDevice(c, v.device);
  if (v.forwarding !== undefined) out.forwarding = checkForwarding(c, v.forwarding);
  if (v.department !== undefined) out.department = c.text('department', v.department, 100);
  if (v.noAnswerTimeoutSec !== undefined) out.noAnswerTimeoutSec = v.noAnswerTimeoutSec;
  if (v.digestAlgorithms !== undefined) out.digestAlgorithms = v.digestAlgorithms;
  return c.done(out);
}

// ---- ring group ------------------------------------------------------------------------------

export interface RingGroupInput {
  readonly number: string;
  readonly name: string;
  readonly strategy: RingStrategy;
  readonly members: readonly { readonly extension: string; readonly timeoutSec?: number }[];
  readonly totalTimeoutSec?: number;
  readonly overflow?: string;
}

export interface RingGroupValue {
  readonly number: string;
  readonly name: string;
  readonly strategy: RingStrategy;
  readonly members: readonly RingGroupMember[];
  readonly totalTimeoutSec: number;
  readonly overflow?: string;
}

export const MAX_RING_GROUP_MEMBERS = 100;

export function validateRingGroup(v: RingGroupInput, plan: NumberingPlan = DEFAULT_NUMBERING_PLAN): Validation<RingGroupValue> {
  const c = new Checker();
  const np = numberProblem(v.number, plan, 'ringGroup');
  if (np !== undefined && numberConflict(v.number, plan) === undefined) c.fail('number', np);
  const name = c.text('name', v.name, 100, { required: true }) ?? '';
  c.oneOf('strategy', v.strategy, RING_STRATEGIES);
  if (v.members.length === 0) c.fail('members', 'must have at least one member');
  if (v.members.length > MAX_RING_GROUP_MEMBERS) c.fail('members', `must have at most ${MAX_RING_GROUP_MEMBERS} members`);
  const seen = new Set<string>();
  const members: RingGroupMember[] = [];
  v.members.forEach((m, i) => {
    if (!DIGITS.test(m.extension)) c.fail(`members/${i}/extension`, 'must be an extension number');
    else if (seen.has(m.extension)) c.fail(`members/${i}/extension`, 'is listed twice');
    else if (m.extension === v.number) c.fail(`members/${i}/extension`, 'a group cannot contain itself');
    seen.add(m.extension);
    c.intIn(`members/${i}/timeoutSec`, m.timeoutSec, 5, 300);
    members.push({ extension: m.extension, timeoutSec: m.timeoutSec ?? 20 });
  });
  c.intIn('totalTimeoutSec', v.totalTimeoutSec, 5, 3600);
  if (v.overflow !== undefined && v.overflow !== '') {
    if (!DIAL_STRING.test(v.overflow)) c.fail('overflow', 'must be a dial string');
    else if (v.overflow === v.number) c.fail('overflow', 'cannot overflow to itself');
  }
  return c.done({
    number: v.number,
    name,
    strategy: v.strategy,
    members,
    totalTimeoutSec: v.totalTimeoutSec ?? 60,
    ...(v.overflow ? { overflow: v.overflow } : {}),
  });
}

// ---- pickup group ------------------------------------------------------------------------------

export interface PickupGroupInput {
  readonly id: string;
  readonly name: string;
  readonly members: readonly string[];
}

export function validatePickupGroup(v: PickupGroupInput): Validation<PickupGroupInput> {
  const c = new Checker();
  if (!SLUG.test(v.id)) c.fail('id', 'must be 1–32 characters of a-z, 0-9, _ and -');
  const name = c.text('name', v.name, 100, { required: true }) ?? '';
  if (v.members.length > 500) c.fail('members', 'must have at most 500 members');
  const seen = new Set<string>();
  v.members.forEach((m, i) => {
    if (!DIGITS.test(m)) c.fail(`members/${i}`, 'must be an extension number');
    else if (seen.has(m)) c.fail(`members/${i}`, 'is listed twice');
    seen.add(m);
  });
  return c.done({ id: v.id, name, members: [...v.members] });
}

// ---- trunk ------------------------------------------------------------------------------------

export interface TrunkInput {
  readonly id: string;
  readonly name: string;
  readonly gateways: readonly { host: string; port?: number; transport?: Gateway['transport']; priority?: number }[];
  readonly registration?: { username: string; password: string; realm?: string; expiresSec?: number };
  readonly channelLimit: number;
  readonly numberFormat?: NumberFormat;
  readonly callerId?: string;
  /** Default `['ordinary']`. */
  readonly roles?: readonly TrunkRole[];
  /** Deprecated: `true` without `roles` means `['ordinary', 'emergency']`. */
  readonly emergency?: boolean;
  readonly callerName?: CallerNameMode;
  readonly callerNameFixed?: string;
}

export interface TrunkValue {
  readonly id: string;
  readonly name: string;
  readonly gateways: readonly Gateway[];
  readonly registration?: TrunkRegistration;
  readonly channelLimit: number;
  readonly numberFormat: NumberFormat;
  readonly callerId?: string;
  readonly roles: readonly TrunkRole[];
  readonly emergency: boolean;
  readonly callerName: CallerNameMode;
  readonly callerNameFixed?: string;
}

/** An address Kumo itself listens on (SIP), so no trunk may point there. */
export interface OwnAddress {
  readonly host: string;
  readonly port: number;
}

const UNSPECIFIED = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

/**
 * Why a gateway host cannot be a carrier's address, or undefined. Hosts are taken exactly as
 * given (`" 1001"` is refused, not trimmed into a value); a host name needs a non-numeric
 * top-level label (RFC 1123 §2.1), so `1001` is neither a name nor an address; `localhost`
 * and the unspecified addresses are Kumo itself; so is any of Kumo's own SIP listen addresses
 * (host and port; a wildcard listener makes every loopback address on that port Kumo's).
 * Other loopback addresses on other ports are allowed (lab carriers such as sipp).
 */
export function gatewayHostProblem(raw: string, port: number, own: readonly OwnAddress[] = []): string | undefined {
  if (raw !== raw.trim() || raw.length === 0) return 'must not have leading or trailing spaces';
  const host = canonicalHost(raw);
  const ip = isIpLiteral(host);
  if (!ip && !HOSTNAME.test(host)) return 'must be an IP address or host name';
  if (!ip && /^[0-9]+$/.test(host.split('.').pop() ?? '')) return 'must be an IP address or a host name with a non-numeric top-level label';
  if (host === 'localhost' || host.endsWith('.localhost')) return "must not be localhost (Kumo's own address)";
  if (UNSPECIFIED.has(host)) return 'must not be an unspecified address';
  const loopback = host.startsWith('127.') || host === '::1';
  for (const o of own) {
    const oh = canonicalHost(o.host);
    if (o.port !== port) continue;
    if (oh === host || (UNSPECIFIED.has(oh) && loopback)) return `must not be Kumo's own SIP address (${o.host}:${o.port})`;
  }
  return undefined;
}

export function validateTrunk(
  v: TrunkInput,
  contract?: { readonly trunkChannels?: number; readonly ownAddresses?: readonly OwnAddress[] },
): Validation<TrunkValue> {
  const c = new Checker();
  if (!SLUG.test(v.id)) c.fail('id', 'must be 1–32 characters of a-z, 0-9, _ and -');
  const name = c.text('name', v.name, 100, { required: true }) ?? '';
  if (v.gateways.length === 0) c.fail('gateways', 'must have at least one gateway');
  if (v.gateways.length > 16) c.fail('gateways', 'must have at most 16 gateways');
  const seen = new Set<string>();
  const gateways: Gateway[] = v.gateways.map((g, i) => {
    const host = canonicalHost(g.host);
    c.intIn(`gateways/${i}/port`, g.port, 1, 65535);
    c.oneOf(`gateways/${i}/transport`, g.transport, TRANSPORTS);
    c.intIn(`gateways/${i}/priority`, g.priority, 0, 1000);
    const transport = g.transport ?? 'udp';
    const port = g.port ?? (transport === 'tls' ? 5061 : 5060);
    const hp = gatewayHostProblem(g.host, port, contract?.ownAddresses);
    if (hp !== undefined) c.fail(`gateways/${i}/host`, hp);
    const k = `${host}:${port}:${transport}`;
    if (seen.has(k)) c.fail(`gateways/${i}`, 'is listed twice');
    seen.add(k);
    return { host, port, transport, priority: g.priority ?? 10 };
  });
  let registration: TrunkRegistration | undefined;
  if (v.registration !== undefined) {
    const r = v.registration;
    const username = c.text('registration/username', r.username, 128, { required: true }) ?? '';
    if (r.password.length === 0 || r.password.length > 128) c.fail('registration/password', 'must be 1–128 characters');
    c.intIn('registration/expiresSec', r.expiresSec, 60, 86400);
    const realm = r.realm === undefined ? undefined : c.text('registration/realm', r.realm, 253);
    registration = { username, password: r.password, ...(realm ? { realm } : {}), expiresSec: r.expiresSec ?? 3600 };
  }
  c.intIn('channelLimit', v.channelLimit, 1, CONTRACT_LIMITS.trunkChannels.max);
  if (contract?.trunkChannels !== undefined && Number.isInteger(v.channelLimit) && v.channelLimit > contract.trunkChannels) {
    c.fail('channelLimit', `must not exceed the contract's trunkChannels (${contract.trunkChannels})`);
  }
  c.oneOf('numberFormat', v.numberFormat, NUMBER_FORMATS);
  let callerId: string | undefined;
  if (v.callerId !== undefined && v.callerId !== '') {
    callerId = normalizeE164(v.callerId);
    if (callerId === undefined) c.fail('callerId', 'must be a public number (+81… or 0…)');
  }
  c.oneOf('callerName', v.callerName, CALLER_NAME_MODES);
  const callerName = v.callerName ?? 'none';
  const callerNameFixed = c.text('callerNameFixed', v.callerNameFixed, 50);
  if (callerName === 'fixed' && (callerNameFixed === undefined || callerNameFixed === '')) c.fail('callerNameFixed', "is required when callerName is 'fixed'");
  if (callerName !== 'fixed' && callerNameFixed !== undefined && callerNameFixed !== '') c.fail('callerNameFixed', "is only used when callerName is 'fixed'");
  let roles: TrunkRole[] = [...trunkRoles({ roles: v.roles, emergency: v.emergency })];
  if (v.roles !== undefined) {
    if (v.roles.length === 0) c.fail('roles', 'must name at least one role (ordinary, emergency)');
    v.roles.forEach((r, i) => {
      if (!(TRUNK_ROLES as readonly string[]).includes(r)) c.fail(`roles/${i}`, `must be one of ${TRUNK_ROLES.join(', ')}`);
    });
    if (new Set(v.roles).size !== v.roles.length) c.fail('roles', 'lists a role twice');
    if (v.emergency !== undefined && v.emergency !== v.roles.includes('emergency')) c.fail('emergency', 'contradicts roles (omit it; roles decide)');
  }
  roles = TRUNK_ROLES.filter((r) => roles.includes(r));
  return c.done({
    id: v.id,
    name,
    gateways: [...gateways].sort((a, b) => a.priority - b.priority),
    ...(registration ? { registration } : {}),
    channelLimit: v.channelLimit,
    numberFormat: v.numberFormat ?? 'national',
    ...(callerId !== undefined ? { callerId } : {}),
    roles,
    emergency: roles.includes('emergency'),
    callerName,
    ...(callerName === 'fixed' && callerNameFixed !== undefined ? { callerNameFixed } : {}),
  });
}

// ---- DID ---------------------------------------------------------------------------------------

export interface DidInput {
  readonly number: string;
  readonly target: DidTarget;
  readonly description?: string;
}

export interface DidValue {
  readonly number: string;
  readonly target: DidTarget;
  readonly description: string;
}

export function validateDid(v: DidInput): Validation<DidValue> {
  const c = new Checker();
  const number = normalizeE164(v.number);
  if (number === undefined) c.fail('number', 'must be a public number (+81… or 0…)');
  c.oneOf('target/type', v.target.type, DID_TARGET_TYPES);
  if (!DIGITS.test(v.target.number)) c.fail('target/number', 'must be an extension or ring group number');
  const description = c.text('description', v.description, 200) ?? '';
  return c.done({ number: number ?? v.number, target: { type: v.target.type, number: v.target.number }, description });
}

/** Whether a DID target type matches what the number is in the tenant's number space. */
export function didTargetOk(type: DidTarget['type'], kind: string | null): boolean {
  return kind === type;
}

// ---- numbering plan ----------------------------------------------------------------------------

export interface NumberingPlanInput {
  readonly extensionLength?: number;
  readonly outsideLinePrefix?: string;
  readonly featureCodes?: Partial<FeatureCodes>;
}

export function validateNumberingPlan(v: NumberingPlanInput, base: NumberingPlan = DEFAULT_NUMBERING_PLAN): Validation<NumberingPlan> {
  const c = new Checker();
  c.intIn('extensionLength', v.extensionLength, 2, 8);
  const prefix = v.outsideLinePrefix ?? base.outsideLinePrefix;
  if (!/^[0-9]?$/.test(prefix)) c.fail('outsideLinePrefix', 'must be one digit or empty');
  const featureCodes: FeatureCodes = { ...base.featureCodes, ...v.featureCodes };
  const seen = new Map<string, string>();
  for (const [name, code] of featureCodeEntries(featureCodes)) {
    if (!FEATURE_CODE.test(code)) {
      c.fail(`featureCodes/${name}`, 'must be 1–6 characters of 0-9, * and #');
      continue;
    }
    if (isEmergencyNumber(code)) c.fail(`featureCodes/${name}`, 'is an emergency number');
    if (prefix !== '' && code.startsWith(prefix)) c.fail(`featureCodes/${name}`, `must not start with the outside-line prefix ${prefix}`);
    const other = seen.get(code);
    if (other !== undefined) c.fail(`featureCodes/${name}`, `is the same as ${other}`);
    seen.set(code, name);
  }
  const dp = featureCodes.directedPickup;
  if (featureCodes.pickup.startsWith(dp) && featureCodes.pickup !== dp) {
    c.fail('featureCodes/pickup', `must not start with the directed pickup prefix ${dp}`);
  }
  return c.done({ extensionLength: v.extensionLength ?? base.extensionLength, outsideLinePrefix: prefix, featureCodes });
}

// ---- small helpers for callers ---------------------------------------------------------------

export function isDigestPolicy(s: string | undefined): s is DigestPolicy {
  return (DIGEST_POLICIES as readonly (string | undefined)[]).includes(s);
}

export function isTenantStatus(s: string): s is TenantStatus {
  return (TENANT_STATUSES as readonly string[]).includes(s);
}

/** The trunk emergency calls use: the first flagged one, else the first. */
export function emergencyTrunk<T extends { readonly emergency: boolean; readonly roles?: readonly TrunkRole[] }>(trunks: readonly T[]): T | undefined {
  return trunks.find((t) => trunkRoles(t).includes('emergency')) ?? trunks[0];
}
