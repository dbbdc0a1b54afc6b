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
} satisfies Spec;
