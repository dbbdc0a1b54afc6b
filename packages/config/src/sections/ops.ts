import { bool, int, list, type Spec } from '../spec.js';
import { sipListen } from './engine.js';

/** The ops prober (runs inside `kumo api`; docs/operations.md, "Probes and incidents"). */
export const opsSpec = {
  probe: {
    env: 'KUMO_OPS_PROBE',
    default: 'true',
    description: 'Run the synthetic prober in this api process (one prober per installation holds a Redis lease; extra api processes stand by).',
    parse: bool,
  },
  intervalMs: {
    env: 'KUMO_OPS_PROBE_INTERVAL_MS',
    default: '5000',
    description: 'Time between probe rounds.',
    parse: int(200, 600_000),
  },
  timeoutMs: {
    env: 'KUMO_OPS_PROBE_TIMEOUT_MS',
    default: '2000',
    description: 'A probe not answered within this fails.',
    parse: int(50, 60_000),
  },
  failuresToOpen: {
    env: 'KUMO_OPS_FAILURES_TO_OPEN',
    default: '2',
    description: 'Consecutive failed probes of one target that open an incident (a success closes it).',
    parse: int(1, 100),
  },
  engines: {
    env: 'KUMO_OPS_ENGINES',
    default: '',
    description: 'SIP listeners of every engine to probe (OPTIONS, and the probe account when on), comma-separated `udp/host:port` or `tcp/host:port`. Empty: the UDP and TCP addresses of `KUMO_SIP_LISTEN` (the all-in-one engine; 0.0.0.0/:: probed on loopback).',
    parse: list(sipListen),
  },
  billingLagMaxS: {
    env: 'KUMO_OPS_BILLING_LAG_MAX_S',
    default: '300',
    description: 'Billing lag (age of the oldest CDR not yet acknowledged) above which the billing probe fails.',
    parse: int(1, 86_400),
  },
  gateways: {
    env: 'KUMO_OPS_PROBE_GATEWAYS',
    default: 'true',
    description: 'Open incidents for trunk gateways that are down, as the sip process\'s OPTIONS pinger sees them (the one gateway-health signal, `kumo_trunk_gateways`; the prober sends no pings of its own).',
    parse: bool,
  },
  probeAccount: {
    env: 'KUMO_OPS_PROBE_ACCOUNT',
    default: 'true',
    description: 'Provision the platform\'s probe account (an unlisted tenant with two extensions) and run the authenticated test REGISTER and the test call loop through every engine.',
    parse: bool,
  },
  deepIntervalMs: {
    env: 'KUMO_OPS_DEEP_PROBE_INTERVAL_MS',
    default: '15000',
    description: 'Time between the probe account\'s test REGISTER and test call loop through each engine (they run in the probe round that falls due).',
    parse: int(200, 3_600_000),
  },
  discoveryMs: {
    env: 'KUMO_OPS_DISCOVERY_MS',
    default: '60000',
    description: 'How often the prober re-reads the tenant list (gateways to probe, ports per tenant, restricted tenants).',
    parse: int(1000, 3_600_000),
  },
} satisfies Spec;
