import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KumoError } from '@kumo/runtime';
import { SessionStore, UserRepo, hashPassword, passwordProblem, userView, type UserLang, type UserRecord, type UserRole } from '@kumo/store';
import { actorOf, defineRoutes, tenantOf, type RouteContext } from '../context.js';
import { errors, tenantParams } from '../schemas.js';

const userSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'login', 'name', 'role', 'lang', 'totp', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    login: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', enum: ['operator', 'tenant-admin', 'tenant-viewer'] },
    tenantId: { type: 'string' },
    lang: { type: 'string', enum: ['ja', 'en'] },
    totp: { type: 'boolean', description: 'TOTP second factor enabled' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

const createBody = (roles: readonly string[]) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['login', 'name', 'role', 'password'],
    properties: {
      login: { type: 'string', minLength: 2, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]+$' },
      name: { type: 'string', minLength: 1, maxLength: 100 },
      role: { type: 'string', enum: [...roles] },
      lang: { type: 'string', enum: ['ja', 'en'] },
      password: { type: 'string', minLength: 10, maxLength: 200 },
    },
  }) as const;

const patchBody = (roles: readonly string[]) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
      role: { type: 'string', enum: [...roles] },
      password: { type: 'string', minLength: 10, maxLength: 200 },
      totp: { type: 'boolean', enum: [false], description: 'false: turn the user’s second factor off (lost phone)' },
    },
  }) as const;

interface CreateBody {
  login: string;
  name: string;
  role: UserRole;
  lang?: UserLang;
  password: string;
}
interface PatchBody {
  name?: string;
  role?: UserRole;
  password?: string;
  totp?: false;
}

const TENANT_ROLES = ['tenant-admin', 'tenant-viewer'] as const;

/** The shared body of both scopes: list, create, change, remove the users of one scope (a tenant or the platform). */
function userCrud(app: FastifyInstance, ctx: RouteContext, o: { tag: string; roles: readonly string[]; tenantOfReq: (req: FastifyRequest) => string | null; params?: unknown }): void {
  const users = new UserRepo(ctx.redis, ctx.keys);
  const sessions = new SessionStore(ctx.redis, ctx.keys);
  const idParams = o.params === undefined ? { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 32 } } } : { type: 'object', required: ['tenantId', 'id'], properties: { tenantId: { type: 'string', maxLength: 64 }, id: { type: 'string', maxLength: 32 } } };
  const find = async (req: FastifyRequest<{ Params: { id: string } }>): Promise<UserRecord> => {
    const u = await users.byId(req.params.id);
    const scope = o.tenantOfReq(req);
    if (u === null || (u.tenantId ?? null) !== scope) throw new KumoError('KUMO_ERR_NOT_FOUND', 'user not found');
    return u;
  };

  app.get('/users', { schema: { tags: [o.tag], summary: 'Console users', ...(o.params !== undefined ? { params: o.params } : {}), response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: userSchema } } }, ...errors(403) } } }, async (req) => ({
    items: (await users.list(o.tenantOfReq(req))).map(userView),
  }));

  app.post<{ Body: CreateBody }>(
    '/users',
    { schema: { tags: [o.tag], summary: 'Create a console user (scrypt-hashed password)', ...(o.params !== undefined ? { params: o.params } : {}), body: createBody(o.roles), response: { 201: userSchema, ...errors(403, 409) } } },
    async (req, reply) => {
      const tenantId = o.tenantOfReq(req);
      const u = await users.create({ ...req.body, ...(tenantId !== null ? { tenantId } : {}) });
      await ctx.repo.audit.append(tenantId, { actor: actorOf(req), action: 'user.create', target: `user:${u.login}`, after: userView(u) });
      return reply.code(201).send(userView(u));
    },
  );

  app.patch<{ Params: { id: string }; Body: PatchBody }>(
    '/users/:id',
    { schema: { tags: [o.tag], summary: 'Change a user (name, role, password reset, TOTP off); a reset ends their sessions', params: idParams, body: patchBody(o.roles), response: { 200: userSchema, ...errors(403) } } },
    async (req) => {
      const before = await find(req);
      const b = req.body;
      if (b.password !== undefined) {
        const problem = passwordProblem(b.password);
        if (problem !== null) throw new KumoError('KUMO_ERR_VALIDATION', problem, { problems: [{ field: 'password', message: problem }] });
      }
      const u = await users.update(before, {
        ...(b.name !== undefined ? { name: b.name } : {}),
        ...(b.role !== undefined ? { role: b.role } : {}),
        ...(b.password !== undefined ? { passwordHash: await hashPassword(b.password) } : {}),
        ...(b.totp === false ? { totpSecret: null } : {}),
      });
      if (b.password !== undefined || b.role !== undefined) await sessions.destroyAll(u.id);
      await ctx.repo.audit.append(o.tenantOfReq(req), { actor: actorOf(req), action: 'user.update', target: `user:${u.login}`, before: userView(before), after: userView(u) });
      return userView(u);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/users/:id',
    { schema: { tags: [o.tag], summary: 'Remove a user (ends their sessions)', params: idParams, response: { 204: { type: 'null' }, ...errors(403, 409) } } },
    async (req, reply) => {
      const u = await find(req);
      if (req.consoleUser?.id === u.id) throw new KumoError('KUMO_ERR_SELF_REVOCATION', 'you cannot remove yourself');
      await users.remove(u);
      await sessions.destroyAll(u.id);
      await ctx.repo.audit.append(o.tenantOfReq(req), { actor: actorOf(req), action: 'user.delete', target: `user:${u.login}`, before: userView(u) });
      return reply.code(204).send();
    },
  );
}

/** `/v1/tenants/:tenantId/users`: a tenant's console users (tenant admins and read-only users). */
export const tenantUserRoutes = defineRoutes((app, ctx) => {
  userCrud(app, ctx, { tag: 'tenant', roles: TENANT_ROLES, tenantOfReq: (req) => tenantOf(req).id, params: tenantParams });
});

/** `/v1/platform/users`: operator console users. */
export const operatorUserRoutes = defineRoutes((app, ctx) => {
  void app.register(
    (scope, _o, done) => {
      userCrud(scope, ctx, { tag: 'operator', roles: ['operator'], tenantOfReq: () => null });
      done();
    },
    { prefix: '/platform' },
  );
});
