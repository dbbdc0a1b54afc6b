import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KumoError } from '@kumo/runtime';
import {
  LoginGuard,
  SessionStore,
  UserRepo,
  type ApiKeyRecord,
  type KeySchema,
  type LockoutPolicy,
  type RedisClient,
  type SessionOptions,
  type SessionRecord,
  type UserRecord,
} from '@kumo/store';

declare module 'fastify' {
  interface FastifyRequest {
    /** The console user behind the request when it came with a session cookie (null for API keys). */
    consoleUser: UserRecord | null;
  }
}

export const SESSION_COOKIE = 'kumo_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Options of the console's people log-in (tests shorten the lockout). */
export interface ConsoleAuthOptions {
  readonly sessions?: SessionOptions;
  readonly lockout?: LockoutPolicy;
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    if (!out.has(name)) out.set(name, part.slice(i + 1).trim());
  }
  return out;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** What an authenticated console user acts as on the API: the principal shape API keys have. */
export function principalOfUser(u: UserRecord): ApiKeyRecord {
  return {
    id: `user:${u.login}`,
    role: u.role === 'operator' ? 'operator' : 'tenant-admin',
    ...(u.tenantId !== undefined ? { tenantId: u.tenantId } : {}),
    name: u.name,
    createdAt: u.createdAt,
  };
}

/**
 * People's log-in for the console: a session cookie (HttpOnly, SameSite=Strict, Secure over
 * TLS) names a session in Redis; state-changing requests must carry the session's CSRF token in
 * `X-CSRF-Token` and, when the browser sends `Origin`, come from this origin. Read-only users
 * may only read. API keys (Bearer) are untouched by all of this.
 */
export class ConsoleAuth {
  readonly users: UserRepo;
  readonly sessions: SessionStore;
  readonly guard: LoginGuard;

  constructor(redis: RedisClient, keys: KeySchema, o: ConsoleAuthOptions = {}) {
    this.users = new UserRepo(redis, keys);
    this.sessions = new SessionStore(redis, keys, o.sessions);
    this.guard = new LoginGuard(redis, keys, o.lockout);
  }

  sessionId(req: FastifyRequest): string | undefined {
    return parseCookies(req.headers.cookie).get(SESSION_COOKIE);
  }

  /** The session of the request's cookie (any stage) with its user, or null. */
  async session(req: FastifyRequest): Promise<{ id: string; record: SessionRecord; user: UserRecord } | null> {
    const id = this.sessionId(req);
    if (id === undefined) return null;
    const record = await this.sessions.get(id);
    if (record === null) return null;
    const user = await this.users.byId(record.userId);
    if (user === null) return null;
    return { id, record, user };
  }

  /** Refuses a state-changing request without the session's CSRF token or from a foreign origin. */
  /** Refuses a state-changing request the browser says comes from another origin (log-in CSRF too). */
  checkOrigin(req: FastifyRequest): void {
    if (SAFE_METHODS.has(req.method)) return;
    const origin = req.headers.origin;
    if (typeof origin === 'string' && origin !== `${req.protocol}://${req.host}`) {
      throw new KumoError('KUMO_ERR_CSRF', 'cross-origin request refused', { reason: 'origin' });
    }
  }

  checkCsrf(req: FastifyRequest, record: SessionRecord): void {
    if (SAFE_METHODS.has(req.method)) return;
    this.checkOrigin(req);
    const token = req.headers['x-csrf-token'];
    if (typeof token !== 'string' || !sameToken(token, record.csrf)) {
      throw new KumoError('KUMO_ERR_CSRF', 'missing or wrong X-CSRF-Token', { reason: 'token' });
    }
  }

  /**
   * For the API's authentication hook: the principal of an active session cookie, or null when
   * the request has none. Throws for CSRF failures and for writes by read-only users.
   */
  async principalOf(req: FastifyRequest): Promise<ApiKeyRecord | null> {
    const s = await this.session(req);
    if (s === null || s.record.stage !== 'active') return null;
    this.checkCsrf(req, s.record);
    if (s.user.role === 'tenant-viewer' && !SAFE_METHODS.has(req.method)) {
      throw new KumoError('KUMO_ERR_FORBIDDEN', 'read-only user', { reason: 'read-only' });
    }
    req.consoleUser = s.user;
    return principalOfUser(s.user);
  }

  setCookie(req: FastifyRequest, reply: FastifyReply, id: string, maxAgeSec: number): void {
    const secure = req.protocol === 'https' ? '; Secure' : '';
    void reply.header('set-cookie', `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}${secure}`);
  }

  clearCookie(req: FastifyRequest, reply: FastifyReply): void {
    const secure = req.protocol === 'https' ? '; Secure' : '';
    void reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure}`);
  }

  /** Installs the request decoration; call once on the root instance. */
  install(app: FastifyInstance): void {
    app.decorateRequest('consoleUser', null);
  }
}
