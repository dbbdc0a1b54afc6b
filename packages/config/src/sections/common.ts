import { int, oneOf, optional, redisUrl, str, type Parser, type Spec } from '../spec.js';

/** 32 bytes as 64 hex digits or base64. */
const key32: Parser<Buffer> = (raw) => {
  const b = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  return b.length === 32 ? { ok: true, value: b } : { ok: false, error: 'must be 32 bytes: 64 hex digits or base64' };
};

/** Settings every Kumo process reads. */
export const commonSpec = {
  logLevel: {
    env: 'KUMO_LOG_LEVEL',
    default: 'info',
    description: 'pino log level: fatal, error, warn, info, debug, trace, silent',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  redisUrl: {
    env: 'KUMO_REDIS_URL',
    description:
      'Redis to use: redis://host:port/db, rediss://…, redis-sentinel://host:port,host:port/mastername, redis-cluster://host:port,host:port. Unset under `kumo up`: a local redis-server is started.',
    parse: optional(redisUrl),
    secret: true,
  },
  redisKeyPrefix: {
    env: 'KUMO_REDIS_PREFIX',
    default: 'kumo',
    description: 'Prefix of every Redis key (lets several installations or test runs share one Redis).',
    parse: str({ min: 1, max: 32, pattern: /^[a-zA-Z0-9_-]+$/ }),
  },
  secretKey: {
    env: 'KUMO_SECRET_KEY',
    description:
      'Key (32 bytes: 64 hex digits or base64) that seals secrets Kumo must keep usable, such as trunk registration passwords, with AES-256-GCM before they are stored. The api and sip processes need the same key; `kumo up` generates one. Unset: such secrets are stored in clear.',
    parse: optional(key32),
    secret: true,
  },
  shutdownGraceMs: {
    env: 'KUMO_SHUTDOWN_GRACE_MS',
    default: '10000',
    description: 'How long a process waits for in-flight work on SIGTERM/SIGINT before it exits.',
    parse: int(0, 600000),
  },
} satisfies Spec;
