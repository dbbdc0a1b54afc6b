/**
 * The INVITE route, as named steps in the manner of a kamailio.cfg `request_route`:
 *
 *   initContext → sanity → identifyTenant → overloadGate → authenticate → checkOffer → admitCall → replaces → planRoute → runCall
 *
 * Each step either lets the request continue or answers it (and says why). Whatever
 * happens after the caller is known (a phone that authenticated, or a trunk recognised by
 * its source address), the call gets a CDR, published in `finally` and awaited; the
 * admission lease is released in the same `finally`.
 */
import {
  buildCdr,
  parseDialled,
  planRoute,
  type CallDirection,
  type CallFacts,
  type ExtensionView,
  type HangupBy,
  type RouteCaller,
  type RoutePlan,
  type Tenant,
  type TrunkRecord,
} from '@kumo/domain';
import type { Logger } from '@kumo/runtime';
import type { AuthGuardStore, DirectoryRepo, HuntStateStore, LocationStore } from '@kumo/store';
import {
  buildChallenges,
  checkNonce,
  createNonce,
  nonceCount,
  parseDigestCredentials,
  verifyDigest,
  type DigestAlgorithm,
} from '../auth/digest.js';
import { multiHeader } from '../drachtio/types.js';
import { LocalDialogRegistry, parseReplacesHeader } from '../call/dialogs.js';
import { LocalPickupRegistry } from '../call/pickup.js';
import { checkSdp, sdpCodecs } from '../call/sdp.js';
import { CallSession, type SessionOptions, type SessionOutcome, type TrunkGate } from '../call/session.js';
import type { AttendedRequest, CallIo, InboundInvite, Leg, TransferRequest } from '../call/types.js';
import { tenantDomainOf, type TenantHostSettings } from '../tenant/identify.js';
import { loadRouting } from './load.js';

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

export interface RouteDeps {
  readonly log: Logger;
  readonly directory: DirectoryRepo;
  readonly location: LocationStore;
  readonly hunt: HuntStateStore;
  readonly guard: AuthGuardStore;
  readonly publishCdr: PublishCdr;
  readonly admitCall?: AdmitCall;
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
  readonly auth: {
    readonly nonceSecret: string;
    readonly nonceLifetimeMs: number;
    readonly algorithms: readonly DigestAlgorithm[];
    /** User-Agents that get the MD5 challenge first (as for REGISTER). */
    readonly md5FirstUserAgents?: RegExp | undefined;
  };
  readonly trunkSetupTimeoutSec?: number;
  readonly trunkRingCapSec?: number;
  /** How a phone's domain names its tenant: the registrar's rule (tenant/identify.ts). */
  readonly tenantHosts?: TenantHostSettings;
  readonly now?: () => number;
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
  callerCodecs: readonly string[];
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

export function createInviteRoute(d: RouteDeps) {
  const now = d.now ?? Date.now;
  const admit = d.admitCall ?? admitEverything;
  const pickups = d.pickups ?? new LocalPickupRegistry();
  const dialogs = d.dialogs ?? new LocalDialogRegistry();

  const reply = (ctx: RouteContext, status: number, reason: string, code: string, rejected = true, headers?: Record<string, string>): 'done' => {
    ctx.answered = { status, reason, code, rejected };
    ctx.invite.reject(status, reason, headers);
    return 'done';
  };

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
    const first = candidates.find((m) => m.exactPort) ?? candidates[0];
    const tenant = first ? await tenantOf(first.tenantId) : null;
    if (!first || !tenant) return undefined;
    const c = { tenant, trunk: first.trunk, dialled: ctx.dialled };
    return first.exactPort ? { match: c } : { fallback: c };
  };

  /** Trunks by gateway identity and called DID; phones by their SIP domain, as the registrar does. */
  const identifyTenant: Step = async (ctx) => {
    const carrier = await carrierCall(ctx);
    const hosts = d.tenantHosts ?? {};
    const phoneTenant = async (): Promise<Tenant | null> =>
      (await d.directory.tenantByDomain(tenantDomainOf(ctx.fromHost, hosts))) ?? (await d.directory.tenantByDomain(tenantDomainOf(hostOf(ctx.req.uri), hosts)));
    const byDomain = carrier?.match ? null : await phoneTenant();
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

  /** Digest (407) for phones, as for REGISTER; the caller is the authenticated extension. */
  const authenticate: Step = async (ctx) => {
    if (ctx.trunk) return 'next';
    const tenant = ctx.tenant as Tenant;
    const realm = tenant.sipDomain;
    const a = d.auth;
    const challenge = (stale: boolean): 'done' => {
      const nonce = createNonce({ secret: a.nonceSecret, realm, nowMs: now() });
      const ua = ctx.req.get('user-agent');
      const algorithms =
        ua !== undefined && a.md5FirstUserAgents?.test(ua) === true && a.algorithms.includes('MD5')
          ? ['MD5' as const, ...a.algorithms.filter((x) => x !== 'MD5')]
          : a.algorithms;
      ctx.invite.reject(407, 'Proxy Authentication Required', multiHeader('Proxy-Authenticate', buildChallenges({ realm, nonce, algorithms, stale })));
      return 'done';
    };
    const creds = parseDigestCredentials(ctx.req.get('proxy-authorization'));
    if (!creds || creds.realm.toLowerCase() !== realm || !a.algorithms.includes(creds.algorithm)) return challenge(false);
    const state = checkNonce(creds.nonce, { secret: a.nonceSecret, realm, nowMs: now(), lifetimeMs: a.nonceLifetimeMs });
    if (state !== 'valid') return challenge(state === 'stale');
    const rec = await d.directory.extension(tenant.id, creds.username);
    const ha1 = rec ? (creds.algorithm === 'MD5' ? rec.ha1Md5 : rec.ha1Sha256) : undefined;
    if (!rec || ha1 === undefined || !verifyDigest(creds, ha1, 'INVITE')) {
      // No CDR: nobody was authenticated.
      ctx.invite.reject(403, 'Forbidden');
      ctx.answered = { status: 403, reason: 'Forbidden', code: 'auth-failed', rejected: true };
      return 'done';
    }
    if (!(await d.guard.acceptNonceCount(creds.nonce, nonceCount(creds) as number, a.nonceLifetimeMs + 60_000))) return challenge(false);
    ctx.callerRecord = rec;
    ctx.caller = { kind: 'extension', extension: rec.number };
    if (ctx.fromUser !== rec.number) return reply(ctx, 403, 'Forbidden (From does not match the authenticated user)', 'from-mismatch');
    return 'next';
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
    bindAdmission(ctx, tenant, r);
    return 'next';
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

  /**
   * INVITE with Replaces (RFC 3891) naming a bridged leg of this tenant: the new caller takes
   * that leg's place. The other party is re-INVITEd with the caller's offer, its answer answers
   * the caller, the replaced leg gets a BYE and the two are bridged; the call's CDR is this
   * INVITE's. Unknown (or early, or busy transferring) → 481; another tenant's call → 403.
   */
  const replaces: Step = async (ctx) => {
    const h = ctx.req.get('replaces');
    if (h === undefined) return 'next';
    const tenant = ctx.tenant as Tenant;
    const r = parseReplacesHeader(h);
    if (!r) return reply(ctx, 400, 'Bad Replaces', 'bad-replaces');
    const found = dialogs.forTenant(tenant.id).find(r);
    if (found.kind === 'other-tenant') return reply(ctx, 403, 'Forbidden', 'replaces-other-tenant');
    const taken = found.kind === 'found' ? found.leg.takeOver() : undefined;
    if (!taken) return reply(ctx, 481, 'Call/Transaction Does Not Exist', 'replaces-unknown');
    let mine: Leg;
    try {
      if (!taken.other.reoffer) throw new Error('leg cannot be re-offered');
      const answer = await taken.other.reoffer(ctx.invite.sdp);
      mine = await ctx.invite.answer(answer);
    } catch (err) {
      ctx.log.info({ err }, 'INVITE with Replaces: joining failed');
      await Promise.all([taken.other.hangup(), taken.replaced.hangup()]).catch(() => undefined);
      return reply(ctx, 500, 'Server Internal Error', 'replaces-failed', false);
    }
    void taken.replaced.hangup();
    const answeredAt = now();
    let hangupBy: HangupBy = 'system';
    try {
      hangupBy = await ctx.io.bridge(mine, taken.other, undefined, { dialogs: dialogs.forTenant(tenant.id) });
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
    const loaded = await loadRouting(d, tenant.id, ctx.dialled, ctx.caller as RouteCaller, {
      ...(ctx.callerRecord ? { callerRecord: ctx.callerRecord } : {}),
    });
    ctx.plan = planRoute(ctx.dialled, ctx.caller as RouteCaller, loaded.view, loaded.registrations, {
      hunt: loaded.hunt,
      ...(d.trunkSetupTimeoutSec !== undefined ? { trunkSetupTimeoutSec: d.trunkSetupTimeoutSec } : {}),
    });
    if (ctx.plan.notes.length > 0) ctx.log.debug({ notes: ctx.plan.notes }, 'route plan notes');
    return 'next';
  };

  const sessionOptions = (ctx: RouteContext, tenant: Tenant): SessionOptions => ({
    domain: tenant.sipDomain,
    tracker: {
      groupAnswered: (g, m) => d.hunt.groupAnswered(tenant.id, g, m),
      callStarted: (exts) => d.hunt.callStarted(tenant.id, exts),
      callEnded: (exts) => d.hunt.callEnded(tenant.id, exts, now()),
    },
    pickups: pickups.forTenant(tenant.id),
    ...(ctx.trunkGate ? { trunkGate: ctx.trunkGate } : {}),
    ...(d.trunkRingCapSec !== undefined ? { trunkRingCapSec: d.trunkRingCapSec } : {}),
    onError: (err, where) => ctx.log.warn({ err, where }, 'call session error'),
    transfer: (t) => blindTransfer(ctx, tenant, t),
    dialogs: dialogs.forTenant(tenant.id),
    attended: (t) => attendedTransfer(ctx, tenant, t),
  });

  /**
   * REFER with Replaces: the transferee is joined to the other party of the replaced call (both
   * re-INVITEd with each other's SDP, see srf-io.ts). The joined call is admitted like a new call
   * and has its own CDR: A-leg Call-ID of the transferee, From tag `axfer-…`, caller = the
   * transferor's extension, callee = the Refer-To user.
   */
  const attendedTransfer = async (
    ctx: RouteContext,
    tenant: Tenant,
    t: AttendedRequest & { readonly transferorExtension?: string },
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
    bindAdmission(xctx, tenant, adm);
    const j = await t.join();
    if (!j.ok) {
      await xctx.release?.().catch((err: unknown) => xctx.log.warn({ err }, 'admission release failed'));
      return j;
    }
    const answeredAt = now();
    void (async () => {
      let hangupBy: HangupBy = 'system';
      try {
        hangupBy = await ctx.io.bridge(t.transferee, j.other, undefined, { dialogs: dialogs.forTenant(tenant.id) });
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
      try {
        await xctx.admissionAnswered?.();
        await xctx.release?.();
      } catch (err) {
        xctx.log.warn({ err }, 'admission release failed');
      }
      const facts = callFacts(xctx, now());
      if (facts) await d.publishCdr(buildCdr(facts)).catch((err: unknown) => xctx.log.error({ err, cdr: buildCdr(facts) }, 'CDR publish failed'));
    })();
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
    t: TransferRequest & { readonly transferorExtension?: string },
  ): Promise<{ ok: true } | { ok: false; status: number; reason: string }> => {
    const ext = t.transferorExtension;
    if (ext === undefined) return { ok: false, status: 403, reason: 'Forbidden' };
    const caller: RouteCaller = { kind: 'extension', extension: ext };
    const loaded = await loadRouting(d, tenant.id, t.target, caller);
    const plan = planRoute(t.target, caller, loaded.view, loaded.registrations, {
      hunt: loaded.hunt,
      ...(d.trunkSetupTimeoutSec !== undefined ? { trunkSetupTimeoutSec: d.trunkSetupTimeoutSec } : {}),
    });
    let decide!: (r: { ok: true } | { ok: false; status: number; reason: string }) => void;
    const decided = new Promise<{ ok: true } | { ok: false; status: number; reason: string }>((r) => (decide = r));
    const invite: InboundInvite = {
      callId: t.transferee.callId,
      fromTag: `xfer-${now().toString(36)}`,
      sdp: t.transferee.remoteSdp,
      progress: () => undefined,
      async answer(sdp) {
        if (!t.transferee.reoffer) throw new Error('transferee cannot be re-offered');
        await t.transferee.reoffer(sdp);
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
    bindAdmission(xctx, tenant, adm);
    const session = new CallSession(plan, invite, ctx.io, sessionOptions(xctx, tenant));
    void session
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
      .finally(async () => {
        try {
          if (xctx.outcome?.answeredAt !== undefined) await xctx.admissionAnswered?.();
          await xctx.release?.();
        } catch (err) {
          xctx.log.warn({ err }, 'admission release failed');
        }
        const facts = callFacts(xctx, now());
        if (facts) await d.publishCdr(buildCdr(facts)).catch((err: unknown) => xctx.log.error({ err }, 'CDR publish failed'));
      });
    return decided;
  };

  /** The call session runs the plan to the end of the call. */
  const runCall: Step = async (ctx) => {
    const tenant = ctx.tenant as Tenant;
    const session = new CallSession(ctx.plan as RoutePlan, ctx.invite, ctx.io, sessionOptions(ctx, tenant));
    ctx.outcome = await session.run();
    return 'done';
  };

  const steps: readonly [string, Step][] = [
    ['initContext', initContext],
    ['sanity', sanity],
    ['identifyTenant', identifyTenant],
    ['overloadGate', overloadGate],
    ['authenticate', authenticate],
    ['checkOffer', checkOffer],
    ['admitCall', admitCall],
    ['replaces', replaces],
    ['planRoute', planRouteStep],
    ['runCall', runCall],
  ];

  return async function route(req: InviteRequest, invite: InboundInvite, io: CallIo): Promise<RouteContext> {
    const ctx: RouteContext = {
      req,
      invite,
      io,
      log: d.log.child({ callId: invite.callId }),
      startedAt: now(),
      dialled: '',
      fromUser: '',
      fromHost: '',
      toUser: '',
      callerCodecs: [],
    };
    let at = '';
    try {
      for (const [name, step] of steps) {
        at = name;
        if ((await step(ctx)) === 'done') break;
      }
    } catch (err) {
      ctx.log.error({ err, step: at }, 'INVITE route failed');
      if (!ctx.outcome && !ctx.answered) reply(ctx, 500, 'Server Internal Error', 'internal-error', false);
    } finally {
      try {
        if (ctx.outcome?.answeredAt !== undefined) await ctx.admissionAnswered?.();
        await ctx.release?.();
      } catch (err) {
        ctx.log.warn({ err }, 'admission release failed');
      }
      const facts = callFacts(ctx, now());
      if (facts) {
        try {
          await d.publishCdr(buildCdr(facts));
        } catch (err) {
          // The billing-relevant write failed: log loudly with the whole record so it can be replayed.
          ctx.log.error({ err, cdr: buildCdr(facts) }, 'CDR publish failed');
        }
      }
    }
    return ctx;
  };
}

/** The CDR facts of a routed (or refused) call; undefined before a tenant and caller are known. */
export function callFacts(ctx: RouteContext, endedAt: number): CallFacts | undefined {
  const tenant = ctx.tenant;
  const caller = ctx.caller;
  if (!tenant || !caller) return undefined;
  if (ctx.answered?.code === 'from-mismatch' || ctx.answered?.code === 'auth-failed') return undefined;
  const plan = ctx.plan;
  const o = ctx.outcome;
  const step = o?.step;
  const trunkStep = step?.kind === 'trunk' ? step : undefined;
  const ringStep = step?.kind === 'ring' ? step : undefined;
  const direction: CallDirection =
    trunkStep?.direction ?? plan?.direction ?? (caller.kind === 'trunk' ? 'inbound' : parseDialled(ctx.dialled).type === 'emergency' ? 'emergency' : 'internal');
  const rec = ctx.callerRecord;
  const codecs = o?.answerSdp !== undefined ? sdpCodecs(o.answerSdp) : [...ctx.callerCodecs];
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
    codecs,
    ...(ctx.invite.userAgent !== undefined ? { userAgent: ctx.invite.userAgent } : {}),
    privacy: plan?.privacy ?? false,
  };
}
