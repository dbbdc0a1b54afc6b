import { int, oneOf, optional, redisUrl, str, type Spec } from '../spec.js';

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
  shutdownGraceMs: {
    env: 'KUMO_SHUTDOWN_GRACE_MS',
    default: '10000',
    description: 'How long a process waits for in-flight work on SIGTERM/SIGINT before it exits.',
    parse: int(0, 600000),
  },
} satisfies Spec;
