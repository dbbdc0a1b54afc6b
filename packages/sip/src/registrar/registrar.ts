import { createHash } from 'node:crypto';
import type { AuthGuardStore, Binding, BindingUpdate, LocationStore } from '@kumo/store';
import type { Logger, RegisterOutcome, SipMetrics } from '@kumo/runtime';
import { createAuthenticator, type AuthSettings, type Authenticator } from '../auth/authenticate.js';
import { multiHeader, type SipHandler, type SipRequest, type SipResponse } from '../drachtio/types.js';
import { tenantDomainOf } from '../tenant/identify.js';
import type { RegistrarDirectory } from './directory.js';
import type { EdgeAware } from '../edge/trusted-edge.js';
import { parseContacts, parseCSeq, parseDeltaSeconds, parseNameAddr, parseRouteSet, parseSipUri, unquote, type ContactEntry } from './headers.js';

/** The registrar's settings; the digest and brute-force ones (AuthSettings) are shared with call control. */
export interface RegistrarSettings extends AuthSettings {
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly defaultExpires: number;
  readonly maxContacts: number;
  readonly contactsPolicy: 'replace-oldest' | 'reject';
  /** Tenant domain for REGISTERs whose To host is an IP address (softphones given the server address as domain). */
  readonly ipHostDomain?: string | undefined;
  /** Alias host → tenant domain (tenant/identify.ts; the call path applies the same rule). */
  readonly domainAliases?: ReadonlyMap<string, string> | undefined;
  /** Edge proxies whose Via and Path are trusted (edge/trusted-edge.ts); the sip app applies it to every request. */
  readonly trustedEdges?: ReadonlySet<string> | undefined;
}

export interface RegistrarDeps {
  readonly settings: RegistrarSettings;
  readonly directory: RegistrarDirectory;
  readonly location: LocationStore;
  readonly guard: AuthGuardStore;
  readonly log: Logger;
  readonly metrics?: SipMetrics;
  readonly now?: () => number;
  /** The shared authentication step (one brute-force guard for every method); made here when absent. */
  readonly authenticator?: Authenticator;
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
  req: Pick<SipRequest, 'get' | 'source_address' | 'source_port' | 'protocol'> & EdgeAware,
  s: Pick<RegistrarSettings, 'minExpires' | 'maxExpires' | 'defaultExpires'>,
): Planned {
  const contacts = parseContacts(req.get('contact'));
  const path = pathOf(req);
  if (path === null) return { kind: 'error', status: 400, reason: 'Bad Path', outcome: 'bad_request' };
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
      ...(path !== undefined ? { path } : {}),
    });
  }
  return { kind: 'plan', mode: 'update', updates };
}

/**
 * The route set to reach the registering device (RFC 3327): the Path the trusted edge added, or,
 * when an edge relayed the REGISTER without one, the edge itself. Undefined for a direct
 * REGISTER (a Path from anyone but a trusted edge is ignored); null when malformed.
 */
function pathOf(req: Pick<SipRequest, 'get'> & EdgeAware): string[] | undefined | null {
  const edge = req.edge;
  if (!edge) return undefined;
  const path = parseRouteSet(req.get('path'));
  if (path === null || path.length > 8) return null;
  if (path.length > 0) return path;
  const host = edge.address.includes(':') ? `[${edge.address}]` : edge.address;
  return [`<sip:${host}:${String(edge.port)};transport=${(edge.protocol || 'udp').toLowerCase()};lr>`];
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
  const log = d.log.child({ component: 'registrar' });
  const m = d.metrics;
  const auth =
    d.authenticator ??
    createAuthenticator({ settings: s, guard: d.guard, location: d.location, log: d.log, metrics: m, ...(d.now ? { now: d.now } : {}) });

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

    // --- digest (auth/authenticate.ts: the same step as for INVITE) ------------------------------
    const tenant = await d.directory.tenantByDomain(domain);
    const contacts = parseContacts(req.get('contact'));
    const instance = contacts?.kind === 'list' ? contacts.contacts.map((c) => c.params.get('+sip.instance')).find((v) => v !== undefined) : undefined;
    const verdict = await auth.authenticate({
      method: 'REGISTER',
      header: req.get('authorization'),
      realm: domain,
      tenant: tenant ? { id: tenant.id, ...(tenant.digestAlgorithms ? { digestAlgorithms: tenant.digestAlgorithms } : {}) } : undefined,
      extension,
      source: { address: req.source_address },
      userAgent: req.get('user-agent'),
      ...(instance !== undefined ? { instanceId: unquote(instance).slice(0, 128) } : {}),
      lookup: () => d.directory.credentials(tenant?.id ?? '\u0000none', extension),
    });
    switch (verdict.kind) {
      case 'blocked':
        if (verdict.drop) done('blocked');
        else send(403, 'Forbidden', 'blocked');
        return;
      case 'challenge':
        send(401, 'Unauthorized', verdict.outcome, multiHeader('WWW-Authenticate', verdict.challenges));
        return;
      case 'failed':
        send(403, 'Forbidden', 'auth_failed');
        return;
      case 'ok':
        break;
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
    // RFC 3327 §5.3: echo the stored Path to a UA that supports it.
    const stored = plan.mode === 'update' ? plan.updates[0]?.path : undefined;
    if (stored && req.has('path') && /(^|,)\s*path\s*(,|$)/i.test(req.get('supported') ?? '')) headers.Path = stored.join(', ');
    send(200, 'OK', removing ? 'unregistered' : 'ok', headers);
  };
}
