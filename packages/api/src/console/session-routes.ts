import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KumoError } from '@kumo/runtime';
import { dummyPasswordHash, hashPassword, passwordProblem, userView, verifyPassword, type Actor, type KeySchema, type ProvisioningRepo, type RedisClient, type UserRecord } from '@kumo/store';
import type { ConsoleAuth } from './auth.js';
import { newTotpSecret, totpUri, verifyTotp, TOTP } from './totp.js';

const actorOfUser = (u: UserRecord): Actor => ({ keyId: `user:${u.login}`, role: u.role === 'operator' ? 'operator' : 'tenant-admin' });
const auditScope = (u: UserRecord): string | null => u.tenantId ?? null;

const loginBody = {
  type: 'object',
  additionalProperties: false,
  required: ['login', 'password'],
  properties: { login: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;
const codeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['code'],
  properties: { code: { type: 'string', pattern: '^[0-9]{6}$' } },
} as const;

interface Ctx {
  readonly redis: RedisClient;
  readonly keys: KeySchema;
  readonly repo: ProvisioningRepo;
  readonly auth: ConsoleAuth;
}

/**
 * `/v1/session…`: people log in and out (the console). Public routes: they authenticate with
 * the session cookie themselves. Not in the OpenAPI document (it is for automation with API
 * keys, which these routes refuse); docs/console.md describes them. Every outcome is written to the audit stream (the tenant's for
 * tenant users, the platform's for operators and unknown logins).
 */
export function sessionRoutes(app: FastifyInstance, { redis, keys, repo, auth }: Ctx): void {
  const pub = { config: { public: true } } as const;
  // Sessions are for people in a browser; automation authenticates every request with its key.
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.headers.authorization !== undefined) {
      done(new KumoError('KUMO_ERR_BAD_REQUEST', 'session routes are for console log-in; API keys need no session (drop the Authorization header)'));
    } else done();
  });

  const sessionBody = async (u: UserRecord, csrf: string, stage: string) => {
    const tenant = u.tenantId !== undefined ? await repo.tenantById(u.tenantId) : null;
    return {
      stage,
      csrf,
      user: userView(u),
      tenant: tenant === null ? null : { id: tenant.id, name: tenant.name, status: tenant.status },
    };
  };

  const start = async (req: FastifyRequest, reply: FastifyReply, u: UserRecord, stage: 'active' | 'pending-totp') => {
    const { id, record } = await auth.sessions.create(u.id, stage, { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') });
    auth.setCookie(req, reply, id, Math.round((stage === 'active' ? auth.sessions.absoluteMs : auth.sessions.pendingMs) / 1000));
    return sessionBody(u, record.csrf, stage);
  };

  /** The active session or 401; checks CSRF for writes. */
  const active = async (req: FastifyRequest) => {
    const s = await auth.session(req);
    if (s === null || s.record.stage !== 'active') throw new KumoError('KUMO_ERR_UNAUTHORIZED', 'not logged in');
    auth.checkCsrf(req, s.record);
    return s;
  };

  const lockedError = (ms: number, reply: FastifyReply): KumoError => {
    void reply.header('retry-after', String(Math.ceil(ms / 1000)));
    return new KumoError('KUMO_ERR_LOGIN_LOCKED', 'too many failed log-ins: try again later', { retryAfterSec: Math.ceil(ms / 1000) });
  };

  app.post<{ Body: { login: string; password: string } }>(
    '/session',
    { ...pub, schema: { tags: ['console'], hide: true, summary: 'Log in (console): sets the session cookie', security: [], body: loginBody } },
    async (req, reply) => {
      auth.checkOrigin(req);
      const login = req.body.login.trim().toLowerCase();
      const locked = await auth.guard.lockedFor(login);
      if (locked > 0) throw lockedError(locked, reply);
      const u = await auth.users.byLogin(login);
      const ok = await verifyPassword(req.body.password, u?.passwordHash ?? (await dummyPasswordHash()));
      const tenant = u?.tenantId !== undefined ? await repo.tenantById(u.tenantId) : null;
      const usable = ok && u !== null && (u.role === 'operator' || (tenant !== null && tenant.status !== 'terminated'));
      if (!usable) {
        const lock = await auth.guard.fail(login);
        await repo.audit.append(u?.tenantId ?? null, {
          actor: u !== null ? actorOfUser(u) : { keyId: `login:${login.slice(0, 64)}`, role: 'tenant-admin' },
          action: 'session.loginFailed',
          target: `user:${login.slice(0, 64)}`,
          after: { ip: req.ip, locked: lock > 0 },
        });
        if (lock > 0) throw lockedError(lock, reply);
        throw new KumoError('KUMO_ERR_UNAUTHORIZED', 'wrong login or password');
      }
      await auth.guard.succeed(login);
      // A session the browser already had is ended: the new one gets a fresh id (no fixation).
      const old = await auth.session(req);
      if (old !== null) await auth.sessions.destroy(old.id, old.record.userId);
      const stage = u.totpSecret !== undefined ? 'pending-totp' : 'active';
      await repo.audit.append(auditScope(u), { actor: actorOfUser(u), action: stage === 'active' ? 'session.login' : 'session.password', target: `user:${u.login}`, after: { ip: req.ip } });
      return start(req, reply, u, stage);
    },
  );

  app.post<{ Body: { code: string } }>(
    '/session/totp',
    { ...pub, schema: { tags: ['console'], hide: true, summary: 'Second factor: the TOTP code after the password', security: [], body: codeBody } },
    async (req, reply) => {
      const s = await auth.session(req);
      if (s === null || s.record.stage !== 'pending-totp' || s.user.totpSecret === undefined) throw new KumoError('KUMO_ERR_UNAUTHORIZED', 'log in with your password first');
      auth.checkCsrf(req, s.record);
      const locked = await auth.guard.lockedFor(s.user.login);
      if (locked > 0) throw lockedError(locked, reply);
      const step = verifyTotp(s.user.totpSecret, req.body.code, Date.now());
      // A code is good once: its time step must be newer than the last one used.
      let fresh = false;
      if (step !== null) {
        const k = keys.global.consoleTotpStep(s.user.id);
        const prev = await redis.set(k, String(step), 'EX', TOTP.stepSec * 4, 'GET');
        fresh = prev === null || Number(prev) < step;
        if (prev !== null && Number(prev) > step) await redis.set(k, prev, 'EX', TOTP.stepSec * 4);
      }
      if (step === null || !fresh) {
        const lock = await auth.guard.fail(s.user.login);
        await repo.audit.append(auditScope(s.user), { actor: actorOfUser(s.user), action: 'session.totpFailed', target: `user:${s.user.login}`, after: { ip: req.ip } });
        if (lock > 0) throw lockedError(lock, reply);
        throw new KumoError('KUMO_ERR_UNAUTHORIZED', 'wrong or reused code');
      }
      await auth.guard.succeed(s.user.login);
      await auth.sessions.destroy(s.id, s.user.id);
      await repo.audit.append(auditScope(s.user), { actor: actorOfUser(s.user), action: 'session.login', target: `user:${s.user.login}`, after: { ip: req.ip, totp: true } });
      return start(req, reply, s.user, 'active');
    },
  );

  app.get('/session', { ...pub, schema: { tags: ['console'], hide: true, summary: 'The current console session', security: [] } }, async (req) => {
    const s = await auth.session(req);
    if (s === null) throw new KumoError('KUMO_ERR_UNAUTHORIZED', 'not logged in');
    return sessionBody(s.user, s.record.csrf, s.record.stage);
  });

  app.delete('/session', { ...pub, schema: { tags: ['console'], hide: true, summary: 'Log out', security: [] } }, async (req, reply) => {
    const s = await auth.session(req);
    if (s !== null) {
      auth.checkCsrf(req, s.record);
      await auth.sessions.destroy(s.id, s.user.id);
      await repo.audit.append(auditScope(s.user), { actor: actorOfUser(s.user), action: 'session.logout', target: `user:${s.user.login}` });
    }
    auth.clearCookie(req, reply);
    return reply.code(204).send();
  });

  app.delete('/sessions', { ...pub, schema: { tags: ['console'], hide: true, summary: 'Log out everywhere (every session of this user)', security: [] } }, async (req, reply) => {
    const s = await active(req);
    const n = await auth.sessions.destroyAll(s.user.id);
    await repo.audit.append(auditScope(s.user), { actor: actorOfUser(s.user), action: 'session.logoutEverywhere', target: `user:${s.user.login}`, after: { sessions: n } });
    auth.clearCookie(req, reply);
    return reply.code(204).send();
  });

  app.patch<{ Body: { lang?: 'ja' | 'en'; name?: string } }>(
    '/session/user',
    {
      ...pub,
      schema: {
        tags: ['console'], hide: true,
        summary: 'My preferences (language, display name)',
        security: [],
        body: { type: 'object', additionalProperties: false, properties: { lang: { type: 'string', enum: ['ja', 'en'] }, name: { type: 'string', minLength: 1, maxLength: 100 } } },
      },
    },
    async (req) => {
      const s = await active(req);
      const u = await auth.users.update(s.user, { ...(req.body.lang !== undefined ? { lang: req.body.lang } : {}), ...(req.body.name !== undefined ? { name: req.body.name } : {}) });
      return userView(u);
    },
  );

  app.post<{ Body: { current: string; password: string } }>(
    '/session/password',
    {
      ...pub,
      schema: {
        tags: ['console'], hide: true,
        summary: 'Change my password (ends every other session)',
        security: [],
        body: { type: 'object', additionalProperties: false, required: ['current', 'password'], properties: { current: { type: 'string', maxLength: 200 }, password: { type: 'string', maxLength: 200 } } },
      },
    },
    async (req, reply) => {
      const s = await active(req);
      if (!(await verifyPassword(req.body.current, s.user.passwordHash))) throw new KumoError('KUMO_ERR_UNAUTHORIZED', 'the current password is wrong');
      const problem = passwordProblem(req.body.password);
      if (problem !== null) throw new KumoError('KUMO_ERR_VALIDATION', problem, { problems: [{ field: 'password', message: problem }] });
      const u = await auth.users.update(s.user, { passwordHash: await hashPassword(req.body.password) });
      await auth.sessions.destroyAll(u.id);
      await repo.audit.append(auditScope(u), { actor: actorOfUser(u), action: 'user.password', target: `user:${u.login}` });
      return start(req, reply, u, 'active');
    },
  );

  app.post('/session/totp/setup', { ...pub, schema: { tags: ['console'], hide: true, summary: 'A new TOTP secret to enrol (not active until confirmed)', security: [] } }, async (req) => {
    const s = await active(req);
    const secret = newTotpSecret();
    return { secret, uri: totpUri(secret, s.user.login) };
  });

  app.post<{ Body: { secret: string; code: string } }>(
    '/session/totp/enable',
    {
      ...pub,
      schema: {
        tags: ['console'], hide: true,
        summary: 'Turn the second factor on: the secret from setup and a current code',
        security: [],
        body: { type: 'object', additionalProperties: false, required: ['secret', 'code'], properties: { secret: { type: 'string', pattern: '^[A-Z2-7]{32}$' }, code: { type: 'string', pattern: '^[0-9]{6}$' } } },
      },
    },
    async (req) => {
      const s = await active(req);
      if (verifyTotp(req.body.secret, req.body.code, Date.now()) === null) throw new KumoError('KUMO_ERR_VALIDATION', 'the code does not match', { problems: [{ field: 'code', message: 'does not match' }] });
      const u = await auth.users.update(s.user, { totpSecret: req.body.secret });
      await repo.audit.append(auditScope(u), { actor: actorOfUser(u), action: 'user.totpEnable', target: `user:${u.login}` });
      return userView(u);
    },
  );

  app.delete<{ Body: { code: string } }>(
    '/session/totp',
    { ...pub, schema: { tags: ['console'], hide: true, summary: 'Turn the second factor off (needs a current code)', security: [], body: codeBody } },
    async (req) => {
      const s = await active(req);
      if (s.user.totpSecret === undefined || verifyTotp(s.user.totpSecret, req.body.code, Date.now()) === null) throw new KumoError('KUMO_ERR_UNAUTHORIZED', 'wrong code');
      const u = await auth.users.update(s.user, { totpSecret: null });
      await repo.audit.append(auditScope(u), { actor: actorOfUser(u), action: 'user.totpDisable', target: `user:${u.login}` });
      return userView(u);
    },
  );
}
