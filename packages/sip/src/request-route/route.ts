/**
 * The INVITE route, as named steps in the manner of a kamailio.cfg `request_route`:
 *
 *   initContext → sanity → identifyTenant → drainGate → overloadGate → authenticate → checkOffer → admitCall → recordCall → replaces → planRoute → runCall
 *
 * Each step either lets the request continue or answers it (and says why). Whatever
 * happens after the caller is known (a phone that authenticated, or a trunk recognised by
 * its source address), the call gets a CDR, published in `finally` and awaited; the
 * admission lease is released in the same `finally`.
 */
import {
  buildCdr,
  maxCallMsFor,
  parseDialled,
  planRoute,
  type CallDirection,
  type CallFacts,
  type EndCause,
  type ExtensionView,
  type HangupBy,
  type RouteCaller,
  type RoutePlan,
  type Tenant,
  type TrunkRecord,
  type TrunkView,
} from '@kumo/domain';
import type { Logger } from '@kumo/runtime';
import type { AuthGuardStore, CallRecordStore, DirectoryRepo, GatewayHealthStore, HuntStateStore, LegRecord, LocationStore } from '@kumo/store';
import type { EdgeAware } from '../edge/trusted-edge.js';
import { createAuthenticator, type AuthPrefetch, type AuthSettings, type Authenticator, type BruteForceSettings } from '../auth/authenticate.js';
import { multiHeader } from '../drachtio/types.js';
import { LocalDialogRegistry, parseReplacesHeader } from '../call/dialogs.js';
import { LocalPickupRegistry } from '../call/pickup.js';
import { checkSdp, sdpCodecs } from '../call/sdp.js';
import { CallControl, type CallRegistry, type LiveCall } from '../call/registry.js';
import { CallSession, type AnsweredCall, type SessionOptions, type SessionOutcome, type TrunkGate } from '../call/session.js';
import type { AttendedRequest, CallIo, InboundInvite, Leg, TransferRequest } from '../call/types.js';
import type { PartyIdentity } from '../call/session.js';
import { identityUri } from '../call/types.js';
import { tenantDomainOf, type TenantHostSettings } from '../tenant/identify.js';
import { loadRouting, type LoadedRouting } from './load.js';
import { codeOf, defaultRefusalCode, logRefusal, refusalHeaders } from './refusal.js';
import type { TollGuard } from '../security/toll-guard.js';

/** What the admission step answers; the admission work plugs its service in here. */
export type AdmissionAnswer =
  | {
      readonly admit: true;
      release(): Promise<void>;
      answered?(): Promise<void>;
      /** Outbound trunk attempts: take a channel on the trunk (false: full), give it back after a failed attempt. */
      leaseTrunk?(trunk: TrunkRecord): Promise<boolean>;
      releaseTrunk?(): Promise<void>;
    }
  | { readonly admit: false; readonly status: number; readonly reason: string; readonly code: string; readonly headers?: Readonly<Record<string, string>> };

export interface CallToAdmit {
  readonly tenant: Tenant;
  readonly callId: string;
  readonly caller: RouteCaller;
  readonly dialled: string;
  /** Emergency numbers are recognised before admission so they can bypass limits. */
  readonly emergency: boolean;
  readonly trunk?: TrunkRecord;
  readonly sourceAddress: string;
}

export type AdmitCall = (call: CallToAdmit) => Promise<AdmissionAnswer>;

/** Until admission is wired in, every call is admitted. */
export const admitEverything: AdmitCall = () => Promise.resolve({ admit: true, release: () => Promise.resolve() });

/** Publishes one CDR, awaited (from @kumo/store's CdrStreams). */
export type PublishCdr = (cdr: ReturnType<typeof buildCdr>) => Promise<unknown>;
/**
 * Publishes one CDR and clears the call's record in the same Redis write (`CallRecordStore.publishAndClear`);
 * a failed publish leaves the record. Given only where the stores allow it (one Redis, no replica wait).
 */
export type PublishCdrClearing = (cdr: ReturnType<typeof buildCdr>, record: { readonly tenantId: string; readonly callKey: string }) => Promise<unknown>;

export interface RouteDeps {
  readonly log: Logger;
  readonly directory: DirectoryRepo;
  readonly location: LocationStore;
  readonly hunt: HuntStateStore;
  /** Trunk gateway health (OPTIONS pings, trunks/gateway-monitor.ts): gateways down are skipped. */
  readonly gatewayHealth?: Pick<GatewayHealthStore, 'down'>;
  readonly guard: AuthGuardStore;
  readonly publishCdr: PublishCdr;
  /** With call records (`lifecycle.records`): the CDR and the record's clear in one write; else the record is cleared after the publish. */
  readonly publishCdrClearing?: PublishCdrClearing;
  readonly admitCall?: AdmitCall;
  /** Toll-fraud guard (docs/security.md): international / premium-rate calls per tenant and hour. */
  readonly tollGuard?: TollGuard;
  /**
   * Cheap refusal before authentication while the process is overloaded (admission): a refused
   * call then costs one transaction instead of a digest round. Undefined: go on.
   */
  readonly overloadGate?: (c: { readonly tenant: Tenant; readonly dialled: string; readonly fromUser: string; readonly fromTrunk: boolean }) =>
    | Extract<AdmissionAnswer, { admit: false }>
    | undefined
    | Promise<Extract<AdmissionAnswer, { admit: false }> | undefined>;
  readonly pickups?: LocalPickupRegistry;
  /** Bridged legs by dialog, for attended transfer (per process, like `pickups`). */
  readonly dialogs?: LocalDialogRegistry;
  /** Digest settings, shared with the registrar (auth/authenticate.ts); used when `authenticator` is absent. */
  readonly auth: Omit<AuthSettings, 'bruteForce'> & { readonly bruteForce?: BruteForceSettings };
  /** The authentication step shared with the registrar: one brute-force guard for every method. */
  readonly authenticator?: Authenticator;
  readonly trunkSetupTimeoutSec?: number;
  readonly trunkRingCapSec?: number;
  /** How a phone's domain names its tenant: the registrar's rule (tenant/identify.ts). */
  readonly tenantHosts?: TenantHostSettings;
  readonly now?: () => number;
  /** Reliability (docs/reliability.md): every call in the process's registry and, with `records`, in Redis. */
  readonly lifecycle?: CallLifecycle;
}

export interface CallLifecycle {
  readonly registry: CallRegistry;
  /** Call records in Redis (recovery after a crash); without it calls are tracked in-process only. */
  readonly records?: CallRecordStore;
  /** In-dialog OPTIONS keep-alive interval, ms (0: off). */
  readonly keepAliveMs?: number;
  /** Longest an answered call may last, ms. */
  readonly maxDurationMs?: number;
  /** RFC 4028 session timers offered to called parties, s (0/undefined: not offered). */
  readonly sessionExpiresS?: number;
  /** Counts calls the system ended, by cause. */
  readonly onSystemEnd?: (cause: EndCause) => void;
}

/** The parts of an incoming INVITE the route reads (drachtio request or a test double). */
export interface InviteRequest {
  readonly uri: string;
  readonly source_address: string;
  readonly source_port: number | string;
  readonly protocol: string;
  readonly body: string;
  get(name: string): string | undefined;
  has(name: string): boolean;
}

export interface RouteContext {
  readonly req: InviteRequest;
  readonly invite: InboundInvite;
  readonly io: CallIo;
  readonly log: Logger;
  readonly startedAt: number;
  /** Request-URI user: what was dialled (or the DID, from a trunk). */
  dialled: string;
  fromUser: string;
  fromHost: string;
  toUser: string;
  tenant?: Tenant;
  trunk?: TrunkRecord;
  callerRecord?: ExtensionView;
  caller?: RouteCaller;
  release?: () => Promise<void>;
  /** Tells admission the call was answered (flood guard completions). */
  admissionAnswered?: () => Promise<void>;
  /** Admission's trunk channel leases for the session's trunk attempts. */
  trunkGate?: TrunkGate;
  plan?: RoutePlan;
  outcome?: SessionOutcome;
  /** Set when the route itself answered the INVITE. */
  answered?: { status: number; reason: string; code: string; rejected: boolean };
  /** The hunt state's end-of-call write (the session's `callEnded`), awaited before the call record is cleared. */
  huntEnded?: Promise<void>;
  /** The authentication step's reads, started with the tenant lookup (identifyTenant). */
  authPrefetch?: AuthPrefetch;
  /** The step running now (named in the refusal log line). */
  step?: string;
  /** Trunk credentials (registration-based trunks), from the trunks loaded for this call. */
  trunkAuth?: ReadonlyMap<string, { readonly username: string; readonly password: string }>;
  callerCodecs: readonly string[];
  /** The answer's codecs, parsed once for the SDP they came from (the record's answer and the CDR both read them). */
  answerCodecs?: { readonly sdp: string; readonly codecs: readonly string[] };
  /** The call id admission leased under (the A-leg Call-ID; `callId;fromTag` for transfers). */
  admissionId?: string;
  /** Lets the system end the call (drain, engine loss, keep-alive, maximum duration); its cause goes into the CDR. */
  control?: CallControl;
  /** The established dialogs, once answered (call record, engine-loss reconciliation). */
  legs?: readonly LegRecord[];
  /** Set once the call is in the registry (and its record written): undoes both after the CDR is published. */
  untrack?: () => Promise<void>;
  /** The call record being written (recordCall); awaited before the caller is answered and before the call is finished. */
  tracking?: Promise<void>;
  /** What planRoute reads (`loadRouting`), started with the admission decision (admitCall). */
  routing?: Promise<LoadedRouting>;
  /** The call record was written (later updates go to it). */
  recorded?: boolean;
  /** The call record went with the CDR (`publishCdrClearing`): `untrack` does not clear it again. */
  recordCleared?: boolean;
}

type Step = (ctx: RouteContext) => Promise<'next' | 'done'>;

function userOf(uri: string): string {
  const m = /^sips?:([^@;>]+)@/i.exec(uri.trim());
  return m?.[1] !== undefined ? decodeURIComponent(m[1]) : '';
}
function hostOf(uri: string): string {
  const m = /^sips?:(?:[^@;>]+@)?(\[[^\]]+\]|[^:;>]+)/i.exec(uri.trim());
  return (m?.[1] ?? '').toLowerCase();
}
function uriOfNameAddr(v: string | undefined): string {
  if (v === undefined) return '';
  const m = /<([^>]*)>/.exec(v);
  return (m?.[1] ?? v.split(';')[0] ?? '').trim();
}

/** username/password of the registration-based trunks among `trunks`. */
function trunkCredentials(trunks: readonly TrunkView[]): Map<string, { username: string; password: string }> {
  const out = new Map<string, { username: string; password: string }>();
  for (const t of trunks) {
    const r = (t as Partial<TrunkRecord>).registration;
    if (r) out.set(t.id, { username: r.username, password: r.password });
  }
  return out;
}
/** Brute-force settings when the route is built without them (tests): the config defaults. */
const DEFAULT_BRUTE_FORCE: BruteForceSettings = { windowMs: 300_000, ipThreshold: 20, aorThreshold: 10, blockMs: 900_000, action: 'drop' };

export function createInviteRoute(d: RouteDeps) {
  const now = d.now ?? Date.now;
  const lc = d.lifecycle;
  const admit = d.admitCall ?? admitEverything;
  const pickups = d.pickups ?? new LocalPickupRegistry();
  const dialogs = d.dialogs ?? new LocalDialogRegistry();
  const authenticator =
    d.authenticator ??
    createAuthenticator({
      settings: { bruteForce: DEFAULT_BRUTE_FORCE, ...d.auth },
      guard: d.guard,
      location: d.location,
      log: d.log,
      ...(d.now ? { now: d.now } : {}),
    });

  const reply = (ctx: RouteContext, status: number, reason: string, code: string, rejected = true, headers?: Record<string, string>): 'done' => {
    ctx.answered = { status, reason, code, rejected };
    ctx.invite.reject(status, reason, { 'X-Kumo-Reason': code, ...headers });
    return 'done';
  };

  /**
   * Every final refusal of the INVITE, whichever step or the call session sends it, goes out with
   * `Reason`, `X-Kumo-Reason` and (where retrying helps) `Retry-After`, and is logged once
   * (refusal.ts). Challenges (401/407) are not refusals.
   */
  const refusing = (context: () => RouteContext, invite: InboundInvite): InboundInvite => ({
    // A flat copy, not Object.create(invite): making each call's invite a prototype costs V8 a map change per call.
    callId: invite.callId,
    fromTag: invite.fromTag,
    sdp: invite.sdp,
    ...(invite.userAgent !== undefined ? { userAgent: invite.userAgent } : {}),
    // Every argument forwarded as given (a parameter added to InboundInvite reaches the real invite).
    progress: (...a: Parameters<InboundInvite['progress']>) => invite.progress(...a),
    // The call record is in Redis before the caller is answered (written while the callee rings; recordCall).
    answer: async (...a: Parameters<InboundInvite['answer']>) => {
      await context().tracking;
      return invite.answer(...a);
    },
    onCancel: (...a: Parameters<InboundInvite['onCancel']>) => invite.onCancel(...a),
    reject: (status, reason, headers) => {
      if (status === 401 || status === 407) {
        invite.reject(status, reason, headers);
        return;
      }
      const ctx = context();
      const code = codeOf(headers) ?? ctx.answered?.code ?? defaultRefusalCode(status);
      invite.reject(status, reason, refusalHeaders(status, code, headers));
      logRefusal(ctx.log, { tenant: ctx.tenant?.id, callId: invite.callId, method: 'INVITE', step: ctx.step ?? 'route', status, code });
    },
  });

  // ---- the steps ---------------------------------------------------------------------------

  /** Reads the request once into the context. */
  const initContext: Step = (ctx) => {
    ctx.dialled = userOf(ctx.req.uri);
    const from = uriOfNameAddr(ctx.req.get('from'));
    ctx.fromUser = userOf(from);
    ctx.fromHost = hostOf(from);
    ctx.toUser = userOf(uriOfNameAddr(ctx.req.get('to')));
    return Promise.resolve('next');
  };

  /** Header sanity the engine does not already enforce. */
  const sanity: Step = (ctx) => {
    const mf = ctx.req.get('max-forwards');
    if (mf !== undefined && Number(mf) <= 0) return Promise.resolve(reply(ctx, 483, 'Too Many Hops', 'too-many-hops'));
    if (/;\s*tag=/i.test(ctx.req.get('to') ?? '')) return Promise.resolve(reply(ctx, 481, 'Call/Transaction Does Not Exist', 'stray-in-dialog'));
    if (ctx.invite.fromTag === '' || ctx.fromUser === '') return Promise.resolve(reply(ctx, 400, 'Bad From', 'bad-from'));
    if (ctx.dialled === '') return Promise.resolve(reply(ctx, 404, 'Not Found', 'no-request-uri-user'));
    return Promise.resolve('next');
  };

  /**
   * A carrier call: the request came from a trunk gateway (address, transport, and for an exact
   * match the port) and is addressed to one of that tenant's DIDs (request-URI user, or To user when
   * the carrier puts the gateway in the request-URI). From a gateway's exact address and port it is a
   * carrier call whatever the number (an unknown DID then gets 404); from the gateway's address on
   * another port, or over TCP/TLS (ephemeral source ports), only when a DID matches: anything else is
   * a phone behind the same address and goes on to phone identification and authentication — unless
   * its domain names no tenant, then it is the carrier's call after all (`fallback`: 404, with a CDR).
   */
  type CarrierMatch = { tenant: Tenant; trunk: TrunkRecord; dialled: string };
  const carrierCall = async (ctx: RouteContext): Promise<{ match?: CarrierMatch; fallback?: CarrierMatch } | undefined> => {
    const port = Number(ctx.req.source_port);
    const candidates = await d.directory.trunksAtSource(ctx.req.source_address, Number.isFinite(port) ? port : 0, ctx.req.protocol || 'udp');
    if (candidates.length === 0) return undefined;
    const tenants = new Map<string, Promise<Tenant | null>>();
    const tenantOf = (id: string): Promise<Tenant | null> => {
      if (!tenants.has(id)) tenants.set(id, d.directory.tenantById(id));
      return tenants.get(id) as Promise<Tenant | null>;
    };
    for (const m of candidates) {
      const tenant = await tenantOf(m.tenantId);
      if (!tenant) continue;
      if (await d.directory.did(tenant.id, ctx.dialled)) return { match: { tenant, trunk: m.trunk, dialled: ctx.dialled } };
      if (ctx.toUser !== '' && (await d.directory.did(tenant.id, ctx.toUser))) return { match: { tenant, trunk: m.trunk, dialled: ctx.toUser } };
    }
    // Addressed to the contact Kumo registered for a registration-based trunk: that trunk's call.
    const registered = candidates.find((m) => m.trunk.registration !== undefined && m.trunk.registration.username === ctx.dialled);
    const regTenant = registered ? await tenantOf(registered.tenantId) : null;
    if (registered && regTenant) return { match: { tenant: regTenant, trunk: registered.trunk, dialled: ctx.dialled } };
    const first = candidates.find((m) => m.exactPort) ?? candidates[0];
    const tenant = first ? await tenantOf(first.tenantId) : null;
    if (!first || !tenant) return undefined;
    const c = { tenant, trunk: first.trunk, dialled: ctx.dialled };
    return first.exactPort ? { match: c } : { fallback: c };
  };

  /** Trunks by gateway identity and called DID; phones by their SIP domain, as the registrar does. */
  const identifyTenant: Step = async (ctx) => {
    const hosts = d.tenantHosts ?? {};
    // A phone of a tenant this process has seen: the authentication step's reads go out with the tenant
    // lookup (one Redis write, one round trip). Used only if the lookup names that tenant.
    const fromDomain = tenantDomainOf(ctx.fromHost, hosts);
    const knownId = d.directory.knownTenantIdOf(fromDomain);
    if (knownId !== undefined && ctx.fromUser !== '') {
      // With credentials and the caller's secrets in this process's cache, the answer is checked now and a
      // right one's nonce count goes out in the same write (authenticate uses it; no round trip of its own).
      const header = ctx.req.get('proxy-authorization');
      const secrets = header !== undefined ? d.directory.cachedExtension(knownId, ctx.fromUser) : undefined;
      ctx.authPrefetch = authenticator.prefetch({
        tenantId: knownId,
        extension: ctx.fromUser,
        source: { address: ctx.req.source_address },
        userAgent: ctx.req.get('user-agent'),
        ...(header !== undefined && secrets !== undefined ? { answer: { method: 'INVITE', header, realm: fromDomain, secrets } } : {}),
      });
    }
    const phoneTenant = async (): Promise<Tenant | null> =>
      (await d.directory.tenantByDomain(fromDomain)) ?? (await d.directory.tenantByDomain(tenantDomainOf(hostOf(ctx.req.uri), hosts)));
    // Both lookups at once (one Redis round trip, not two in series); a carrier match wins.
    const [carrier, phone] = await Promise.all([carrierCall(ctx), phoneTenant()]);
    const byDomain = carrier?.match ? null : phone;
    const match = carrier?.match ?? (byDomain ? undefined : carrier?.fallback);
    if (match) {
      const tenant = match.tenant;
      ctx.tenant = tenant;
      ctx.trunk = match.trunk;
      ctx.dialled = match.dialled;
      const pai = uriOfNameAddr(ctx.req.get('p-asserted-identity'));
      const display = /^\s*"([^"]*)"/.exec(ctx.req.get('from') ?? '')?.[1];
      const privacy = /\bid\b/i.test(ctx.req.get('privacy') ?? '');
      ctx.caller = {
        kind: 'trunk',
        trunkId: match.trunk.id,
        number: privacy ? 'anonymous' : userOf(pai) || ctx.fromUser,
        ...(display !== undefined && !privacy ? { displayName: display } : {}),
      };
      return 'next';
    }
    const tenant = byDomain;
    if (!tenant) return reply(ctx, 403, 'Forbidden', 'unknown-source');
    if (tenant.status === 'terminated') return reply(ctx, 403, 'Forbidden', 'tenant-terminated');
    ctx.tenant = tenant;
    return 'next';
  };

  /**
   * Digest (407) for phones: the same step as for REGISTER (auth/authenticate.ts), one brute-force
   * guard for every method. The From user is who the caller claims to be and must be the digest user.
   */
  const authenticate: Step = async (ctx) => {
    if (ctx.trunk) return 'next';
    const tenant = ctx.tenant as Tenant;
    const v = await authenticator.authenticate({
      method: 'INVITE',
      header: ctx.req.get('proxy-authorization'),
      realm: tenant.sipDomain,
      tenant: { id: tenant.id, ...(tenant.digestAlgorithms ? { digestAlgorithms: tenant.digestAlgorithms } : {}) },
      extension: ctx.fromUser,
      source: { address: ctx.req.source_address },
      userAgent: ctx.req.get('user-agent'),
      lookup: () => d.directory.extension(tenant.id, ctx.fromUser).then((r) => r ?? undefined),
      prefetched: ctx.authPrefetch,
    });
    switch (v.kind) {
      case 'challenge':
        ctx.invite.reject(407, 'Proxy Authentication Required', multiHeader('Proxy-Authenticate', v.challenges));
        return 'done';
      case 'blocked':
      case 'failed':
        // No CDR: nobody was authenticated.
        return reply(ctx, 403, 'Forbidden', v.kind === 'blocked' ? 'auth-blocked' : 'auth-failed');
      case 'ok':
        ctx.callerRecord = v.secrets;
        ctx.caller = { kind: 'extension', extension: v.secrets.number };
        return 'next';
    }
  };

  /** The caller's SDP offer must parse (488 otherwise); its codecs are kept for the CDR. */
  /** OVERLOAD: while the process is overloaded, refuse new non-priority calls before spending a digest round on them. */
  const overloadGate: Step = async (ctx) => {
    if (!d.overloadGate) return 'next';
    const r = await d.overloadGate({ tenant: ctx.tenant as Tenant, dialled: ctx.dialled, fromUser: ctx.fromUser, fromTrunk: ctx.trunk !== undefined });
    if (!r) return 'next';
    return reply(ctx, r.status, r.reason, r.code, true, r.headers ? { ...r.headers } : undefined);
  };

  const checkOffer: Step = (ctx) => {
    const c = checkSdp(ctx.req.body);
    if (!c.ok) return Promise.resolve(reply(ctx, 488, 'Not Acceptable Here', 'bad-sdp'));
    ctx.callerCodecs = c.codecs;
    return Promise.resolve('next');
  };

  /** ADMISSION: tenant status, emergency bypass, limits (filled in by the admission work). */
  const admitCall: Step = async (ctx) => {
    const tenant = ctx.tenant as Tenant;
    const emergency = ctx.caller?.kind === 'extension' && parseDialled(ctx.dialled).type === 'emergency';
    // The route's reads (no writes) go out with the admission decision: one Redis round trip, not two in
    // series; a refused call does not use them. An INVITE with Replaces plans no route.
    if (ctx.req.get('replaces') === undefined) {
      ctx.routing = loadRouting(d, tenant.id, ctx.dialled, ctx.caller as RouteCaller, { ...(ctx.callerRecord ? { callerRecord: ctx.callerRecord } : {}) });
      ctx.routing.catch(() => undefined);
    }
    const r = await admit({
      tenant,
      callId: ctx.invite.callId,
      caller: ctx.caller as RouteCaller,
      dialled: ctx.dialled,
      emergency,
      ...(ctx.trunk ? { trunk: ctx.trunk } : {}),
      sourceAddress: ctx.req.source_address,
    });
    if (!r.admit) return reply(ctx, r.status, r.reason, r.code, true, r.headers ? { ...r.headers } : undefined);
    ctx.admissionId = ctx.invite.callId;
    bindAdmission(ctx, tenant, r);
    return 'next';
  };

  const refuseWhileDraining = (ctx: RouteContext): 'done' | undefined =>
    lc?.registry.draining ? reply(ctx, 503, 'Service Unavailable', 'shutting-down', true, { 'Retry-After': '5', 'X-Kumo-Reason': 'shutting-down' }) : undefined;
  /**
   * While draining, an INVITE that came through a trusted edge (Kamailio, docs/scaling.md) is refused
   * before authentication: the edge sends it on to another engine, whose digest check must not find the
   * nonce count already spent here, and the call's CDR is written there. Straight from a phone the
   * refusal comes after authentication (recordCall), with its own CDR.
   */
  const fromEdge = (ctx: RouteContext): boolean => (ctx.req as EdgeAware).edge !== undefined;
  const drainGate: Step = (ctx) => Promise.resolve((fromEdge(ctx) ? refuseWhileDraining(ctx) : undefined) ?? 'next');

  /**
   * RELIABILITY: an admitted call joins the process's call registry and gets its call record in
   * Redis before it is connected (docs/reliability.md). While draining, new calls are refused.
   */
  const recordCall: Step = (ctx) => {
    // One that came through an edge was decided at the drain gate (refused now, its nonce spent, the edge would fail it).
    const refused = fromEdge(ctx) ? undefined : refuseWhileDraining(ctx);
    if (refused) return Promise.resolve(refused);
    // The record is written while the callee is called (the same Redis write as the ringing index): it is in
    // Redis before the caller is answered (the route's `answer` awaits it) and before the call is finished,
    // without a Redis round trip of its own on the way to the callee.
    ctx.tracking = trackCall(ctx);
    return Promise.resolve('next');
  };

  /** Registers the call (and writes its record); sets `ctx.untrack`. Never throws: a call goes on without its record. */
  const trackCall = async (ctx: RouteContext): Promise<void> => {
    if (!lc) return;
    const tenant = ctx.tenant as Tenant;
    const control = new CallControl();
    ctx.control = control;
    const callKey = `${ctx.invite.callId};${ctx.invite.fromTag}`;
    const live: LiveCall = {
      tenantId: tenant.id,
      callKey,
      legs: () => ctx.legs ?? [],
      end: (cause) => control.end(cause),
    };
    const remove = lc.registry.add(live);
    const records = lc.records;
    let recorded = false;
    if (records) {
      const facts = callFacts(ctx, now());
      try {
        if (facts) {
          await records.put({ tenantId: tenant.id, callKey, startedAt: ctx.startedAt, facts, ...ticketOf(ctx) });
          recorded = true;
          ctx.recorded = true;
        }
      } catch (err) {
        ctx.log.warn({ err }, 'call record not written (the call goes on; a crash would lose it)');
      }
    }
    ctx.untrack = async () => {
      if (recorded && records && ctx.recordCleared !== true) {
        const cleared = await retrying(
          () => records.clear(tenant.id, callKey),
          (err, first) => {
            if (first) ctx.log.warn({ err }, 'call record not cleared; retrying');
          },
          60_000,
        );
        if (!cleared) ctx.log.error({ callKey }, 'call record left behind (its CDR is published: a recovery republishes the same cdrId)');
      }
      remove();
    };
  };

  /** The admission ticket a recovering process releases (the trunk as far as known). */
  const ticketOf = (ctx: RouteContext, trunkId = ctx.trunk?.id) =>
    ctx.admissionId !== undefined
      ? { ticket: { tenantId: (ctx.tenant as Tenant).id, callId: ctx.admissionId, priority: 'normal' as const, ...(trunkId !== undefined ? { trunkId } : {}) } }
      : {};

  /** The call was answered: the record gets its legs and what the CDR says about the answer. */
  const recordAnswer = async (ctx: RouteContext, a: AnsweredCall): Promise<void> => {
    ctx.legs = a.legs.flatMap((l) => (l.dialog ? [l.dialog] : []));
    const records = lc?.records;
    if (!records || ctx.untrack === undefined) return;
    const outcome: SessionOutcome = {
      answeredAt: a.answeredAt,
      endedAt: a.answeredAt,
      finalStatus: 200,
      finalReason: 'OK',
      cancelledByCaller: false,
      bLegCallId: a.bLegCallId,
      answerSdp: a.answerSdp,
      ...(a.step ? { step: a.step } : {}),
      ...(a.answeredBy !== undefined ? { answeredBy: a.answeredBy } : {}),
      attempts: [],
    };
    const facts = callFacts(ctx, a.answeredAt, outcome);
    if (!facts) return;
    await records.answered((ctx.tenant as Tenant).id, `${ctx.invite.callId};${ctx.invite.fromTag}`, {
      answeredAt: a.answeredAt,
      facts,
      legs: ctx.legs,
      ...(a.busy !== undefined && a.busy.length > 0 && ctx.recorded === true ? { busy: a.busy } : {}),
      ...ticketOf(ctx, a.step?.kind === 'trunk' ? a.step.trunkId : ctx.trunk?.id),
    });
  };

  /**
   * Every ending path of an admitted call: admission leases released, the CDR published
   * (awaited; logged whole if Redis refuses it), then the call record cleared.
   */
  const finishCall = async (ctx: RouteContext): Promise<void> => {
    await ctx.tracking;
    // The admission release, the hunt state's end (`callEnded`) and the CDR go out together (one Redis
    // write); the call record is cleared only after all three, so a recovering process can still redo any.
    let releaseSent!: () => void;
    const releaseIssued = new Promise<void>((r) => (releaseSent = r));
    const released = (async () => {
      try {
        if (ctx.outcome?.answeredAt !== undefined) await ctx.admissionAnswered?.();
        const release = ctx.release?.();
        releaseSent();
        await release;
      } catch (err) {
        releaseSent();
        ctx.log.warn({ err }, 'admission release failed');
      }
    })();
    const settled = (): Promise<unknown> => Promise.all([released, ctx.huntEnded]);
    if (ctx.control?.endCause !== undefined) lc?.onSystemEnd?.(ctx.control.endCause);
    const facts = callFacts(ctx, now());
    if (facts) {
      const cdr = buildCdr(facts);
      // The record's clear goes with the CDR (one script) when the stores allow it; sent after the admission
      // release and the hunt state's end (the same Redis write, executed in order), as a clear after them would be.
      const clearing = d.publishCdrClearing !== undefined && ctx.recorded === true && ctx.untrack !== undefined ? d.publishCdrClearing : undefined;
      const record = { tenantId: facts.tenantId, callKey: `${ctx.invite.callId};${ctx.invite.fromTag}` };
      if (clearing) await releaseIssued;
      // Redis may be restarting: keep trying (the call stays in the registry meanwhile). If this
      // process dies first, the call record stays and a recovering process publishes the CDR.
      const published = await retrying(
        () => (clearing ? clearing(cdr, record) : d.publishCdr(cdr)),
        (err, first) => {
          // The billing-relevant write failed: log loudly with the whole record so it can be replayed.
          if (first) ctx.log.error({ err, cdr }, 'CDR publish failed; retrying');
        },
      );
      if (!published) {
        ctx.log.error({ cdr }, 'CDR publish abandoned; the call record is left for recovery');
        delete ctx.untrack;
        await settled();
        return;
      }
      if (clearing) ctx.recordCleared = true;
    }
    await settled();
    await ctx.untrack?.();
  };

  /** Hands an admitted call's release, answered and trunk-channel hooks to the context. */
  const bindAdmission = (ctx: RouteContext, tenant: Tenant, r: Extract<AdmissionAnswer, { admit: true }>): void => {
    ctx.release = () => r.release();
    if (r.answered) ctx.admissionAnswered = () => r.answered?.() ?? Promise.resolve();
    if (r.leaseTrunk && r.releaseTrunk) {
      ctx.trunkGate = {
        acquire: async (trunkId) => {
          const rec = await d.directory.trunk(tenant.id, trunkId);
          return rec === null ? true : ((await r.leaseTrunk?.(rec)) ?? true);
        },
        release: () => r.releaseTrunk?.() ?? Promise.resolve(),
      };
    }
  };

  /** A party with its display name: the extension's own when the party is one of the tenant's extensions and has none yet. */
  const named = async (tenant: Tenant, p: PartyIdentity | undefined): Promise<PartyIdentity | undefined> => {
    if (p === undefined || p.displayName !== undefined) return p;
    const rec = await d.directory.extension(tenant.id, p.user).catch(() => null);
    return rec?.displayName !== undefined ? { ...p, displayName: rec.displayName } : p;
  };

  /**
   * INVITE with Replaces (RFC 3891) naming a bridged leg of this tenant: the new caller takes
   * that leg's place. The other party is re-INVITEd with the caller's offer, its answer answers
   * the caller, the replaced leg gets a BYE and the two are bridged; the call's CDR is this
   * INVITE's. Unknown (or early, or busy transferring) → 481; another tenant's call → 403.
   */
  const replaces: Step = async (ctx) => {
    const h = ctx.req.get('replaces');
    if (h === undefined) return 'next';
    await ctx.tracking;
    const tenant = ctx.tenant as Tenant;
    const r = parseReplacesHeader(h);
    if (!r) return reply(ctx, 400, 'Bad Replaces', 'bad-replaces');
    const found = await dialogs.forTenant(tenant.id).find(r);
    if (found.kind === 'other-tenant') return reply(ctx, 403, 'Forbidden', 'replaces-other-tenant');
    const taken = found.kind === 'found' ? await found.leg.takeOver() : undefined;
    if (!taken) return reply(ctx, 481, 'Call/Transaction Does Not Exist', 'replaces-unknown');
    // The new caller and the party it joins are told who they now talk to (RFC 4916-style): on the
    // re-INVITE to the party, on the 200 OK to the new caller.
    const callerExt = ctx.caller?.kind === 'extension' ? ctx.caller.extension : undefined;
    const [newParty, joinedParty] = await Promise.all([named(tenant, callerExt !== undefined ? { user: callerExt } : undefined), named(tenant, found.kind === 'found' ? found.leg.peer : undefined)]);
    let mine: Leg;
    try {
      if (!taken.other.reoffer) throw new Error('leg cannot be re-offered');
      const answer = await taken.other.reoffer(ctx.invite.sdp, newParty ? { 'P-Asserted-Identity': identityUri(newParty, tenant.sipDomain) } : undefined);
      mine = await ctx.invite.answer(answer, joinedParty ? { 'P-Asserted-Identity': identityUri(joinedParty, tenant.sipDomain) } : undefined);
    } catch (err) {
      ctx.log.info({ err }, 'INVITE with Replaces: joining failed');
      await Promise.all([taken.other.hangup(), taken.replaced.hangup()]).catch(() => undefined);
      return reply(ctx, 500, 'Server Internal Error', 'replaces-failed', false);
    }
    void taken.replaced.hangup();
    const answeredAt = now();
    let hangupBy: HangupBy = 'system';
    try {
      await recordAnswer(ctx, { answeredAt, legs: [mine, taken.other], bLegCallId: taken.other.callId, answerSdp: taken.other.remoteSdp }).catch((err: unknown) =>
        ctx.log.warn({ err }, 'call record not updated'),
      );
      hangupBy = await ctx.io.bridge(mine, taken.other, undefined, {
        dialogs: dialogs.forTenant(tenant.id),
        ...(ctx.control ? { control: ctx.control } : {}),
        ...(lc?.keepAliveMs ? { keepAliveMs: lc.keepAliveMs } : {}),
        parties: { ...(newParty ? { caller: newParty } : {}), ...(joinedParty ? { callee: joinedParty } : {}) },
      });
    } catch (err) {
      ctx.log.warn({ err }, 'replacing call failed');
      await Promise.all([mine.hangup(), taken.other.hangup()]).catch(() => undefined);
    }
    ctx.outcome = {
      answeredAt,
      endedAt: now(),
      finalStatus: 200,
      finalReason: 'OK',
      hangupBy,
      cancelledByCaller: false,
      bLegCallId: taken.other.callId,
      answerSdp: taken.other.remoteSdp,
      attempts: [],
    };
    return 'done';
  };

  /** Load what the call can touch, then the pure planRoute decides. */
  const planRouteStep: Step = async (ctx) => {
    const tenant = ctx.tenant as Tenant;
    const loaded = await (ctx.routing ??
      loadRouting(d, tenant.id, ctx.dialled, ctx.caller as RouteCaller, {
        ...(ctx.callerRecord ? { callerRecord: ctx.callerRecord } : {}),
      }));
    ctx.trunkAuth = trunkCredentials(loaded.view.trunks);
    ctx.plan = planRoute(ctx.dialled, ctx.caller as RouteCaller, loaded.view, loaded.registrations, {
      hunt: loaded.hunt,
      ...(d.trunkSetupTimeoutSec !== undefined ? { trunkSetupTimeoutSec: d.trunkSetupTimeoutSec } : {}),
    });
    if (ctx.plan.notes.length > 0) ctx.log.debug({ notes: ctx.plan.notes }, 'route plan notes');
    return 'next';
  };

  const sessionOptions = (ctx: RouteContext, tenant: Tenant): SessionOptions => {
    // The tenant's own maximum call duration when it has one, else the platform's (docs/reliability.md).
    const maxDurationMs = maxCallMsFor(tenant, lc?.maxDurationMs);
    return {
      domain: tenant.sipDomain,
      tracker: {
        groupAnswered: (g, m) => d.hunt.groupAnswered(tenant.id, g, m),
        // Recorded with the call's answer too (`AnsweredCall.busy`): if this process dies, the recovery counts them idle again (docs/scaling.md).
        callStarted: (exts) => d.hunt.callStarted(tenant.id, exts),
        // Not awaited by the session: written with the admission release and the CDR, and awaited by
        // finishCall before the call record is cleared.
        callEnded: (exts) => {
          const ended = d.hunt.callEnded(tenant.id, exts, now()).catch((err: unknown) => ctx.log.warn({ err, where: 'tracker' }, 'call session error'));
          const before = ctx.huntEnded;
          ctx.huntEnded = before ? Promise.all([before, ended]).then(() => undefined) : ended;
          return Promise.resolve();
        },
      },
      pickups: pickups.forTenant(tenant.id),
      ...(ctx.trunkGate ? { trunkGate: ctx.trunkGate } : {}),
      ...(ctx.trunkAuth && ctx.trunkAuth.size > 0 ? { trunkAuth: (id: string) => ctx.trunkAuth?.get(id) } : {}),
      ...(d.trunkRingCapSec !== undefined ? { trunkRingCapSec: d.trunkRingCapSec } : {}),
      onError: (err, where) => ctx.log.warn({ err, where }, 'call session error'),
      transfer: (t) => blindTransfer(ctx, tenant, t),
      dialogs: dialogs.forTenant(tenant.id),
      attended: (t) => attendedTransfer(ctx, tenant, t),
      ...(ctx.control ? { control: ctx.control } : {}),
      ...(lc?.keepAliveMs !== undefined ? { keepAliveMs: lc.keepAliveMs } : {}),
      ...(maxDurationMs !== undefined ? { maxDurationMs } : {}),
      onAnswered: (a) => recordAnswer(ctx, a),
    };
  };

  /**
   * REFER with Replaces: the transferee is joined to the other party of the replaced call (both
   * re-INVITEd with each other's SDP, see srf-io.ts). The joined call is admitted like a new call
   * and has its own CDR: A-leg Call-ID of the transferee, From tag `axfer-…`, caller = the
   * transferor's extension, callee = the Refer-To user.
   */
  const attendedTransfer = async (
    ctx: RouteContext,
    tenant: Tenant,
    t: AttendedRequest & { readonly transferorExtension?: string; readonly transfereeParty?: PartyIdentity },
  ): Promise<{ ok: true } | { ok: false; status: number; reason: string }> => {
    const ext = t.transferorExtension;
    if (ext === undefined) return { ok: false, status: 403, reason: 'Forbidden' };
    const caller: RouteCaller = { kind: 'extension', extension: ext };
    const fromTag = `axfer-${now().toString(36)}`;
    const invite: InboundInvite = {
      callId: t.transferee.callId,
      fromTag,
      sdp: t.transferee.remoteSdp,
      progress: () => undefined,
      answer: () => Promise.reject(new Error('joined call is not answered')),
      reject: () => undefined,
      onCancel: () => undefined,
    };
    const [callerRecord, targetRecord] = await Promise.all([d.directory.extension(tenant.id, ext), d.directory.extension(tenant.id, t.target)]);
    const xctx: RouteContext = {
      req: ctx.req,
      invite,
      io: ctx.io,
      log: ctx.log.child({ attendedTransfer: t.target }),
      startedAt: now(),
      dialled: t.target,
      fromUser: ext,
      fromHost: tenant.sipDomain,
      toUser: t.target,
      tenant,
      caller,
      ...(callerRecord ? { callerRecord } : {}),
      callerCodecs: sdpCodecs(t.transferee.remoteSdp),
    };
    const adm = await admit({ tenant, callId: `${invite.callId};${fromTag}`, caller, dialled: t.target, emergency: false, sourceAddress: ctx.req.source_address });
    if (!adm.admit) return { ok: false, status: adm.status, reason: adm.reason };
    xctx.admissionId = `${invite.callId};${fromTag}`;
    bindAdmission(xctx, tenant, adm);
    // Each party is told who it now talks to, on the re-INVITE that connects it (RFC 4916-style).
    const [transfereeParty, joinedParty] = await Promise.all([named(tenant, t.transfereeParty), named(tenant, t.joinedParty)]);
    const j = await t.join({
      ...(joinedParty ? { transferee: { 'P-Asserted-Identity': identityUri(joinedParty, tenant.sipDomain) } } : {}),
      ...(transfereeParty ? { other: { 'P-Asserted-Identity': identityUri(transfereeParty, tenant.sipDomain) } } : {}),
    });
    if (!j.ok) {
      await xctx.release?.().catch((err: unknown) => xctx.log.warn({ err }, 'admission release failed'));
      return j;
    }
    const answeredAt = now();
    await trackCall(xctx);
    await recordAnswer(xctx, {
      answeredAt,
      legs: [t.transferee, j.other],
      bLegCallId: j.other.callId,
      answerSdp: j.other.remoteSdp,
      ...(targetRecord ? { answeredBy: targetRecord.number } : {}),
    }).catch((err: unknown) => xctx.log.warn({ err }, 'call record not updated'));
    const joined = (async () => {
      let hangupBy: HangupBy = 'system';
      try {
        hangupBy = await ctx.io.bridge(t.transferee, j.other, undefined, {
          dialogs: dialogs.forTenant(tenant.id),
          ...(xctx.control ? { control: xctx.control } : {}),
          ...(lc?.keepAliveMs ? { keepAliveMs: lc.keepAliveMs } : {}),
          parties: { ...(transfereeParty ? { caller: transfereeParty } : {}), ...(joinedParty ? { callee: joinedParty } : {}) },
        });
      } catch (err) {
        xctx.log.warn({ err }, 'joined call failed');
        await Promise.all([t.transferee.hangup(), j.other.hangup()]).catch(() => undefined);
      }
      xctx.outcome = {
        answeredAt,
        endedAt: now(),
        finalStatus: 200,
        finalReason: 'OK',
        hangupBy,
        cancelledByCaller: false,
        bLegCallId: j.other.callId,
        answerSdp: j.other.remoteSdp,
        ...(targetRecord ? { answeredBy: targetRecord.number } : {}),
        attempts: [],
      };
      await finishCall(xctx);
    })();
    trackWork(joined, xctx);
    return { ok: true };
  };

  /**
   * REFER: route the Refer-To target on behalf of the transferor (its permission class), offer
   * it the transferee's SDP, re-INVITE the transferee with the target's answer and bridge them.
   * Resolves once the target answered or failed; the transferred call has its own CDR.
   */
  const blindTransfer = async (
    ctx: RouteContext,
    tenant: Tenant,
    t: TransferRequest & { readonly transferorExtension?: string; readonly transfereeIdentity?: PartyIdentity },
  ): Promise<{ ok: true } | { ok: false; status: number; reason: string }> => {
    const ext = t.transferorExtension;
    if (ext === undefined) return { ok: false, status: 403, reason: 'Forbidden' };
    // Routed with the transferor's permissions (it placed the call), shown as the party who stays.
    const caller: RouteCaller = { kind: 'extension', extension: ext };
    const loaded = await loadRouting(d, tenant.id, t.target, caller);
    const planned = planRoute(t.target, caller, loaded.view, loaded.registrations, {
      hunt: loaded.hunt,
      ...(d.trunkSetupTimeoutSec !== undefined ? { trunkSetupTimeoutSec: d.trunkSetupTimeoutSec } : {}),
    });
    const shown = t.transfereeIdentity;
    const { displayName: _transferorName, ...callerRest } = planned.caller;
    const plan: RoutePlan = shown
      ? { ...planned, caller: { ...callerRest, user: shown.user, ...(shown.displayName !== undefined ? { displayName: shown.displayName } : {}) } }
      : planned;
    // The transferee is told who it now talks to (RFC 4916-style connected identity).
    const targetName = loaded.view.extensions.get(t.target)?.displayName ?? loaded.view.groups.get(t.target)?.name;
    const connected = identityUri({ user: t.target, ...(targetName ? { displayName: targetName } : {}) }, tenant.sipDomain);
    let decide!: (r: { ok: true } | { ok: false; status: number; reason: string }) => void;
    const decided = new Promise<{ ok: true } | { ok: false; status: number; reason: string }>((r) => (decide = r));
    const invite: InboundInvite = {
      callId: t.transferee.callId,
      fromTag: `xfer-${now().toString(36)}`,
      sdp: t.transferee.remoteSdp,
      progress: () => undefined,
      async answer(sdp) {
        if (!t.transferee.reoffer) throw new Error('transferee cannot be re-offered');
        await t.transferee.reoffer(sdp, { 'P-Asserted-Identity': connected });
        decide({ ok: true });
        return t.transferee;
      },
      reject: (status, reason) => decide({ ok: false, status, reason }),
      onCancel: () => undefined,
    };
    const xctx: RouteContext = {
      req: ctx.req,
      invite,
      io: ctx.io,
      log: ctx.log.child({ transfer: t.target }),
      startedAt: now(),
      dialled: t.target,
      fromUser: ext,
      fromHost: tenant.sipDomain,
      toUser: t.target,
      tenant,
      caller,
      ...(loaded.view.extensions.get(ext) ? { callerRecord: loaded.view.extensions.get(ext) as ExtensionView } : {}),
      plan,
      trunkAuth: trunkCredentials(loaded.view.trunks),
      callerCodecs: sdpCodecs(t.transferee.remoteSdp),
    };
    // The transferred call is a new call of the tenant: it is admitted (and holds its own port) like any other.
    const adm = await admit({
      tenant,
      callId: `${invite.callId};${invite.fromTag}`,
      caller,
      dialled: t.target,
      emergency: parseDialled(t.target).type === 'emergency',
      sourceAddress: ctx.req.source_address,
    });
    if (!adm.admit) return { ok: false, status: adm.status, reason: adm.reason };
    xctx.admissionId = `${invite.callId};${invite.fromTag}`;
    bindAdmission(xctx, tenant, adm);
    await trackCall(xctx);
    const session = new CallSession(plan, invite, ctx.io, sessionOptions(xctx, tenant));
    const transferred = session
      .run()
      .then(
        (outcome) => {
          xctx.outcome = outcome;
          decide({ ok: false, status: outcome.finalStatus, reason: outcome.finalReason });
        },
        (err: unknown) => {
          xctx.log.error({ err }, 'transfer session failed');
          decide({ ok: false, status: 500, reason: 'Server Internal Error' });
        },
      )
      .finally(() => finishCall(xctx));
    trackWork(transferred, xctx);
    return decided;
  };

  /** Work a call starts beyond its own INVITE (transfers): tracked, never detached. */
  const trackWork = (p: Promise<unknown>, ctx: RouteContext): void => {
    const onError = (err: unknown): void => ctx.log.error({ err }, 'call work failed');
    if (lc) lc.registry.track(p, onError);
    else p.catch(onError);
  };

  /** The call session runs the plan to the end of the call. */
  const runCall: Step = async (ctx) => {
    const tenant = ctx.tenant as Tenant;
    const session = new CallSession(ctx.plan as RoutePlan, ctx.invite, ctx.io, sessionOptions(ctx, tenant));
    ctx.outcome = await session.run();
    return 'done';
  };

  /** Refuses a plan that reaches a toll class (international, premium) blocked for the tenant. */
  const tollFraudGuard: Step = async (ctx) => {
    if (d.tollGuard === undefined || ctx.plan === undefined) return 'next';
    const refusal = await d.tollGuard(ctx.tenant as Tenant, ctx.plan);
    if (refusal === undefined) return 'next';
    ctx.log.info({ code: refusal.code, dialled: ctx.dialled }, 'call refused by the toll-fraud guard');
    return reply(ctx, refusal.status, refusal.reason, refusal.code, true, { ...refusal.headers });
  };

  const steps: readonly [string, Step][] = [
    ['initContext', initContext],
    ['sanity', sanity],
    ['identifyTenant', identifyTenant],
    ['drainGate', drainGate],
    ['overloadGate', overloadGate],
    ['authenticate', authenticate],
    ['checkOffer', checkOffer],
    ['admitCall', admitCall],
    ['recordCall', recordCall],
    ['replaces', replaces],
    ['planRoute', planRouteStep],
    ['tollFraudGuard', tollFraudGuard],
    ['runCall', runCall],
  ];

  return async function route(req: InviteRequest, invite: InboundInvite, io: CallIo): Promise<RouteContext> {
    // eslint-disable-next-line prefer-const -- the refusal wrapper reads the context it is part of
    let ctx: RouteContext;
    const refusable = refusing(() => ctx, invite);
    // The call's logger is made when something is logged: most calls log nothing at the default level.
    let log: Logger | undefined;
    ctx = {
      req,
      invite: refusable,
      io,
      get log(): Logger {
        return (log ??= d.log.child({ callId: invite.callId }));
      },
      startedAt: now(),
      dialled: '',
      fromUser: '',
      fromHost: '',
      toUser: '',
      callerCodecs: [],
    };
    let at = '';
    // A drain waits for every INVITE in the route, not only for those already recorded as calls.
    let routed: (() => void) | undefined;
    lc?.registry.track(new Promise<void>((r) => (routed = r)), () => undefined);
    try {
      for (const [name, step] of steps) {
        at = name;
        ctx.step = name;
        if ((await step(ctx)) === 'done') break;
      }
    } catch (err) {
      ctx.log.error({ err, step: at }, 'INVITE route failed');
      if (!ctx.outcome && !ctx.answered) reply(ctx, 500, 'Server Internal Error', 'internal-error', false);
    } finally {
      await finishCall(ctx);
      routed?.();
    }
    return ctx;
  };
}

/** How long a call's CDR publish is retried (a Redis restart), ms. */
const CDR_RETRY_MS = 10 * 60_000;

/** Runs `fn` until it succeeds, backing off from 100 ms to 5 s, for at most `forMs`. Resolves false when it gave up. */
export async function retrying(fn: () => Promise<unknown>, onError: (err: unknown, first: boolean) => void, forMs = CDR_RETRY_MS): Promise<boolean> {
  const until = Date.now() + forMs;
  for (let delay = 100, first = true; ; delay = Math.min(delay * 2, 5000), first = false) {
    try {
      await fn();
      return true;
    } catch (err) {
      onError(err, first);
      if (Date.now() + delay > until) return false;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** The codecs of an answer's SDP, parsed once per SDP (an answered call's facts are built for its record and for its CDR). */
function answerCodecs(ctx: RouteContext, sdp: string): string[] {
  if (ctx.answerCodecs?.sdp !== sdp) ctx.answerCodecs = { sdp, codecs: sdpCodecs(sdp) };
  return [...ctx.answerCodecs.codecs];
}

/** The CDR facts of a routed (or refused) call; undefined before a tenant and caller are known. */
export function callFacts(ctx: RouteContext, endedAt: number, outcome: SessionOutcome | undefined = ctx.outcome): CallFacts | undefined {
  const tenant = ctx.tenant;
  const caller = ctx.caller;
  if (!tenant || !caller) return undefined;
  if (ctx.answered?.code === 'auth-blocked' || ctx.answered?.code === 'auth-failed') return undefined;
  const plan = ctx.plan;
  const o = outcome;
  const step = o?.step;
  const trunkStep = step?.kind === 'trunk' ? step : undefined;
  const ringStep = step?.kind === 'ring' ? step : undefined;
  const direction: CallDirection =
    trunkStep?.direction ?? plan?.direction ?? (caller.kind === 'trunk' ? 'inbound' : parseDialled(ctx.dialled).type === 'emergency' ? 'emergency' : 'internal');
  const rec = ctx.callerRecord;
  const codecs = o?.answerSdp !== undefined ? answerCodecs(ctx, o.answerSdp) : [...ctx.callerCodecs];
  const calleeExt = o?.answeredBy ?? plan?.callee.extension;
  const group = ringStep?.group ?? plan?.callee.group;
  const trunkId = trunkStep?.trunkId ?? ctx.trunk?.id;
  const status = o?.finalStatus ?? ctx.answered?.status ?? 500;
  const reason = o?.finalReason ?? ctx.answered?.reason;
  const rejection = o?.rejectionReason ?? (ctx.answered?.rejected === true ? ctx.answered.code : undefined);
  return {
    tenantId: tenant.id,
    aLegCallId: ctx.invite.callId,
    aLegFromTag: ctx.invite.fromTag,
    ...(o?.bLegCallId !== undefined ? { bLegCallId: o.bLegCallId } : {}),
    direction,
    caller: {
      dialled: caller.kind === 'trunk' ? caller.number : ctx.fromUser,
      ...(plan?.caller.e164 !== undefined ? { e164: plan.caller.e164 } : {}),
      ...(caller.kind === 'extension' ? { extension: caller.extension } : {}),
      ...(rec?.displayName ? { displayName: rec.displayName } : plan?.caller.displayName !== undefined ? { displayName: plan.caller.displayName } : {}),
      ...(rec?.department ? { department: rec.department } : {}),
    },
    callee: {
      dialled: ctx.dialled,
      ...(plan?.callee.e164 !== undefined ? { e164: plan.callee.e164 } : {}),
      ...(calleeExt !== undefined ? { extension: calleeExt } : {}),
    },
    ...(group !== undefined ? { group } : {}),
    ...(trunkId !== undefined ? { trunkId } : {}),
    ...(trunkStep ? { gatewayId: trunkStep.gatewayId } : {}),
    startedAt: ctx.startedAt,
    ...(o?.answeredAt !== undefined ? { answeredAt: o.answeredAt } : {}),
    endedAt: o?.endedAt ?? endedAt,
    finalStatus: status,
    ...(reason !== undefined ? { finalReason: reason } : {}),
    ...(o?.hangupBy !== undefined ? { hangupBy: o.hangupBy } : {}),
    ...(rejection !== undefined ? { rejectionReason: rejection } : {}),
    ...(o?.cancelledByCaller === true ? { cancelledByCaller: true } : {}),
    ...(o?.unreachable === true ? { unreachable: true } : {}),
    codecs,
    ...(ctx.invite.userAgent !== undefined ? { userAgent: ctx.invite.userAgent } : {}),
    privacy: plan?.privacy ?? false,
    ...(ctx.control?.endCause !== undefined ? { endCause: ctx.control.endCause } : {}),
  };
}
