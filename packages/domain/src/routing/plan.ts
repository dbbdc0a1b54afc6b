/**
 * `planRoute`: dialled string + caller + tenant configuration + registrations → an ordered
 * plan. Pure: everything live (registrations, who is busy, hunt cursors) comes in as data.
 *
 * A plan is a list of steps (ring some devices; try one trunk gateway; pick up a ringing
 * call) and, for each step, what to do when it fails, by failure class. The call session
 * runs `start`, and after each failed step asks `onAttemptFailed` (failover.ts) for the
 * next step or the final answer. Forwarding and overflow targets are planned up front as
 * further steps, so the whole decision is visible (and testable) before the first INVITE.
 */
import type { CallDirection } from '../cdr.js';
import { orderMembers } from './hunt.js';
import { DEFAULT_NUMBERING_PLAN, gatewayIdentity, trunkRoles, type NumberingPlan, type TrunkRole } from '../provisioning/types.js';
import { DEFAULT_NO_ANSWER_TIMEOUT_SEC } from '../provisioning/validate.js';
import {
  e164ToNational,
  formatForTrunk,
  isAnonymousUser,
  networkNumberToE164,
  parseDialled,
  type DialledNumber,
  type PublicNumberKind,
} from './numbering.js';
import { DEFAULT_PERMISSION_CLASS, mayDial } from './permissions.js';
import type {
  ContactView,
  ExtensionView,
  GatewayView,
  HuntStateView,
  HuntStrategy,
  PlanOptions,
  RegistrationsView,
  RingGroupView,
  RouteCaller,
  TenantRoutingView,
  TrunkView,
} from './types.js';

/** How a failed attempt is classified (see failover.ts). */
export type FailureClass = 'busy' | 'no-answer' | 'unavailable' | 'failover' | 'rejected';

/** A final answer to the caller. `rejected` marks Kumo refusing the call (CDR rejectionReason = code). */
export interface Stop {
  readonly status: number;
  readonly reason: string;
  readonly code: string;
  readonly rejected: boolean;
}

/** After a step fails: go to another step, end with a fixed answer, or relay the failure's own status. */
export type Next = { readonly goto: number } | { readonly stop: Stop } | { readonly relay: true };
export type Transitions = Readonly<Record<FailureClass, Next>>;

export interface RingTarget {
  readonly extension: string;
  readonly contact: ContactView;
}

interface StepBase {
  readonly index: number;
  readonly direction: CallDirection;
  readonly on: Transitions;
  /** Ring group segment this step belongs to (shares a total timeout). */
  readonly segment?: string;
  /** Extension whose forwarding rule led here. */
  readonly forwardedFrom?: string;
}

/** Ring these devices together; first answer wins. */
export interface RingStep extends StepBase {
  readonly kind: 'ring';
  readonly targets: readonly RingTarget[];
  readonly timeoutSec: number;
  /** The extension called directly (not through a group). */
  readonly extension?: string;
  readonly group?: string;
  readonly strategy?: HuntStrategy;
  /** For one-member-at-a-time strategies: the member rung by this step. */
  readonly member?: string;
}

export interface TrunkCallerId {
  /** User part to send (in the trunk's number format), `anonymous` when there is no number. */
  readonly user: string;
  readonly e164: string | null;
  readonly displayName?: string;
}

/** Send the call to one gateway of a trunk. */
export interface TrunkStep extends StepBase {
  readonly kind: 'trunk';
  readonly trunkId: string;
  readonly gateway: GatewayView;
  /** `host:port`: names the gateway in CDRs and logs. */
  readonly gatewayId: string;
  /** Request-URI user, in the trunk's number format. */
  readonly number: string;
  readonly callerId: TrunkCallerId;
  /** Withhold the caller's number from the called party (Privacy: id; P-Asserted-Identity still sent). */
  readonly privacy: boolean;
  readonly setupTimeoutSec: number;
  readonly emergency: boolean;
}

/** Connect the caller to a call ringing one of these extensions. */
export interface PickupStep extends StepBase {
  readonly kind: 'pickup';
  readonly scope: 'group' | 'directed';
  readonly extensions: readonly string[];
}

export type PlanStep = RingStep | TrunkStep | PickupStep;

export interface Segment {
  readonly totalTimeoutSec: number;
  readonly onTimeout: Next;
}

export type CalleeKind = PublicNumberKind | 'extension' | 'group' | 'emergency' | 'pickup';

export interface PlannedCaller {
  /** What called phones show as the caller (extension number, or a callable number for outside callers). */
  readonly user: string;
  readonly displayName?: string;
  readonly extension?: string;
  readonly e164?: string;
  readonly department?: string;
}

export interface PlannedCallee {
  readonly dialled: string;
  readonly kind?: CalleeKind;
  readonly e164?: string;
  readonly extension?: string;
  readonly group?: string;
}

export interface RoutePlan {
  readonly tenantId: string;
  readonly dialled: string;
  readonly direction: CallDirection;
  readonly caller: PlannedCaller;
  readonly callee: PlannedCallee;
  /** Caller asked (184 or default policy) that the number be withheld. */
  readonly privacy: boolean;
  readonly steps: readonly PlanStep[];
  readonly start: Next;
  readonly segments: Readonly<Record<string, Segment>>;
  /** Human-readable remarks (ignored forwards, hairpinned DIDs…), for logs and tests. */
  readonly notes: readonly string[];
}

export const DEFAULT_SETUP_TIMEOUT_SEC = 5;
/** A member's ring time when the group does not say. */
export const DEFAULT_MEMBER_TIMEOUT_SEC = 15;
/** How many forwarding hops are followed. */
export const MAX_FORWARD_DEPTH = 5;
/** Hard cap on plan size, whatever the configuration. */
export const MAX_STEPS = 64;

const stop = (status: number, reason: string, code: string, rejected = false): Next => ({ stop: { status, reason, code, rejected } });
export const STOPS = {
  busy: stop(486, 'Busy Here', 'busy'),
  noAnswer: stop(480, 'Temporarily Unavailable', 'no-answer'),
  notRegistered: stop(480, 'Temporarily Unavailable', 'not-registered'),
  nothingToPickUp: stop(480, 'Temporarily Unavailable', 'nothing-to-pick-up'),
  notFound: stop(404, 'Not Found', 'not-found', true),
  unknownDid: stop(404, 'Not Found', 'unknown-did', true),
  incomplete: stop(484, 'Address Incomplete', 'incomplete-number', true),
  unknownCaller: stop(403, 'Forbidden', 'unknown-caller', true),
  unknownTrunk: stop(403, 'Forbidden', 'unknown-source', true),
  noPickupGroup: stop(404, 'Not Found (no pickup group)', 'no-pickup-group', true),
  noTrunk: stop(503, 'Service Unavailable (no trunk)', 'no-trunk', true),
  noEmergencyTrunk: stop(503, 'Service Unavailable (no emergency trunk)', 'no-emergency-trunk', true),
  noGateway: stop(503, 'Service Unavailable (no gateway)', 'no-gateway', true),
  forbidden: (kind: PublicNumberKind): Next => stop(403, `Forbidden (${kind} calls not permitted)`, 'permission-denied', true),
} as const;
const RELAY: Next = { relay: true };
const all = (n: Next): Transitions => ({ busy: n, 'no-answer': n, unavailable: n, failover: n, rejected: n });

/** Who is responsible for an onward leg: their permission and caller ID apply. */
interface Party {
  readonly ext?: ExtensionView;
}

interface Builder {
  readonly tenant: TenantRoutingView;
  readonly regs: RegistrationsView;
  readonly hunt: HuntStateView;
  readonly numbering: Pick<NumberingPlan, 'outsideLinePrefix' | 'featureCodes'>;
  readonly setupTimeoutSec: number;
  readonly steps: (PlanStep | undefined)[];
  readonly segments: Record<string, Segment>;
  readonly notes: string[];
  /** Direction of ring steps: internal for phone callers, inbound for trunk callers. */
  readonly ringDirection: CallDirection;
}

function reserve(b: Builder): number | undefined {
  if (b.steps.length >= MAX_STEPS) {
    b.notes.push(`plan truncated at ${MAX_STEPS} steps`);
    return undefined;
  }
  b.steps.push(undefined);
  return b.steps.length - 1;
}

function contactsOf(b: Builder, ext: string): RingTarget[] {
  return (b.regs.get(ext) ?? []).map((contact) => ({ extension: ext, contact }));
}

export function gatewayId(g: GatewayView): string {
  return `${g.host}:${g.port}`;
}

function trunkCallerId(trunk: TrunkView, party: Party): TrunkCallerId {
  const e164 = party.ext?.outboundCallerId ?? trunk.callerId ?? null;
  // Internal names stay inside unless the trunk says otherwise (callerName, default none).
  const name = trunk.callerName === 'extension' ? party.ext?.displayName : trunk.callerName === 'fixed' ? trunk.callerNameFixed : undefined;
  return {
    user: e164 === null ? 'anonymous' : formatForTrunk({ e164, national: e164ToNational(e164) }, trunk.numberFormat),
    e164,
    ...(name !== undefined ? { displayName: name } : {}),
  };
}

function gatewaysByPriority(trunk: TrunkView): GatewayView[] {
  return trunk.gateways.map((g, i) => ({ g, i })).sort((a, b) => a.g.priority - b.g.priority || a.i - b.i).map(({ g }) => g);
}

/**
 * Trunks in the order they are tried (roles: TRUNK_ROLES). Outside calls: the trunks with the
 * `ordinary` role, in id order — all of them, so ordinary calls fail over across every ordinary
 * trunk. Emergency calls: the `emergency` trunks first, then every other trunk, so an emergency call
 * is never refused while any trunk exists.
 */
export function trunkOrder(trunks: readonly TrunkView[], emergency: boolean): TrunkView[] {
  const has = (t: TrunkView, r: TrunkRole): boolean => trunkRoles(t).includes(r);
  if (!emergency) return trunks.filter((t) => has(t, 'ordinary'));
  return [...trunks.filter((t) => has(t, 'emergency')), ...trunks.filter((t) => !has(t, 'emergency'))];
}

/**
 * One step per gateway: trunks in order, each trunk's gateways by priority. 5xx, 408, a
 * transport error or the setup timeout moves on to the next gateway (of the same or the
 * next trunk); anything else ends the call.
 */
function planTrunks(
  b: Builder,
  number: { readonly e164: string | null; readonly national: string },
  party: Party,
  opts: { privacy: boolean; emergency: boolean; forwardedFrom?: string },
): Next {
  const trunks = trunkOrder(b.tenant.trunks, opts.emergency);
  if (trunks.length === 0) return opts.emergency ? STOPS.noEmergencyTrunk : STOPS.noTrunk;
  const all = trunks.flatMap((trunk) => gatewaysByPriority(trunk).map((gateway) => ({ trunk, gateway })));
  // Gateways the OPTIONS pings found down: not tried (no per-call setup timeout on a dead gateway);
  // an emergency call still tries them, after every gateway that is up.
  const down = b.tenant.downGateways;
  const isDown = (g: GatewayView): boolean => down !== undefined && down.has(gatewayIdentity(g));
  const up = all.filter((l) => !isDown(l.gateway));
  const legs = opts.emergency ? [...up, ...all.filter((l) => isDown(l.gateway))] : up;
  if (legs.length === 0) return STOPS.noGateway;
  if (up.length < all.length) b.notes.push(`${all.length - up.length} trunk gateway(s) down${opts.emergency ? ', tried last' : ', skipped'}`);
  const indices: number[] = [];
  for (let i = 0; i < legs.length; i++) {
    const idx = reserve(b);
    if (idx === undefined) break;
    indices.push(idx);
  }
  const first = indices[0];
  if (first === undefined) return STOPS.noGateway;
  indices.forEach((idx, i) => {
    const { trunk, gateway } = legs[i] as { trunk: TrunkView; gateway: GatewayView };
    const next = indices[i + 1];
    b.steps[idx] = {
      kind: 'trunk',
      index: idx,
      direction: opts.emergency ? 'emergency' : 'outbound',
      trunkId: trunk.id,
      gateway,
      gatewayId: gatewayId(gateway),
      number: formatForTrunk(number, trunk.numberFormat),
      callerId: trunkCallerId(trunk, party),
      privacy: opts.privacy,
      setupTimeoutSec: b.setupTimeoutSec,
      emergency: opts.emergency,
      ...(opts.forwardedFrom !== undefined ? { forwardedFrom: opts.forwardedFrom } : {}),
      on: {
        busy: STOPS.busy,
        'no-answer': STOPS.noAnswer,
        unavailable: RELAY,
        failover: next === undefined ? RELAY : { goto: next },
        rejected: RELAY,
      },
    };
  });
  return { goto: first };
}

function withholds(party: Party, asked: 'withhold' | 'present' | undefined): boolean {
  if (asked !== undefined) return asked === 'withhold';
  return party.ext?.callerIdPresentation === 'restricted';
}

/**
 * A forwarding or overflow dial string, dialled on behalf of `party`. Returns undefined
 * (the rule is ignored, with a note) when the target is unusable: unknown, a loop, too deep,
 * not permitted, or not something one can forward to.
 */
function planDialString(b: Builder, dial: string, party: Party, path: ReadonlySet<string>, depth: number, via: string): Next | undefined {
  if (depth >= MAX_FORWARD_DEPTH) {
    b.notes.push(`${via}: forwarding deeper than ${MAX_FORWARD_DEPTH} ignored`);
    return undefined;
  }
  const d = parseDialled(dial, b.numbering);
  switch (d.type) {
    case 'internal': {
      if (path.has(d.number)) {
        b.notes.push(`${via}: forwarding loop to ${d.number} ignored`);
        return undefined;
      }
      const r = planInternal(b, d.number, path, depth + 1, via);
      if (r === undefined) b.notes.push(`${via}: unknown target ${dial} ignored`);
      return r;
    }
    case 'external': {
      const cls = party.ext?.permissionClass ?? DEFAULT_PERMISSION_CLASS;
      if (!mayDial(cls, d.kind)) {
        b.notes.push(`${via}: forwarding to ${d.kind} number not permitted, ignored`);
        return undefined;
      }
      return planTrunks(b, d, party, {
        privacy: withholds(party, d.privacy),
        emergency: false,
        forwardedFrom: via,
      });
    }
    default:
      b.notes.push(`${via}: cannot forward to ${dial} (${d.type}), ignored`);
      return undefined;
  }
}

/** An extension or ring group by number; undefined when the tenant has neither. */
function planInternal(b: Builder, number: string, path: ReadonlySet<string>, depth: number, via?: string): Next | undefined {
  const ext = b.tenant.extensions.get(number);
  if (ext) return planExtension(b, ext, path, depth, via);
  const group = b.tenant.groups.get(number);
  if (group) return planGroup(b, group, path, depth, via);
  return undefined;
}

function planExtension(b: Builder, ext: ExtensionView, path: ReadonlySet<string>, depth: number, via?: string): Next {
  const here = new Set(path).add(ext.number);
  const fw = ext.forwarding ?? {};
  const party: Party = { ext };
  if (fw.unconditional !== undefined) {
    const n = planDialString(b, fw.unconditional, party, here, depth, ext.number);
    if (n !== undefined) return n;
  }
  const targets = contactsOf(b, ext.number);
  const idx = targets.length > 0 ? reserve(b) : undefined;
  const onBusy = (fw.busy !== undefined ? planDialString(b, fw.busy, party, here, depth, ext.number) : undefined) ?? STOPS.busy;
  const noAnswerFw = fw.noAnswer !== undefined ? planDialString(b, fw.noAnswer, party, here, depth, ext.number) : undefined;
  if (idx === undefined) return noAnswerFw ?? STOPS.notRegistered;
  const onNoAnswer = noAnswerFw ?? STOPS.noAnswer;
  b.steps[idx] = {
    kind: 'ring',
    index: idx,
    direction: b.ringDirection,
    targets,
    timeoutSec: ext.noAnswerTimeoutSec ?? DEFAULT_NO_ANSWER_TIMEOUT_SEC,
    extension: ext.number,
    ...(via !== undefined ? { forwardedFrom: via } : {}),
    on: { busy: onBusy, 'no-answer': onNoAnswer, unavailable: onNoAnswer, failover: onNoAnswer, rejected: RELAY },
  };
  return { goto: idx };
}

function planGroup(b: Builder, g: RingGroupView, path: ReadonlySet<string>, depth: number, via?: string): Next {
  const here = new Set(path).add(g.number);
  const timeoutOf = new Map(g.members.map((m) => [m.extension, m.timeoutSec]));
  const numbers = g.members.map((m) => m.extension).filter((m) => b.tenant.extensions.has(m));
  const order = orderMembers(g.strategy, g.number, numbers, b.hunt);
  const reachable = order.filter((m) => contactsOf(b, m).length > 0);
  const allBusy = numbers.length > 0 && numbers.every((m) => b.hunt.busy?.has(m) ?? false);
  const total = g.totalTimeoutSec;
  const fwd = via !== undefined ? { forwardedFrom: via } : {};
  // Members' steps first (the plan reads in ringing order), then the overflow target.
  const count = reachable.length === 0 ? 0 : g.strategy === 'ring-all' ? 1 : reachable.length;
  const indices: number[] = [];
  for (let i = 0; i < count; i++) {
    const idx = reserve(b);
    if (idx === undefined) break;
    indices.push(idx);
  }
  const overflow = g.overflow !== undefined && g.overflow !== '' ? planDialString(b, g.overflow, {}, here, depth, g.number) : undefined;
  const first = indices[0];
  if (first === undefined) return overflow ?? (allBusy ? STOPS.busy : reachable.length === 0 ? STOPS.notRegistered : STOPS.noAnswer);
  const exhausted = overflow ?? (allBusy ? STOPS.busy : STOPS.noAnswer);

  if (g.strategy === 'ring-all') {
    b.steps[first] = {
      kind: 'ring',
      index: first,
      direction: b.ringDirection,
      targets: reachable.flatMap((m) => contactsOf(b, m)),
      timeoutSec: total,
      group: g.number,
      strategy: g.strategy,
      ...fwd,
      on: all(exhausted),
    };
    return { goto: first };
  }

  const segment = `group:${g.number}:${first}`;
  b.segments[segment] = { totalTimeoutSec: total, onTimeout: exhausted };
  indices.forEach((idx, i) => {
    const member = reachable[i] as string;
    const next = indices[i + 1];
    b.steps[idx] = {
      kind: 'ring',
      index: idx,
      direction: b.ringDirection,
      targets: contactsOf(b, member),
      timeoutSec: Math.min(timeoutOf.get(member) ?? DEFAULT_MEMBER_TIMEOUT_SEC, total),
      group: g.number,
      strategy: g.strategy,
      member,
      segment,
      ...fwd,
      on: all(next === undefined ? exhausted : { goto: next }),
    };
  });
  return { goto: first };
}

function finish(
  b: Builder,
  head: Omit<RoutePlan, 'steps' | 'segments' | 'notes' | 'start' | 'tenantId'>,
  start: Next,
): RoutePlan {
  return {
    tenantId: b.tenant.id,
    ...head,
    // Every reserved slot is filled before its builder returns, so there are no holes.
    steps: b.steps as PlanStep[],
    segments: { ...b.segments },
    notes: [...b.notes],
    start,
  };
}

function invalidStop(d: Extract<DialledNumber, { type: 'invalid' }>): Next {
  return d.reason === 'incomplete' || d.reason === 'empty' ? STOPS.incomplete : STOPS.notFound;
}

/**
 * Plans a call. `dialled` is the request-URI user (phones) or the DID as received (trunks).
 * Never throws for bad input: unknown numbers, unknown callers and refusals are plans whose
 * `start` is a stop.
 */
export function planRoute(
  dialled: string,
  caller: RouteCaller,
  tenant: TenantRoutingView,
  registrations: RegistrationsView,
  options: PlanOptions = {},
): RoutePlan {
  const b: Builder = {
    tenant,
    regs: registrations,
    hunt: options.hunt ?? {},
    numbering: {
      outsideLinePrefix: tenant.numbering?.outsideLinePrefix ?? DEFAULT_NUMBERING_PLAN.outsideLinePrefix,
      featureCodes: tenant.numbering?.featureCodes ?? DEFAULT_NUMBERING_PLAN.featureCodes,
    },
    setupTimeoutSec: options.trunkSetupTimeoutSec ?? DEFAULT_SETUP_TIMEOUT_SEC,
    steps: [],
    segments: {},
    notes: [],
    ringDirection: caller.kind === 'trunk' ? 'inbound' : 'internal',
  };
  if (caller.kind === 'trunk') return planInbound(b, dialled, caller);

  const ext = tenant.extensions.get(caller.extension);
  const callerParty: PlannedCaller = ext
    ? {
        user: ext.number,
        extension: ext.number,
        ...(ext.displayName !== undefined && ext.displayName !== '' ? { displayName: ext.displayName } : {}),
        ...(ext.department !== undefined && ext.department !== '' ? { department: ext.department } : {}),
        ...(ext.outboundCallerId !== undefined ? { e164: ext.outboundCallerId } : {}),
      }
    : { user: caller.extension, extension: caller.extension };
  const base = { dialled, caller: callerParty, privacy: false };
  if (!ext) return finish(b, { ...base, direction: 'internal', callee: { dialled } }, STOPS.unknownCaller);
  const party: Party = { ext };
  const d = parseDialled(dialled, b.numbering);

  switch (d.type) {
    case 'invalid':
      return finish(b, { ...base, direction: 'internal', callee: { dialled } }, invalidStop(d));
    case 'pickup': {
      const callee: PlannedCallee = { dialled, kind: 'pickup', ...(d.scope === 'directed' ? { extension: d.extension } : {}) };
      let extensions: string[];
      if (d.scope === 'directed') {
        if (!tenant.extensions.has(d.extension)) return finish(b, { ...base, direction: 'internal', callee }, STOPS.notFound);
        extensions = [d.extension];
      } else {
        const mine = (tenant.pickupGroups ?? []).filter((g) => g.members.includes(ext.number));
        if (mine.length === 0) return finish(b, { ...base, direction: 'internal', callee }, STOPS.noPickupGroup);
        extensions = [...new Set(mine.flatMap((g) => g.members))].filter((m) => m !== ext.number);
      }
      const idx = reserve(b) as number;
      b.steps[idx] = { kind: 'pickup', index: idx, direction: 'internal', scope: d.scope, extensions, on: all(STOPS.nothingToPickUp) };
      return finish(b, { ...base, direction: 'internal', callee }, { goto: idx });
    }
    case 'emergency': {
      // Emergency calls always carry the caller's number (P-Asserted-Identity); only an explicit
      // 184 asks the network to withhold it, whatever the extension's default.
      const privacy = d.privacy === 'withhold';
      const start = planTrunks(b, { e164: null, national: d.service }, party, { privacy, emergency: true });
      return finish(b, { ...base, privacy, direction: 'emergency', callee: { dialled, kind: 'emergency' } }, start);
    }
    case 'internal': {
      // Calling yourself rings your other devices: no loop guard for the first hop.
      const start = planInternal(b, d.number, new Set(), 0);
      const callee: PlannedCallee = tenant.extensions.has(d.number)
        ? { dialled, kind: 'extension', extension: d.number }
        : tenant.groups.has(d.number)
          ? { dialled, kind: 'group', group: d.number }
          : { dialled };
      return finish(b, { ...base, direction: 'internal', callee }, start ?? STOPS.notFound);
    }
    case 'external': {
      const callee: PlannedCallee = { dialled, kind: d.kind, ...(d.e164 !== null ? { e164: d.e164 } : {}) };
      const cls = ext.permissionClass ?? DEFAULT_PERMISSION_CLASS;
      if (!mayDial(cls, d.kind)) return finish(b, { ...base, direction: 'outbound', callee }, STOPS.forbidden(d.kind));
      const privacy = withholds(party, d.privacy);
      const own = d.e164 === null ? undefined : tenant.dids.get(d.e164);
      if (own !== undefined) {
        const start = planInternal(b, own.number, new Set(), 0);
        if (start !== undefined) {
          b.notes.push(`${d.e164 ?? ''} is the tenant's own DID: routed internally to ${own.number}`);
          return finish(b, { ...base, privacy, direction: 'internal', callee }, start);
        }
      }
      const start = planTrunks(b, d, party, { privacy, emergency: false });
      return finish(b, { ...base, privacy, direction: 'outbound', callee }, start);
    }
  }
}

function planInbound(b: Builder, dialled: string, caller: Extract<RouteCaller, { kind: 'trunk' }>): RoutePlan {
  const anonymous = isAnonymousUser(caller.number);
  const e164 = anonymous ? null : networkNumberToE164(caller.number);
  const callerParty: PlannedCaller = {
    // A number the called phone can call back: outside-line prefix + national format.
    user: e164 !== null ? `${b.numbering.outsideLinePrefix}${e164ToNational(e164)}` : anonymous ? 'anonymous' : caller.number,
    ...(e164 !== null ? { e164 } : {}),
    ...(caller.displayName !== undefined ? { displayName: caller.displayName } : {}),
  };
  const didE164 = networkNumberToE164(dialled);
  const target = didE164 === null ? undefined : b.tenant.dids.get(didE164);
  const callee: PlannedCallee = {
    dialled,
    ...(didE164 !== null ? { e164: didE164 } : {}),
    ...(target?.type === 'extension' ? { kind: 'extension' as const, extension: target.number } : {}),
    ...(target?.type === 'ringGroup' ? { kind: 'group' as const, group: target.number } : {}),
  };
  const head = { dialled, caller: callerParty, callee, privacy: anonymous, direction: 'inbound' as const };
  if (!b.tenant.trunks.some((t) => t.id === caller.trunkId)) return finish(b, head, STOPS.unknownTrunk);
  if (target === undefined) return finish(b, head, STOPS.unknownDid);
  return finish(b, head, planInternal(b, target.number, new Set(), 0) ?? STOPS.unknownDid);
}
