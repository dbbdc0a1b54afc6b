/**
 * The one digest authentication step of Kumo: REGISTER (401/WWW-Authenticate), INVITE and every
 * other challenged request (407/Proxy-Authenticate) go through `Authenticator.authenticate`.
 *
 * One rule for each concern:
 * - nonces: stateless (digest.ts), replay guard keyed by the nonce without its MAC, any method;
 * - brute force: every failed digest, whatever the method, counts against the source IP, the
 *   extension and the pair (extension, source IP); a block on any of them refuses every method;
 * - lock design: an IP block or an extension lock does not shut out the extension's own devices —
 *   an address that authenticated a REGISTER of the extension before (`trustMs`) or holds a live
 *   binding may still try (its failures still count). The pair lock has no exception: ten wrong
 *   answers for one extension from one address lock that extension from that address;
 * - a blocked request is refused before its answer is checked, so a locked extension's password
 *   cannot be found by guessing on (the guesser gets no signal);
 * - algorithm policy and per-device learning: policy.ts.
 */
import type { DigestPolicy } from '@kumo/domain';
import type { AuthFailureReason, BlockScope, Logger, SipMetrics } from '@kumo/runtime';
import type { AuthGuardStore, FailureScope, LocationStore } from '@kumo/store';
import {
  buildChallenges,
  checkNonce,
  createNonce,
  digestHash,
  dummyHa1,
  nonceCount,
  parseDigestCredentials,
  verifyDigest,
  type DigestAlgorithm,
  type DigestCredentials,
} from './digest.js';
import { DEFAULT_MD5_ONLY_UA, brokenSha256, learnFromGiveUp, offerFor, policyAlgorithms } from './policy.js';

export interface BruteForceSettings {
  readonly windowMs: number;
  readonly ipThreshold: number;
  readonly aorThreshold: number;
  readonly blockMs: number;
  /** What a blocked REGISTER gets: no answer, or 403. Other methods always get 403 (an unanswered INVITE holds a transaction). */
  readonly action: 'drop' | '403';
  /** How long an address that authenticated a REGISTER stays a known device of the extension. Default 30 days. */
  readonly trustMs?: number;
}

export interface AuthSettings {
  readonly nonceSecret: string;
  readonly nonceLifetimeMs: number;
  /** The server's algorithms, in preference order: what tenants and extensions without a setting allow. */
  readonly algorithms: readonly DigestAlgorithm[];
  /** User-Agents that get the MD5 challenge first (legacy devices reading only the first challenge). */
  readonly md5FirstUserAgents?: RegExp | undefined;
  /** User-Agents that get only MD5 (clients known to give up on SHA-256), where MD5 is allowed. Default: DEFAULT_MD5_ONLY_UA. */
  readonly md5OnlyUserAgents?: RegExp | undefined;
  readonly bruteForce: BruteForceSettings;
}

export interface DigestSecretsLike {
  readonly ha1Md5: string;
  readonly ha1Sha256: string;
  /** The extension's own policy, when it has one. */
  readonly digestAlgorithms?: DigestPolicy | undefined;
}

export interface AuthRequest<S extends DigestSecretsLike> {
  readonly method: string;
  /** The Authorization (REGISTER) or Proxy-Authorization (others) header value. */
  readonly header: string | undefined;
  /** The digest realm: the tenant's SIP domain (for REGISTER, the domain asked for). */
  readonly realm: string;
  /** Undefined when no tenant has this domain (REGISTER to an unknown domain). */
  readonly tenant: { readonly id: string; readonly digestAlgorithms?: DigestPolicy | undefined } | undefined;
  /** Who the request claims to be: the To user of a REGISTER, the From user otherwise. */
  readonly extension: string;
  readonly source: { readonly address: string };
  readonly userAgent?: string | undefined;
  readonly instanceId?: string | undefined;
  /** The extension's digest secrets (and its record), looked up once; undefined when it does not exist. */
  readonly lookup: () => Promise<S | undefined>;
  /** What `Authenticator.prefetch` started for this request, if anything; used when it was for the same tenant and device. */
  readonly prefetched?: AuthPrefetch | undefined;
}

/** The reads of the authentication step, started before the tenant record is back (`Authenticator.prefetch`). */
export interface AuthPrefetch {
  readonly tenantId: string;
  readonly extension: string;
  readonly address: string;
  readonly userAgent: string | undefined;
  readonly device: string;
  readonly state: Promise<AuthStateRead>;
  /** The credentials header the early check read (`AuthEarlyAnswer`); its nonce count is this request's. */
  readonly header?: string;
  /** An answer found right against cached secrets, its nonce count spent with the prefetch's reads. */
  readonly early?: Promise<EarlyCheck | undefined>;
}

/**
 * What the prefetch may check before the tenant record is back: the request's credentials against the
 * extension's secrets as this process already holds them (`DirectoryRepo.cachedExtension`). A right answer's
 * nonce count is then spent in the same Redis write as the tenant lookup and the step's reads.
 */
export interface AuthEarlyAnswer {
  readonly method: string;
  readonly header: string;
  /** The realm the caller's domain names (the tenant's SIP domain when the hint is right). */
  readonly realm: string;
  readonly secrets: Promise<DigestSecretsLike | null | undefined>;
}
interface EarlyCheck {
  readonly method: string;
  readonly realm: string;
  /** The secrets the answer was checked against (`authenticate` reuses the check when it looks up the same). */
  readonly secrets: DigestSecretsLike;
  /** The credentials as parsed from the header, their nonce found valid for `realm` (not parsed or checked again). */
  readonly creds: DigestCredentials;
  readonly counted: Promise<boolean>;
}
interface AuthStateRead {
  readonly device: DeviceState | undefined;
  readonly flags: Flags;
}

export type AuthVerdict<S> =
  | { readonly kind: 'ok'; readonly secrets: S; readonly credentials: DigestCredentials }
  /** Answer 401 (REGISTER) or 407 with these header values (one per algorithm). */
  | { readonly kind: 'challenge'; readonly outcome: 'challenged' | 'stale' | 'replay'; readonly challenges: string[] }
  /** Refused by a brute-force block; `drop`: send nothing. */
  | { readonly kind: 'blocked'; readonly scope: BlockScope; readonly drop: boolean }
  | { readonly kind: 'failed'; readonly reason: AuthFailureReason };

export interface AuthenticatorDeps {
  readonly settings: AuthSettings;
  readonly guard: AuthGuardStore;
  /** Live bindings count as known devices too (phones registered before trust records existed). */
  readonly location?: LocationStore;
  readonly log: Logger;
  readonly metrics?: SipMetrics | undefined;
  readonly now?: () => number;
}

const DEFAULT_TRUST_MS = 30 * 86_400_000;
/** How long a device's learned algorithm is kept after its last change. */
const DEVICE_STATE_MS = 30 * 86_400_000;
/**
 * A multi-challenge is "unanswered" when the device's next request (within this time) comes without
 * usable credentials: Debian 12's baresip retries its REGISTER every 60 s after giving up.
 */
const PENDING_MS = 3_600_000;
/** …and a client that can answer does so within milliseconds; two requests sent at once are not a give-up. */
const GAVE_UP_AFTER_MS = 3_000;

/** A device, before it authenticated: the extension it claims, its address and its User-Agent. */
export function deviceKey(extension: string, address: string, userAgent: string | undefined): string {
  return digestHash('SHA-256', `${extension}\u0000${address}\u0000${userAgent ?? ''}`).slice(0, 24);
}

type Flags = [boolean, boolean, boolean];
type DeviceState = { learned?: string; pending?: string };
/** The nonce is ours (checked before): its time and random parts identify it; the MAC adds nothing. */
const nonceKeyOf = (nonce: string): string => nonce.slice(0, nonce.lastIndexOf('.'));

export interface Authenticator {
  authenticate<S extends DigestSecretsLike>(r: AuthRequest<S>): Promise<AuthVerdict<S>>;
  /**
   * Starts the step's reads (blocks, device state) for a tenant the caller expects, in the same Redis
   * write as the tenant lookup; `authenticate` uses them when the tenant turns out to be that one.
   */
  prefetch(r: {
    readonly tenantId: string;
    readonly extension: string;
    readonly source: { readonly address: string };
    readonly userAgent?: string | undefined;
    readonly answer?: AuthEarlyAnswer | undefined;
  }): AuthPrefetch;
}

export function createAuthenticator(d: AuthenticatorDeps): Authenticator {
  const s = d.settings;
  const bf = s.bruteForce;
  const trustMs = bf.trustMs ?? DEFAULT_TRUST_MS;
  const md5Only = s.md5OnlyUserAgents ?? DEFAULT_MD5_ONLY_UA;
  const now = d.now ?? Date.now;
  const log = d.log.child({ component: 'auth' });
  const m = d.metrics;

  const scopesOf = (tenantId: string | undefined, extension: string, ip: string): FailureScope[] => [
    { kind: 'ip', ip },
    ...(tenantId !== undefined
      ? [
          { kind: 'aor', tenantId, extension } as const,
          { kind: 'pair', tenantId, extension, ip } as const,
        ]
      : []),
  ];

  const isKnownDevice = async (tenantId: string, extension: string, ip: string, instanceId: string | undefined): Promise<boolean> => {
    if (await d.guard.isTrusted(tenantId, extension, { ip, instanceId }, trustMs, now())) return true;
    const live = (await d.location?.contactsFor(tenantId, extension)) ?? [];
    return live.some((b) => b.source.address === ip);
  };

  /** The block that refuses this request, if any, from which of its scopes are blocked. */
  const blockOf = async (
    [ipBlocked, aorBlocked, pairBlocked]: Flags,
    tenantId: string | undefined,
    extension: string,
    ip: string,
    instanceId: string | undefined,
  ): Promise<BlockScope | undefined> => {
    if (pairBlocked) return 'pair';
    if (!ipBlocked && !aorBlocked) return undefined;
    if (tenantId !== undefined && (await isKnownDevice(tenantId, extension, ip, instanceId))) return undefined;
    return ipBlocked ? 'ip' : 'aor';
  };

  const recordFailure = async (r: AuthRequest<DigestSecretsLike>, reason: AuthFailureReason): Promise<void> => {
    m?.authFailures.inc({ reason });
    const ip = r.source.address;
    const tenantId = r.tenant?.id;
    try {
      const opts = (threshold: number) => ({ windowMs: bf.windowMs, threshold, blockMs: bf.blockMs });
      const scopes = scopesOf(tenantId, r.extension, ip);
      const results = await Promise.all(scopes.map((sc) => d.guard.recordFailure(sc, opts(sc.kind === 'ip' ? bf.ipThreshold : bf.aorThreshold))));
      const count = (k: FailureScope['kind']): number | undefined => results[scopes.findIndex((sc) => sc.kind === k)]?.count;
      log.info(
        { method: r.method, ip, tenantId, extension: r.extension, reason, ipFailures: count('ip'), aorFailures: count('aor'), pairFailures: count('pair') },
        'digest authentication failed',
      );
      scopes.forEach((sc, i) => {
        if (results[i]?.blocked !== true) return;
        m?.blocksStarted.inc({ scope: sc.kind });
        const what =
          sc.kind === 'ip' ? 'source IP blocked' : sc.kind === 'aor' ? 'extension locked to its known devices' : 'extension locked for this source IP';
        log.warn({ scope: sc.kind, ip, tenantId, extension: r.extension, failures: results[i]?.count, blockS: bf.blockMs / 1000 }, `brute force: ${what}`);
      });
    } catch (err) {
      log.error({ err }, 'could not record an authentication failure');
    }
  };

  const readState = (tenantId: string, extension: string, ip: string, device: string): Promise<AuthStateRead> =>
    d.guard.authState(tenantId, extension, ip, device).then((st) => ({ device: st.device, flags: [st.ip, st.aor, st.pair] }));

  /**
   * The early check of an answer (prefetch): only a right answer from the user it claims to be, with a
   * valid nonce, spends its nonce count. Spending the count of a nonce the request carried lets no other
   * request in, whatever `authenticate` then decides (blocked, another tenant, an algorithm not allowed).
   */
  const checkEarly = async (a: AuthEarlyAnswer, extension: string): Promise<EarlyCheck | undefined> => {
    const creds = parseDigestCredentials(a.header);
    if (creds === null || creds.username !== extension || creds.realm.toLowerCase() !== a.realm) return undefined;
    if (checkNonce(creds.nonce, { secret: s.nonceSecret, realm: a.realm, nowMs: now(), lifetimeMs: s.nonceLifetimeMs }) !== 'valid') return undefined;
    const secrets = await a.secrets;
    if (!secrets || !verifyDigest(creds, creds.algorithm === 'MD5' ? secrets.ha1Md5 : secrets.ha1Sha256, a.method)) return undefined;
    const counted = d.guard.acceptNonceCount(nonceKeyOf(creds.nonce), nonceCount(creds) as number, s.nonceLifetimeMs + 60_000);
    counted.catch(() => undefined);
    return { method: a.method, realm: a.realm, secrets, creds, counted };
  };

  return {
    prefetch(r) {
      const device = deviceKey(r.extension, r.source.address, r.userAgent);
      const state = readState(r.tenantId, r.extension, r.source.address, device);
      state.catch(() => undefined);
      const early = r.answer !== undefined ? checkEarly(r.answer, r.extension) : undefined;
      early?.catch(() => undefined);
      return {
        tenantId: r.tenantId,
        extension: r.extension,
        address: r.source.address,
        userAgent: r.userAgent,
        device,
        state,
        ...(r.answer !== undefined && early !== undefined ? { header: r.answer.header, early } : {}),
      };
    },

    async authenticate<S extends DigestSecretsLike>(r: AuthRequest<S>): Promise<AuthVerdict<S>> {
      const ip = r.source.address;
      const tenantId = r.tenant?.id;
      const pre = r.prefetched;
      // The prefetch was for this tenant and device (its key already hashed): its reads are this request's.
      const hit = pre !== undefined && pre.tenantId === tenantId && pre.extension === r.extension && pre.address === ip && pre.userAgent === r.userAgent;
      const device = tenantId === undefined ? undefined : hit ? pre.device : deviceKey(r.extension, ip, r.userAgent);
      // One Redis round trip for what every outcome reads: the blocks, the extension's secrets and the
      // device's algorithm state are fetched together (the latter two are not used when blocked); the
      // tenant's blocks and the device state are one script (AuthGuardStore.authState).
      const lookedUp = tenantId !== undefined ? r.lookup() : Promise.resolve(undefined);
      lookedUp.catch(() => undefined);
      const state =
        tenantId !== undefined && device !== undefined
          ? hit
            ? pre.state
            : readState(tenantId, r.extension, ip, device)
          : d.guard.blocked(scopesOf(tenantId, r.extension, ip)).then(([a = false, b = false, c = false]): AuthStateRead => ({ device: undefined, flags: [a, b, c] }));
      state.catch(() => undefined);

      // Same work whether or not the extension exists: one lookup, one hash, one compare. The answer is
      // checked while the blocks are on their way (the secrets are usually cached: no round trip); it
      // is not acted on before the blocks are known.
      const secrets = await lookedUp;
      // The prefetch's early check of this very header (its nonce count is this request's, whichever tenant).
      const early = pre?.early !== undefined && r.header !== undefined && pre.header === r.header ? await pre.early.catch(() => undefined) : undefined;
      const allowed = policyAlgorithms(secrets?.digestAlgorithms) ?? policyAlgorithms(r.tenant?.digestAlgorithms) ?? s.algorithms;
      // The early check parsed this very header and found its nonce valid for the realm it checked against (when
      // the request arrived): neither is done again for that realm.
      const creds = early !== undefined ? early.creds : parseDigestCredentials(r.header);
      const usable = creds !== null && creds.realm.toLowerCase() === r.realm && allowed.includes(creds.algorithm);
      const nonceState = usable
        ? early?.realm === r.realm
          ? 'valid'
          : checkNonce(creds.nonce, { secret: s.nonceSecret, realm: r.realm, nowMs: now(), lifetimeMs: s.nonceLifetimeMs })
        : undefined;
      const answerOk =
        usable && nonceState === 'valid'
          ? // Checked by the prefetch against these same secrets, realm and method: right (the check is not redone).
            (secrets !== undefined && early?.secrets === secrets && early.realm === r.realm && early.method === r.method) ||
            verifyDigest(creds, secrets ? (creds.algorithm === 'MD5' ? secrets.ha1Md5 : secrets.ha1Sha256) : dummyHa1(creds.algorithm, s.nonceSecret, r.extension, r.realm), r.method)
          : false;
      // Why a checked answer fails (undefined: it is right); only read once the answer was checked.
      const failure: AuthFailureReason | undefined = !r.tenant
        ? 'unknown_domain'
        : !secrets
          ? 'unknown_user'
          : !answerOk
            ? 'bad_response'
            : creds?.username !== r.extension
              ? 'username_mismatch'
              : undefined;
      // A right answer's nonce count goes out with the blocks (the same pipeline write): one round trip
      // less per authenticated request; when the prefetch found the answer right, it went out with the
      // tenant lookup (and is not spent twice). A blocked request still gets no answer from it; spending the
      // count of a nonce that request carried lets no other request in.
      const counted =
        failure === undefined && creds !== null
          ? (early?.counted ?? d.guard.acceptNonceCount(nonceKeyOf(creds.nonce), nonceCount(creds) as number, s.nonceLifetimeMs + 60_000))
          : undefined;
      counted?.catch(() => undefined);

      const { device: deviceState, flags } = await state;
      const blockedBy = await blockOf(flags, tenantId, r.extension, ip, r.instanceId);
      if (blockedBy !== undefined) {
        m?.blockedRequests.inc({ scope: blockedBy });
        return { kind: 'blocked', scope: blockedBy, drop: r.method === 'REGISTER' && bf.action === 'drop' };
      }

      let stateChanged = false;
      const challenge = async (outcome: 'challenged' | 'stale' | 'replay', noAnswer: boolean): Promise<AuthVerdict<S>> => {
        let learned: string | undefined;
        if (device !== undefined && tenantId !== undefined) {
          // Read with the blocks above, unless this request already changed it (learned MD5 for a broken SHA-256).
          const state = deviceState !== undefined && !stateChanged ? deviceState : await d.guard.deviceState(tenantId, device);
          const age = state.pending !== undefined ? now() - Number(state.pending) : -1;
          const gaveUp = noAnswer && age >= GAVE_UP_AFTER_MS && age < PENDING_MS;
          const change = learnFromGiveUp({ allowed, gaveUp });
          learned = change ?? state.learned;
          if (change) {
            log.info({ tenantId, extension: r.extension, ip, userAgent: r.userAgent, algorithm: change }, 'digest: device gave up on a multi-challenge; challenging it with one algorithm from now on');
          }
          const offer = offerFor({ allowed, userAgent: r.userAgent, learned, md5OnlyUserAgents: md5Only, md5FirstUserAgents: s.md5FirstUserAgents });
          // Mark a multi-challenge (only the first one of a series: the age is what tells a give-up).
          const pending = offer.length > 1 ? (state.pending !== undefined && age < PENDING_MS && !gaveUp ? undefined : String(now())) : null;
          if (change || (pending === null && state.pending !== undefined) || typeof pending === 'string') {
            await d.guard.setDeviceState(tenantId, device, { ...(change ? { learned: change } : {}), ...(pending !== undefined ? { pending } : {}) }, DEVICE_STATE_MS);
          }
          return { kind: 'challenge', outcome, challenges: build(offer, outcome === 'stale') };
        }
        const offer = offerFor({ allowed, userAgent: r.userAgent, md5OnlyUserAgents: md5Only, md5FirstUserAgents: s.md5FirstUserAgents });
        return { kind: 'challenge', outcome, challenges: build(offer, outcome === 'stale') };
      };
      const build = (offer: DigestAlgorithm[], stale: boolean): string[] =>
        buildChallenges({ realm: r.realm, nonce: createNonce({ secret: s.nonceSecret, realm: r.realm, nowMs: now() }), algorithms: offer, stale });

      if (!usable) return challenge('challenged', creds === null || (creds.realm.toLowerCase() === r.realm && !allowed.includes(creds.algorithm)));
      if (nonceState !== 'valid') return challenge(nonceState === 'stale' ? 'stale' : 'challenged', false);

      if (failure !== undefined || !secrets) {
        const reason = failure ?? 'unknown_user';
        if (reason === 'bad_response' && secrets && device !== undefined && tenantId !== undefined && allowed.includes('MD5') && creds.algorithm === 'SHA-256') {
          const md5Verifies = verifyDigest({ ...creds, algorithm: 'MD5' }, secrets.ha1Md5, r.method);
          if (brokenSha256({ algorithm: creds.algorithm, response: creds.response, md5Verifies })) {
            log.info({ tenantId, extension: r.extension, ip, userAgent: r.userAgent }, 'digest: device answered SHA-256 with an MD5 hash; challenging it with MD5 from now on');
            await d.guard.setDeviceState(tenantId, device, { learned: 'MD5', pending: null }, DEVICE_STATE_MS);
            stateChanged = true;
            // It knows the password: not a guess.
            if (md5Verifies) return challenge('challenged', false);
          }
        }
        await Promise.all([
          recordFailure(r, reason),
          // It answered the multi-challenge (wrongly): not a device that gives up on one.
          device !== undefined && tenantId !== undefined ? d.guard.setDeviceState(tenantId, device, { pending: null }, DEVICE_STATE_MS) : undefined,
        ]);
        return { kind: 'failed', reason };
      }
      if (!(await (counted as Promise<boolean>))) return challenge('replay', false);
      if (tenantId !== undefined && device !== undefined) {
        await Promise.all([
          // It answered: a multi-challenge it was marked for is no longer pending (nothing to write when none was).
          deviceState?.pending !== undefined ? d.guard.setDeviceState(tenantId, device, { pending: null }, DEVICE_STATE_MS) : undefined,
          r.method === 'REGISTER' ? d.guard.trustDevice(tenantId, r.extension, { ip, instanceId: r.instanceId }, trustMs, now()) : undefined,
        ]);
      }
      return { kind: 'ok', secrets, credentials: creds };
    },
  };
}
