import { int, oneOf, str, type Spec } from '../spec.js';

/** Settings of the all-in-one launcher `kumo up`. */
export const upSpec = {
  dataDir: {
    env: 'KUMO_DATA_DIR',
    default: '.kumo',
    description:
      'Where `kumo up` keeps its local state: redis/ (AOF), secrets.json (generated engine and nonce secrets), demo-credentials.json.',
    parse: str({ min: 1 }),
  },
  redisPort: {
    env: 'KUMO_REDIS_PORT',
    default: '0',
    description: 'Port of the local redis-server that `kumo up` starts when KUMO_REDIS_URL is unset (0 = a free port).',
    parse: int(0, 65535),
  },
  redisBin: {
    env: 'KUMO_REDIS_SERVER_BIN',
    default: 'redis-server',
    description: 'The redis-server binary `kumo up` runs.',
    parse: str({ min: 1 }),
  },
  restartMaxBackoffMs: {
    env: 'KUMO_RESTART_MAX_BACKOFF_MS',
    default: '30000',
    description: 'Longest wait before `kumo up` restarts a crashed process (backoff doubles from 500 ms).',
    parse: int(100, 600000),
  },
  redisAppendfsync: {
    env: 'KUMO_REDIS_APPENDFSYNC',
    default: 'always',
    description:
      'fsync policy of the local redis-server (AOF): always = an acknowledged write (a published CDR, a charge) is on disk before Redis answers; everysec loses up to about a second of them if the host (not just redis-server) crashes. See docs/reliability.md.',
    parse: oneOf('always', 'everysec'),
  },
  sipWorkers: {
    env: 'KUMO_SIP_WORKERS',
    default: '0',
    description:
      'How many `kumo sip` workers `kumo up` runs against its engine (the engine spreads new requests over them round-robin; cross-worker state lives in Redis, docs/scaling.md). 0 = one per CPU core, at most 8. Worker i (from 0) serves /metrics on KUMO_SIP_OPS_LISTEN port + i. `kumo sip` itself is always one process.',
    parse: int(0, 64),
  },
} satisfies Spec;
