import { bool, hostPort, int, type Spec } from '../spec.js';

/** Settings of the provisioning API process (`kumo api`). */
export const apiSpec = {
  listen: {
    env: 'KUMO_API_LISTEN',
    default: '127.0.0.1:8080',
    description: 'Address of the provisioning API (host:port; port 0 = any free port). Put a TLS reverse proxy in front in production.',
    parse: hostPort,
  },
  bodyLimit: {
    env: 'KUMO_API_BODY_LIMIT',
    default: '262144',
    description: 'Largest accepted request body in bytes; larger bodies answer 413 KUMO_ERR_BODY_TOO_LARGE.',
    parse: int(1024, 16 * 1024 * 1024),
  },
  docs: {
    env: 'KUMO_API_DOCS',
    default: 'true',
    description: 'Serve the OpenAPI document (/docs/json) and its browsable UI (/docs).',
    parse: bool,
  },
  trustProxy: {
    env: 'KUMO_API_TRUST_PROXY',
    default: 'false',
    description: 'Trust X-Forwarded-* headers (set when the API runs behind a reverse proxy).',
    parse: bool,
  },
  redisTimeoutMs: {
    env: 'KUMO_API_REDIS_TIMEOUT_MS',
    default: '2000',
    description: 'A Redis command taking longer fails the request with 503 KUMO_ERR_UNAVAILABLE instead of hanging it.',
    parse: int(100, 60000),
  },
  // --- security (docs/security.md) ---
  authFailLimit: {
    env: 'KUMO_API_AUTH_FAIL_LIMIT',
    default: '20',
    description: 'Failed API authentications (401) one source address may make per window; then every request from it answers 429 with Retry-After until the window ends.',
    parse: int(1, 100000),
  },
  authFailWindowSec: {
    env: 'KUMO_API_AUTH_FAIL_WINDOW_SEC',
    default: '300',
    description: 'Window of KUMO_API_AUTH_FAIL_LIMIT, in seconds.',
    parse: int(1, 86400),
  },
  tenantWriteBurst: {
    env: 'KUMO_API_TENANT_WRITE_BURST',
    default: '300',
    description: 'Writes (POST/PUT/PATCH/DELETE) a tenant admin may make at once before KUMO_API_TENANT_WRITE_RATE applies; over it, 429 with Retry-After. Operators are not limited.',
    parse: int(1, 1000000),
  },
  tenantWriteRate: {
    env: 'KUMO_API_TENANT_WRITE_RATE',
    default: '20',
    description: "Sustained writes per second of one tenant's admins (a token bucket shared by every api process).",
    parse: int(1, 100000),
  },
  retainBillingDays: {
    env: 'KUMO_RETENTION_BILLING_DAYS',
    default: '2562',
    description: "Days a deleted (purged) tenant's billing records are kept, operator-only, before the retention job deletes them (default 7 years, the Japanese legal period for books); 0 keeps nothing.",
    parse: int(0, 36600),
  },
  auditRetentionDays: {
    env: 'KUMO_AUDIT_RETENTION_DAYS',
    default: '730',
    description: 'Days audit entries (tenant and platform trails) are kept; the retention job trims older ones. Time-based only, so a burst of changes never pushes history out.',
    parse: int(1, 36600),
  },
  auditQuotaEntries: {
    env: 'KUMO_AUDIT_QUOTA_ENTRIES',
    default: '1000000',
    description: "Per-tenant audit quota (Article 37): when a tenant's trail holds this many entries, tenant-admin writes answer 409 KUMO_ERR_QUOTA_EXCEEDED until retention trims it or an operator raises the quota. Operators are not limited.",
    parse: int(100, 1_000_000_000),
  },
  cdrDetailRetentionMaxDays: {
    env: 'KUMO_CDR_DETAIL_RETENTION_MAX_DAYS',
    default: '400',
    description: "Per-tenant data quota (Article 37): the operator's maximum of days billing's per-call detail (callee numbers, departments) is kept, and the retention of tenants without their own (`PUT /v1/tenants/{id}/data-quotas`, 62 days at least). The retention job deletes older detail; month totals stay.",
    parse: int(62, 36600),
  },
  ticketsQuota: {
    env: 'KUMO_TICKETS_QUOTA',
    default: '5000',
    description: "Per-tenant data quota: help-desk tickets one tenant may store; at the quota a tenant admin's new ticket answers 409 KUMO_ERR_QUOTA_EXCEEDED (operators, who log phone reports, are not limited). Per tenant: PUT /v1/tenants/{id}/data-quotas.",
    parse: int(1, 10_000_000),
  },
  ticketNotesMax: {
    env: 'KUMO_TICKET_NOTES_MAX',
    default: '200',
    description: "Per-tenant data quota: notes one ticket may hold; a tenant admin's note beyond it answers 409 KUMO_ERR_QUOTA_EXCEEDED.",
    parse: int(1, 100_000),
  },
  retentionSweepSec: {
    env: 'KUMO_RETENTION_SWEEP_SEC',
    default: '3600',
    description: 'How often the api process runs the retention job (deletes expired retention sets, audit entries older than their retention period, and per-call billing detail older than each tenant\'s CDR detail retention).',
    parse: int(10, 86400),
  },
} satisfies Spec;
