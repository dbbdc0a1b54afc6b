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
  retentionSweepSec: {
    env: 'KUMO_RETENTION_SWEEP_SEC',
    default: '3600',
    description: 'How often the api process runs the retention job (deletes expired retention sets and audit entries older than their retention period).',
    parse: int(10, 86400),
  },
} satisfies Spec;
