import { bool, int, list, oneOf, type Parser, type Spec } from '../spec.js';

const percent: Parser<number> = int(0, 100);

/** Three percentages (restriction levels 1, 2, 3), each not above the previous one. */
const shares: Parser<readonly [number, number, number]> = (raw) => {
  const r = list(percent)(raw);
  if (!r.ok) return r;
  const [a, b, c] = r.value;
  if (r.value.length !== 3 || a === undefined || b === undefined || c === undefined) {
    return { ok: false, error: 'must be three percentages, for levels 1,2,3 (e.g. 50,10,0)' };
  }
  if (b > a || c > b) return { ok: false, error: 'each level must admit no more than the level below it' };
  return { ok: true, value: [a, b, c] };
};

/** Contract and overload enforcement on live calls (see docs/admission.md). Read by the sip process. */
export const admissionSpec = {
  leaseTtlMs: {
    env: 'KUMO_ADMISSION_LEASE_TTL_MS',
    default: '120000',
    description: 'Lifetime of a call\'s port/channel lease without renewal: a crashed sip process\'s capacity returns after at most this long.',
    parse: int(1000, 3_600_000),
  },
  leaseRenewMs: {
    env: 'KUMO_ADMISSION_LEASE_RENEW_MS',
    default: '30000',
    description: 'How often a sip process renews the leases of its calls in progress (must be well below the TTL).',
    parse: int(100, 600_000),
  },
  sweepMs: {
    env: 'KUMO_ADMISSION_SWEEP_MS',
    default: '30000',
    description: 'How often expired leases are swept from Redis (counting ignores them anyway).',
    parse: int(100, 3_600_000),
  },
  emergencyTrunkReserve: {
    env: 'KUMO_ADMISSION_EMERGENCY_TRUNK_RESERVE',
    default: '1',
    description: 'Channels above each trunk\'s limit that only emergency calls (110/118/119) may use.',
    parse: int(0, 100),
  },
  suspendedAllowsInbound: {
    env: 'KUMO_ADMISSION_SUSPENDED_ALLOWS_INBOUND',
    default: 'false',
    description: 'Whether a suspended tenant still receives inbound calls (it can always call emergency numbers).',
    parse: bool,
  },
  restrictionShares: {
    env: 'KUMO_ADMISSION_RESTRICTION_SHARES',
    default: '50,10,0',
    description: 'Percent of non-priority outgoing calls admitted at disaster restriction levels 1, 2 and 3.',
    parse: shares,
  },
  restrictionPollMs: {
    env: 'KUMO_ADMISSION_RESTRICTION_POLL_MS',
    default: '250',
    description: 'How often each sip process reads the restriction levels (changes apply within this plus one Redis round trip).',
    parse: int(50, 1000),
  },
  floodWindowMs: {
    env: 'KUMO_ADMISSION_FLOOD_WINDOW_MS',
    default: '60000',
    description: 'Incomplete-call flood guard: sliding window over which a source\'s attempts and answered calls are counted.',
    parse: int(1000, 3_600_000),
  },
  floodAttempts: {
    env: 'KUMO_ADMISSION_FLOOD_ATTEMPTS',
    default: '20',
    description: 'Flood guard: a source is judged once it made more than this many attempts in the window.',
    parse: int(1, 1_000_000),
  },
  floodMinCompletionPercent: {
    env: 'KUMO_ADMISSION_FLOOD_MIN_COMPLETION_PERCENT',
    default: '20',
    description: 'Flood guard: a judged source whose answered share is below this percentage is throttled.',
    parse: percent,
  },
  floodCoolingMs: {
    env: 'KUMO_ADMISSION_FLOOD_COOLING_MS',
    default: '300000',
    description: 'Flood guard: how long a throttled source stays throttled.',
    parse: int(1000, 86_400_000),
  },
  floodRejectStatus: {
    env: 'KUMO_ADMISSION_FLOOD_REJECT_STATUS',
    default: '503',
    description: 'SIP status for calls from a throttled source: 503 (with Retry-After) or 403.',
    parse: oneOf('403', '503'),
  },
  rateBurstS: {
    env: 'KUMO_ADMISSION_RATE_BURST_S',
    default: '2',
    description: 'Call-rate burst, in seconds of the contract\'s calls per second (token bucket size = max(1, ceil(rate × this))).',
    parse: int(0, 3600),
  },
  retryAfterPortsS: {
    env: 'KUMO_ADMISSION_RETRY_AFTER_PORTS_S',
    default: '5',
    description: 'Retry-After (seconds) when the tenant\'s ports are all in use.',
    parse: int(1, 3600),
  },
  retryAfterTrunkS: {
    env: 'KUMO_ADMISSION_RETRY_AFTER_TRUNK_S',
    default: '5',
    description: 'Retry-After (seconds) when a trunk\'s channels are all in use.',
    parse: int(1, 3600),
  },
  retryAfterRestrictedS: {
    env: 'KUMO_ADMISSION_RETRY_AFTER_RESTRICTED_S',
    default: '30',
    description: 'Retry-After (seconds) for calls refused by disaster restriction.',
    parse: int(1, 3600),
  },
  retryAfterOverloadS: {
    env: 'KUMO_ADMISSION_RETRY_AFTER_OVERLOAD_S',
    default: '5',
    description: 'Retry-After (seconds) for calls refused while the sip process is overloaded.',
    parse: int(1, 3600),
  },
  registerPerSecond: {
    env: 'KUMO_ADMISSION_REGISTER_PER_SECOND',
    default: '2',
    description: 'REGISTER requests per second allowed from one source address (token bucket refill); 0 disables the cap.',
    parse: int(0, 100_000),
  },
  registerBurst: {
    env: 'KUMO_ADMISSION_REGISTER_BURST',
    default: '20',
    description: 'REGISTER burst allowed from one source address (token bucket size).',
    parse: int(1, 1_000_000),
  },
  overloadLagMs: {
    env: 'KUMO_ADMISSION_OVERLOAD_LAG_MS',
    default: '150',
    description: 'Event-loop delay (p99 over the last sample, ms) above which the sip process refuses new non-priority calls; 0 disables.',
    parse: int(0, 60_000),
  },
  overloadQueueDepth: {
    env: 'KUMO_ADMISSION_OVERLOAD_QUEUE_DEPTH',
    default: '500',
    description: 'New calls being set up at once (admission decisions in flight) above which the process counts as overloaded; 0 disables.',
    parse: int(0, 1_000_000),
  },
  eventsMaxLen: {
    env: 'KUMO_ADMISSION_EVENTS_MAXLEN',
    default: '1000',
    description: 'Approximate length kept of each tenant\'s admission event stream.',
    parse: int(10, 1_000_000),
  },
  // --- toll-fraud guard (docs/security.md) ---
  tollInternationalPerHour: {
    env: 'KUMO_TOLL_INTERNATIONAL_PER_HOUR',
    default: '30',
    description: "International calls one tenant may start per clock hour; past it, the tenant's international calls are refused (403) and an alert fires until an operator lifts the block. Per-tenant limits: PUT /v1/tenants/{id}/toll-fraud.",
    parse: int(0, 1_000_000),
  },
  tollPremiumPerHour: {
    env: 'KUMO_TOLL_PREMIUM_PER_HOUR',
    default: '10',
    description: 'Premium-rate and shared-cost calls (0990, 0180, 0570) one tenant may start per clock hour, as KUMO_TOLL_INTERNATIONAL_PER_HOUR.',
    parse: int(0, 1_000_000),
  },
  tollSpendPerHour: {
    env: 'KUMO_TOLL_SPEND_PER_HOUR',
    default: '500000',
    description: "Money one tenant's international and premium-rate calls may cost per clock hour, both together, in minor units (1/100 JPY, as tariffs) as billing rates them (500000 = 5,000 JPY). Once reached, new calls of those classes are refused (403) and an alert fires until an operator lifts the block. Per-tenant: PUT /v1/tenants/{id}/toll-fraud/limits.",
    parse: int(0, 1_000_000_000_000),
  },
} satisfies Spec;
