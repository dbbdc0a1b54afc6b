import { createHash } from 'node:crypto';
import type { AuthGuardStore, Binding, BindingUpdate, LocationStore } from '@kumo/store';
import type { AuthFailureReason, Logger, RegisterOutcome, SipMetrics } from '@kumo/runtime';
import {
  buildChallenges,
  checkNonce,
  createNonce,
  dummyHa1,
  nonceCount,
  parseDigestCredentials,
  verifyDigest,
  type DigestAlgorithm,
} from '../auth/digest.js';
import { multiHeader, type SipHandler, type SipRequest, type SipResponse } from '../drachtio/types.js';
import { tenantDomainOf } from '../tenant/identify.js';
import type { RegistrarDirectory } from './directory.js';
import { parseContacts, parseCSeq, parseDeltaSeconds, parseNameAddr, parseSipUri, unquote, type ContactEntry } from './headers.js';

export interface RegistrarSettings {
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly defaultExpires: number;
  readonly maxContacts: number;
  readonly contactsPolicy: 'replace-oldest' | 'reject';
  readonly nonceSecret: string;
  readonly nonceLifetimeMs: number;
  readonly algorithms: readonly DigestAlgorithm[];
  /** User-Agents that get the MD5 challenge first (legacy devices reading only the first challenge). */
  readonly md5FirstUserAgents?: RegExp | undefined;
  /** Tenant domain for REGISTERs whose To host is an IP address (softphones given the server address as domain). */
  readonly ipHostDomain?: string | undefined;
  /** Alias host → tenant domain (tenant/identify.ts; the call path applies the same rule). */
  readonly domainAliases?: ReadonlyMap<string, string> | undefined;
  readonly bruteForce: {
    readonly windowMs: number;
    readonly ipThreshold: number;
    readonly aorThreshold: number;
    readonly blockMs: number;
    readonly action: 'drop' | '403';
  };
}

export interface RegistrarDeps {
  readonly settings: RegistrarSettings;
  readonly directory: RegistrarDirectory;
  readonly location: LocationStore;
  readonly guard: AuthGuardStore;
  readonly log: Logger;
  readonly metrics?: SipMetrics;
  readonly now?: () => number;
}


/** Binding id: the device (RFC 5626 instance + reg-id) when it says who it is, else the contact URI. */
export function bindingId(c: { uri: string; instanceId?: string | undefined; regId?: number | undefined }): string {
  const basis = c.instanceId !== undefined ? `i:${c.instanceId}:${c.regId ?? ''}` : `c:${c.uri}`;
  return createHash('sha256').update(basis).digest('hex').slice(0, 16);
}

/** The Contact value of a 200 OK: every live binding with its remaining seconds. */
export function renderContacts(bindings: readonly Binding[], nowMs: number): string {
  return bindings
    .map((b) => {
      let s = `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - nowMs) / 1000))}`;
      if (b.instanceId !== undefined) s += `;+sip.instance="${b.instanceId}"`;
      if (b.regId !== undefined) s += `;reg-id=${b.regId}`;
      return s;
    })
    .join(', ');
}

type Planned =
  | { kind: 'error'; status: number; reason: string; outcome: RegisterOutcome; headers?: Record<string, string> }
  | { kind: 'plan'; mode: 'update' | 'wildcard' | 'query'; updates: BindingUpdate[] };

/**
 * Turns the Contact/Expires headers into binding updates (RFC 3261 §10.3 steps 6–7). Pure.
 */
export function planBindings(
  req: Pick<SipRequest, 'get' | 'source_address' | 'source_port' | 'protocol'>,
  s: Pick<RegistrarSettings, 'minExpires' | 'maxExpires' | 'defaultExpires'>,
): Planned {
  const contacts = parseContacts(req.get('contact'));
  const headerExpires = parseDeltaSeconds(req.get('expires'));
  if (contacts === null || headerExpires === null) return { kind: 'error', status: 400, reason: 'Bad Contact or Expires', outcome: 'bad_request' };
  if (contacts.kind === 'star') {
    if (headerExpires !== 0) return { kind: 'error', status: 400, reason: 'Contact * requires Expires: 0', outcome: 'bad_request' };
    return { kind: 'plan', mode: 'wildcard', updates: [] };
  }
  if (contacts.contacts.length === 0) return { kind: 'plan', mode: 'query', updates: [] };
  const ua = req.get('user-agent');
  const port = Number(req.source_port);
  const updates: BindingUpdate[] = [];
  for (const c of contacts.contacts) {
    const pe = c.params.get('expires');
    const own = pe === undefined ? undefined : parseDeltaSeconds(pe);
    if (own === null) return { kind: 'error', status: 400, reason: 'Bad expires parameter', outcome: 'bad_request' };
    const asked = own ?? headerExpires ?? s.defaultExpires;
    if (asked > 0 && asked < s.minExpires) {
      return {
        kind: 'error',
        status: 423,
        reason: 'Interval Too Brief',
        outcome: 'interval_too_brief',
        headers: { 'Min-Expires': String(s.minExpires) },
      };
    }
    const { instanceId, regId, q } = deviceParams(c);
    if (regId === null || q === null) return { kind: 'error', status: 400, reason: 'Bad Contact parameter', outcome: 'bad_request' };
    updates.push({
      id: bindingId({ uri: c.uri, instanceId, regId }),
      expires: Math.min(asked, s.maxExpires),
      contact: c.uri,
      source: { address: req.source_address, port: Number.isFinite(port) ? port : 0, transport: (req.protocol || 'udp').toLowerCase() },
      ...(ua !== undefined ? { userAgent: ua } : {}),
      ...(instanceId !== undefined ? { instanceId } : {}),
      ...(regId !== undefined ? { regId } : {}),
      ...(q !== undefined ? { q } : {}),
    });
  }
  return { kind: 'plan', mode: 'update', updates };
}

function deviceParams(c: ContactEntry): { instanceId?: string; regId?: number | null; q?: number | null } {
  const inst = c.params.get('+sip.instance');
  const rid = c.params.get('reg-id');
  const q = c.params.get('q');
  const instanceId = inst !== undefined && inst !== '' ? unquote(inst).slice(0, 128) : undefined;
  return {
    ...(instanceId !== undefined ? { instanceId } : {}),
    ...(rid !== undefined ? { regId: /^\d{1,9}$/.test(rid) ? Number(rid) : null } : {}),
    ...(q !== undefined ? { q: /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(q) ? Number(q) : null } : {}),
  };
}

/**
 * The REGISTER handler: tenant by domain, digest auth with stateless nonces and replay guard,
 * brute-force guard, then one atomic update of the location store.
 */
export function createRegistrar(d: RegistrarDeps): SipHandler {
  const s = d.settings;
  const now = d.now ?? Date.now;
  const log = d.log.child({ component: 'registrar' });
  const m = d.metrics;

  const algorithmsFor = (ua: string | undefined): DigestAlgorithm[] => {
    if (ua !== undefined && s.md5FirstUserAgents?.test(ua) === true && s.algorithms.includes('MD5')) {
      return ['MD5', ...s.algorithms.filter((a) => a !== 'MD5')];
    }
    return [...s.algorithms];
  };

  return async function register(req: SipRequest, res: SipResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const done = (outcome: RegisterOutcome): void => {
      m?.registerOutcomes.inc({ outcome });
      m?.registerDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    };
    const send = (status: number, reason: string | undefined, outcome: RegisterOutcome, headers: Record<string, string> = {}): void => {
      res.send(status, reason, { headers });
      done(outcome);
    };
    const challenge = (realm: string, stale: boolean, outcome: RegisterOutcome): void => {
      const nonce = createNonce({ secret: s.nonceSecret, realm, nowMs: now() });
      send(401, 'Unauthorized', outcome, multiHeader('WWW-Authenticate', buildChallenges({ realm, nonce, algorithms: algorithmsFor(req.get('user-agent')), stale })));
    };

    // --- who is registering --------------------------------------------------------------
    const to = parseNameAddr(req.get('to') ?? '');
    const aor = to ? parseSipUri(to.uri) : null;
    const cseq = parseCSeq(req.get('cseq'));
    const callId = req.get('call-id');
    if (!aor?.user || cseq === null || callId === undefined || callId === '') {
      send(400, 'Bad To or CSeq', 'bad_request');
      return;
    }
    const extension = aor.user;
    const domain = tenantDomainOf(aor.host, s);
    const ip = req.source_address;

    // --- blocked source? -------------------------------------------------------------------
    if (await d.guard.isBlocked({ kind: 'ip', ip })) {
      m?.blockedRequests.inc({ scope: 'ip' });
      if (s.bruteForce.action === '403') send(403, 'Forbidden', 'blocked');
      else done('blocked');
      return;
    }

    // --- digest ----------------------------------------------------------------------------------
    const creds = parseDigestCredentials(req.get('authorization'));
    if (!creds || creds.realm.toLowerCase() !== domain) {
      challenge(domain, false, 'challenged');
      return;
    }
    const nonceState = checkNonce(creds.nonce, { secret: s.nonceSecret, realm: domain, nowMs: now(), lifetimeMs: s.nonceLifetimeMs });
    if (nonceState !== 'valid') {
      challenge(domain, nonceState === 'stale', nonceState === 'stale' ? 'stale' : 'challenged');
      return;
    }
    if (!s.algorithms.includes(creds.algorithm)) {
      challenge(domain, false, 'challenged');
      return;
    }

    // Same work whether or not the domain/extension exist: lookups, a hash, a compare.
    const tenant = await d.directory.tenantByDomain(domain);
    const [secrets, aorBlocked] = await Promise.all([
      d.directory.credentials(tenant?.id ?? '\u0000none', extension),
      tenant ? d.guard.isBlocked({ kind: 'aor', tenantId: tenant.id, extension }) : Promise.resolve(false),
    ]);
    if (aorBlocked && tenant) {
      // Locked extension: only addresses its live bindings came from may still try.
      const known = await d.location.contactsFor(tenant.id, extension);
      if (!known.some((b) => b.source.address === ip)) {
        m?.blockedRequests.inc({ scope: 'aor' });
        if (s.bruteForce.action === '403') send(403, 'Forbidden', 'blocked');
        else done('blocked');
        return;
      }
    }
    const ha1 = secrets
      ? creds.algorithm === 'MD5'
        ? secrets.ha1Md5
        : secrets.ha1Sha256
      : dummyHa1(creds.algorithm, s.nonceSecret, extension, domain);
    const answerOk = verifyDigest(creds, ha1, 'REGISTER');
    const failure: AuthFailureReason | undefined = !tenant
      ? 'unknown_domain'
      : !secrets
        ? 'unknown_user'
        : !answerOk
          ? 'bad_response'
          : creds.username !== extension
            ? 'username_mismatch'
            : undefined;
    if (failure !== undefined) {
      m?.authFailures.inc({ reason: failure });
      await recordFailure(ip, tenant?.id, extension, failure);
      send(403, 'Forbidden', 'auth_failed');
      return;
    }
    const nc = nonceCount(creds) as number; // verifyDigest checked it is there
    // The nonce is ours (checked above): its time and random parts identify it; the MAC adds nothing.
    const nonceKey = creds.nonce.slice(0, creds.nonce.lastIndexOf('.'));
    if (!(await d.guard.acceptNonceCount(nonceKey, nc, s.nonceLifetimeMs + 60_000))) {
      challenge(domain, false, 'replay');
      return;
    }
    if (!tenant || tenant.status === 'terminated') {
      send(403, 'Forbidden', 'forbidden');
      return;
    }

    // --- bindings -----------------------------------------------------------------------------
    const plan = planBindings(req, s);
    if (plan.kind === 'error') {
      send(plan.status, plan.reason, plan.outcome, plan.headers ?? {});
      return;
    }
    const r = await d.location.register({
      tenantId: tenant.id,
      extension,
      callId,
      cseq,
      maxContacts: s.maxContacts,
      policy: s.contactsPolicy,
      mode: plan.mode,
      updates: plan.updates,
    });
    if (r.kind === 'too-many') {
      send(403, 'Too Many Contacts', 'too_many_contacts');
      return;
    }
    if (r.kind === 'out-of-order') {
      send(500, 'Out Of Order CSeq', 'out_of_order', { 'Retry-After': '1' });
      return;
    }
    if (r.evicted > 0) log.info({ tenantId: tenant.id, extension, evicted: r.evicted }, 'oldest bindings replaced');
    const removing = plan.mode === 'wildcard' || (plan.mode === 'update' && plan.updates.every((u) => u.expires === 0));
    const headers: Record<string, string> = { Date: new Date(r.now).toUTCString() };
    if (r.bindings.length > 0) headers.Contact = renderContacts(r.bindings, r.now);
    send(200, 'OK', removing ? 'unregistered' : 'ok', headers);
  };

  async function recordFailure(ip: string, tenantId: string | undefined, extension: string, reason: AuthFailureReason): Promise<void> {
    const bf = s.bruteForce;
    try {
      const [byIp, byAor] = await Promise.all([
        d.guard.recordFailure({ kind: 'ip', ip }, { windowMs: bf.windowMs, threshold: bf.ipThreshold, blockMs: bf.blockMs }),
        tenantId !== undefined
          ? d.guard.recordFailure({ kind: 'aor', tenantId, extension }, { windowMs: bf.windowMs, threshold: bf.aorThreshold, blockMs: bf.blockMs })
          : Promise.resolve(undefined),
      ]);
      log.info({ ip, tenantId, extension, reason, ipFailures: byIp.count, aorFailures: byAor?.count }, 'REGISTER authentication failed');
      if (byIp.blocked) {
        m?.blocksStarted.inc({ scope: 'ip' });
        log.warn({ ip, failures: byIp.count, blockS: bf.blockMs / 1000 }, 'brute force: source IP blocked');
      }
      if (byAor?.blocked === true) {
        m?.blocksStarted.inc({ scope: 'aor' });
        log.warn({ tenantId, extension, failures: byAor.count, blockS: bf.blockMs / 1000 }, 'brute force: extension locked to its known addresses');
      }
    } catch (err) {
      log.error({ err }, 'could not record an authentication failure');
    }
  }
}
