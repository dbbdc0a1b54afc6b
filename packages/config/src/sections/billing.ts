import { bool, hostPort, int, str, type Spec } from '../spec.js';

/** The CDR stream shape, shared by whoever publishes CDRs (sip) and the billing workers. */
export const cdrStreamSpec = {
  shards: {
    env: 'KUMO_CDR_SHARDS',
    default: '4',
    description:
      'Number of CDR shard streams (a tenant always maps to the same shard by hash). Publishers and billing workers must agree; changing it only affects new CDRs.',
    parse: int(1, 1024),
  },
  minReplicas: {
    env: 'KUMO_CDR_MIN_REPLICAS',
    default: '0',
    description:
      'Replicas that must confirm a CDR publish (Redis WAIT) before it counts as acknowledged. Set 1 with Sentinel so a failover keeps every acknowledged CDR; 0 for a single redis-server. See docs/scaling.md.',
    parse: int(0, 16),
  },
  replicaTimeoutMs: {
    env: 'KUMO_CDR_REPLICA_TIMEOUT_MS',
    default: '200',
    description:
      'How long a CDR publish waits for its replicas. When they do not confirm in time the CDR stays acknowledged on the master alone and is counted as unreplicated.',
    parse: int(1, 10000),
  },
} satisfies Spec;

/** Settings of the billing worker (`kumo billing`). */
export const billingSpec = {
  consumer: {
    env: 'KUMO_BILLING_CONSUMER',
    default: '',
    description:
      'Consumer name in the `billing` group. Keep it stable per worker (a restarted worker first re-reads its own pending CDRs); empty = the host name.',
    parse: str({ max: 64, pattern: /^[A-Za-z0-9_.-]*$/ }),
  },
  batchSize: {
    env: 'KUMO_BILLING_BATCH',
    default: '500',
    description: 'CDRs read (XREADGROUP COUNT) and charged per batch and shard.',
    parse: int(1, 10000),
  },
  blockMs: {
    env: 'KUMO_BILLING_BLOCK_MS',
    default: '1000',
    description: 'How long a read waits for new CDRs before looping (also bounds shutdown latency).',
    parse: int(10, 60000),
  },
  claimIdleMs: {
    env: 'KUMO_BILLING_CLAIM_IDLE_MS',
    default: '30000',
    description: 'A CDR pending this long on some consumer (e.g. a dead worker) is taken over with XAUTOCLAIM.',
    parse: int(100, 86400000),
  },
  maxDeliveries: {
    env: 'KUMO_BILLING_MAX_DELIVERIES',
    default: '5',
    description: 'A CDR that failed to be charged after this many deliveries goes to the dead-letter stream.',
    parse: int(1, 1000),
  },
  closeGraceMs: {
    env: 'KUMO_BILLING_CLOSE_GRACE_MS',
    default: '172800000',
    description:
      'Grace period after the end of a month (Asia/Tokyo) before it is closed; CDRs of a closed month go to the adjustments of the next open month. Default 48 h.',
    parse: int(0, 90 * 86400000),
  },
  closeCheckMs: {
    env: 'KUMO_BILLING_CLOSE_CHECK_MS',
    default: '60000',
    description: 'How often the worker runs the month-close sweep (close + reconciliation of due months).',
    parse: int(1000, 86400000),
  },
  retentionMs: {
    env: 'KUMO_BILLING_RETENTION_MS',
    default: '604800000',
    description:
      'CDR stream entries are kept at least this long (default 7 days), and always until every consumer group acknowledged them.',
    parse: int(0, 365 * 86400000),
  },
  trimIntervalMs: {
    env: 'KUMO_BILLING_TRIM_INTERVAL_MS',
    default: '60000',
    description: 'How often the worker trims the shard streams (and refreshes the pending / dead-letter gauges).',
    parse: int(100, 86400000),
  },
  tollMeterMs: {
    env: 'KUMO_BILLING_TOLL_METER_MS',
    default: '30000',
    description:
      "How often the toll meter prices the answered international and premium-rate calls in progress and adds what they cost so far to their tenant's hourly toll spend (so a long call counts against KUMO_TOLL_SPEND_PER_HOUR before it ends); 0 = off (calls count when their CDR is rated).",
    parse: int(0, 3600000),
  },
  tollCutOff: {
    env: 'KUMO_BILLING_TOLL_CUT_OFF',
    default: 'true',
    description:
      "Whether the toll meter ends a tenant's international and premium-rate calls in progress once its hourly toll spend reaches the limit (CDR endCause toll-fraud; a class an operator override lets through is spared). false: the limit only refuses new calls.",
    parse: bool,
  },
  opsListen: {
    env: 'KUMO_BILLING_OPS_LISTEN',
    default: '127.0.0.1:9093',
    description: 'Where the billing worker serves /metrics, /healthz and /readyz (port 0 = any free port).',
    parse: hostPort,
  },
} satisfies Spec;
