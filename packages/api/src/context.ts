import type { KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '@kumo/runtime';
import type { OwnAddress, Tenant } from '@kumo/domain';
import type { ApiKeyRecord, Actor, DataQuotaStore, KeySchema, ProvisioningRepo, RedisClient } from '@kumo/store';
import { KumoError } from '@kumo/runtime';
import type { ConsoleAuthOptions } from './console/auth.js';
import type { SecurityOptions } from './hygiene.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated API key (set by the auth hook; null only on public routes). */
    principal: ApiKeyRecord | null;
    /** The tenant of a `/v1/tenants/:tenantId/…` route, loaded and access-checked. */
    tenant: Tenant | null;
  }
  interface FastifyContextConfig {
    /** No authentication (health, metrics). */
    public?: boolean;
    /** Under `/v1/tenants/:tenantId`: operators only (tenant admins get 403). */
    operatorOnly?: boolean;
    /** Under `/v1/tenants/:tenantId`: a write allowed on a terminated tenant (its deletion). */
    allowTerminated?: boolean;
  }
}

/** What `buildApp` needs. Everything else has a default. */
export interface ApiDeps {
  readonly redis: RedisClient;
  readonly keys: KeySchema;
  readonly log?: Logger;
  /** prom-client registry for `/metrics` (default: a fresh one). */
  readonly registry?: Registry;
  /** Bytes; default 262144. */
  readonly bodyLimit?: number;
  /** Serve `/docs` (OpenAPI UI) and `/docs/json`; default true. */
  readonly docs?: boolean;
  readonly trustProxy?: boolean;
  readonly now?: () => Date;
  /** Console log-in settings (session lifetimes, lockout); defaults in `@kumo/store`. */
  readonly console?: ConsoleAuthOptions;
  /** Days a purged tenant's billing records are kept (default 7 years); 0 keeps nothing. */
  readonly retainBillingDays?: number;
  /** KUMO_SECRET_KEY: seals trunk registration passwords before they are stored. */
  readonly secretKey?: Buffer;
  /** Rate limits of docs/security.md (default `DEFAULT_SECURITY`). */
  readonly security?: Partial<SecurityOptions>;
  /** Extra route plugins (other areas: registrations, billing, admission…). */
  readonly plugins?: readonly ApiRoutePlugin[];
  /** Kumo's own SIP listen addresses: no trunk gateway may point there (default none). */
  readonly ownSipAddresses?: readonly OwnAddress[];
  /** Ed25519 key that signs branch snapshots (KUMO_BRANCH_SIGNING_KEY); without it the branch endpoints answer 503. */
  readonly branchSigningKey?: KeyObject;
  /** CDR stream shards (KUMO_CDR_SHARDS): where CDRs forwarded by branches go (default 1). */
  readonly cdrShards?: number;
}

/** What every route plugin receives as its options. */
export interface RouteContext {
  readonly redis: RedisClient;
  readonly keys: KeySchema;
  readonly repo: ProvisioningRepo;
  readonly log: Logger;
  readonly registry: Registry;
  /** Kumo's own SIP listen addresses (trunk gateways may not point there). */
  readonly ownSipAddresses: readonly OwnAddress[];
  /** Per-tenant data quotas (docs/security.md, "Data quotas"). */
  readonly dataQuotas: DataQuotaStore;
  /** Notes one ticket may hold (a tenant admin's note beyond it is refused). */
  readonly ticketNotesMax: number;
}

/**
 * A route plugin from `packages/api/src/routes/<name>.ts`.
 * - `tenant`: mounted under `/v1/tenants/:tenantId`; the request is authenticated, a tenant
 *   admin only reaches its own tenant (others 404), `req.tenant` is loaded; set
 *   `config: { operatorOnly: true }` on a route to refuse tenant admins (403).
 * - `operator`: mounted under `/v1`; operators only (403 otherwise).
 * - `authenticated`: mounted under `/v1`; any valid key (check `req.principal` yourself).
 */
export interface ApiRoutePlugin {
  readonly name: string;
  readonly scope: 'tenant' | 'operator' | 'authenticated';
  readonly plugin: FastifyPluginAsync<RouteContext>;
}

/** The actor recorded in the audit stream for a request. */
export function actorOf(req: FastifyRequest): Actor {
  const p = req.principal;
  if (p === null) throw new KumoError('KUMO_ERR_UNAUTHORIZED', 'authentication required');
  return { keyId: p.id, role: p.role };
}

/** The tenant loaded by the tenant scope guard. */
export function tenantOf(req: FastifyRequest): Tenant {
  if (req.tenant === null) throw new KumoError('KUMO_ERR_NOT_FOUND', 'tenant not found', { resource: 'tenant' });
  return req.tenant;
}

/** Defines a route plugin whose body only registers routes (no awaiting needed). */
export function defineRoutes(register: (app: FastifyInstance, ctx: RouteContext) => void): FastifyPluginAsync<RouteContext> {
  return (app, ctx) => {
    register(app, ctx);
    return Promise.resolve();
  };
}
