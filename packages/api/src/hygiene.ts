/**
 * HTTP hygiene of the provisioning API (docs/security.md, "API hygiene"):
 * - security headers from @fastify/helmet; `Cache-Control: no-store` on every `/v1` answer
 *   (they are per-principal, and some carry a new API key);
 * - request text must be well-formed: invalid UTF-8 in a JSON body and lone surrogates
 *   (raw or `\uD800`-escaped) in bodies, path parameters and query strings are 400
 *   KUMO_ERR_INVALID_TEXT, so nothing stored can break a strict JSON client later;
 * - failed API authentications are logged and counted per source address; past the limit the
 *   source gets 429 KUMO_ERR_RATE_LIMITED with Retry-After until the window ends;
 * - tenant-admin writes are rate-limited per tenant (token bucket in Redis);
 * - connection-level errors (431 headers too large, malformed requests) answer in the one
 *   error body shape.
 */
import type { Socket } from 'node:net';
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KumoError, type Logger } from '@kumo/runtime';
import type { ApiRateLimits, AuditRepo } from '@kumo/store';
import type { ErrorBody } from './errors.js';

export interface SecurityOptions {
  /** Failed authentications per source and window before 429. */
  readonly authFailLimit: number;
  readonly authFailWindowMs: number;
  /** Tenant-admin writes: bucket size and refill per second (per tenant). */
  readonly tenantWriteBurst: number;
  readonly tenantWriteRate: number;
  /** Per-tenant audit quota (entries); tenant-admin writes are refused at it. */
  readonly auditQuotaEntries: number;
  /** Data quotas (docs/security.md, "Data quotas"): the operator maximum (and default) of CDR detail retention, tickets, notes per ticket. */
  readonly cdrDetailRetentionMaxDays: number;
  readonly ticketsQuota: number;
  readonly ticketNotesMax: number;
}

export const DEFAULT_SECURITY: SecurityOptions = {
  authFailLimit: 20,
  authFailWindowMs: 300_000,
  tenantWriteBurst: 300,
  tenantWriteRate: 20,
  auditQuotaEntries: 1_000_000,
  cdrDetailRetentionMaxDays: 400,
  ticketsQuota: 5000,
  ticketNotesMax: 200,
};

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const isWrite = (method: string): boolean => WRITE_METHODS.has(method);

function invalidText(field: string): KumoError {
  return new KumoError('KUMO_ERR_INVALID_TEXT', `${field} contains invalid text (invalid UTF-8 or a lone surrogate)`, {
    problems: [{ field, message: 'must be well-formed Unicode text' }],
  });
}

/** The path of the first string (key or value) that is not well-formed Unicode, or undefined. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const wellFormed = (s: string): boolean => !LONE_SURROGATE.test(s);

export function illFormedPath(v: unknown, path = ''): string | undefined {
  if (typeof v === 'string') return wellFormed(v) ? undefined : path || '/';
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = illFormedPath(v[i], `${path}/${i}`);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (!wellFormed(k)) return `${path}/(a key)`;
      const p = illFormedPath(x, `${path}/${k}`);
      if (p !== undefined) return p;
    }
  }
  return undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Registers helmet, no-store, strict text checks. Call before the routes are registered. */
export async function installHygiene(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    // JSON API plus the OpenAPI UI under /docs (its own scripts and styles, no third-party origins).
    contentSecurityPolicy: {
      useDefaults: true,
      directives: { 'upgrade-insecure-requests': null, 'frame-ancestors': ["'none'"] },
    },
    frameguard: { action: 'deny' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });

  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (req.url.startsWith('/v1') || reply.statusCode >= 400) {
      if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
    }
    return payload;
  });

  // JSON bodies: strict UTF-8, then fastify's own parser (prototype poisoning refused), then no lone surrogates.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // application/merge-patch+json: the JSON Merge Patch bodies of PATCH (RFC 7396), parsed the same way.
  app.addContentTypeParser(['application/json', 'application/merge-patch+json'], { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    let text: string;
    try {
      text = strictUtf8.decode(body);
    } catch {
      done(invalidText('body'), undefined);
      return;
    }
    void parseJson(req, text, (err, value) => {
      if (err !== null) {
        done(err, undefined);
        return;
      }
      const bad = illFormedPath(value);
      if (bad !== undefined) done(invalidText(`body${bad === '/' ? '' : bad}`), undefined);
      else done(null, value);
    });
  });

  app.addHook('preValidation', (req: FastifyRequest, _reply: FastifyReply, next: (err?: Error) => void) => {
    for (const [where, v] of [
      ['params', req.params],
      ['query', req.query],
    ] as const) {
      const bad = illFormedPath(v);
      if (bad !== undefined) return next(invalidText(`${where}${bad}`));
      if (JSON.stringify(v ?? {}).includes('\uFFFD')) return next(invalidText(where));
    }
    next();
  });
}

/** Counts and logs failed API authentications per source; refuses blocked sources with 429. */
export class AuthFailureGuard {
  constructor(
    private readonly limits: ApiRateLimits,
    private readonly opts: SecurityOptions,
    private readonly log: Logger,
  ) {}

  /** Throws 429 when the request's source is blocked. */
  async check(req: FastifyRequest): Promise<void> {
    const ms = await this.limits.authBlockedFor(req.ip, this.opts.authFailLimit);
    if (ms > 0) throw rateLimited('too many failed authentications from this address; retry later', ms);
  }

  /** Records a failure, logs it, and throws the 401 (or 429 once the limit is reached). */
  async fail(req: FastifyRequest, reason: string): Promise<never> {
    const { count, resetMs } = await this.limits.authFailed(req.ip, this.opts.authFailWindowMs);
    const blocked = count >= this.opts.authFailLimit;
    // One line per failure up to the limit, then one when the source is blocked: bounded log volume.
    if (count <= this.opts.authFailLimit) {
      this.log.warn({ source: req.ip, method: req.method, route: req.routeOptions.url ?? 'unmatched', reason, failures: count, blocked }, 'API authentication failed');
    }
    if (count > this.opts.authFailLimit) throw rateLimited('too many failed authentications from this address; retry later', resetMs);
    throw new KumoError('KUMO_ERR_UNAUTHORIZED', reason);
  }
}

export function rateLimited(message: string, retryAfterMs: number): KumoError {
  return new KumoError('KUMO_ERR_RATE_LIMITED', message, { retryAfterSec: Math.max(1, Math.ceil(retryAfterMs / 1000)) });
}

/** Tenant-admin writes: one token per write from the tenant's bucket. */
export async function takeTenantWrite(limits: ApiRateLimits, opts: SecurityOptions, tenantId: string): Promise<void> {
  const r = await limits.takeWrite(tenantId, opts.tenantWriteBurst, opts.tenantWriteRate);
  if (!r.ok) throw rateLimited("the tenant's API write rate limit is exceeded; retry later", r.retryAfterMs);
}

/** Per-tenant data quota (Article 37): the audit trail. */
export async function checkAuditQuota(audit: AuditRepo, opts: SecurityOptions, tenantId: string): Promise<void> {
  const used = await audit.size(tenantId);
  if (used >= opts.auditQuotaEntries) {
    throw new KumoError('KUMO_ERR_QUOTA_EXCEEDED', `the tenant's audit trail is full (${used} of ${opts.auditQuotaEntries} entries); ask the operator`, {
      quota: 'audit',
      limit: opts.auditQuotaEntries,
      used,
    });
  }
}

/**
 * Connection-level errors (before fastify has a request): answered in the one error shape.
 * 431 for header overflow (a long URL or many headers), 400 otherwise.
 */
export function clientErrorHandler(err: { code?: string | undefined }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body: ErrorBody = tooLarge
    ? { code: 'KUMO_ERR_HEADERS_TOO_LARGE', message: 'the request line and headers are larger than the limit', details: {} }
    : { code: 'KUMO_ERR_BAD_REQUEST', message: 'malformed HTTP request', details: {} };
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n\r\n${json}`,
  );
}

/** Fields of the tenant record only operators see (e.g. `notes`: "internal: credit risk…"). */
export const OPERATOR_ONLY_FIELDS: readonly string[] = ['notes'];

/** For a tenant admin: a deep copy without operator-only fields; operators get the value as is. */
export function forPrincipal<T>(value: T, role: string | undefined): T {
  if (role === 'operator') return value;
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (!OPERATOR_ONLY_FIELDS.includes(k)) out[k] = strip(x);
      return out;
    }
    return v;
  };
  return strip(value) as T;
}
