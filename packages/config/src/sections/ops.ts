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
    description: 'SIP addresses of every engine to probe with OPTIONS, comma-separated `udp/host:port`. Empty: the UDP addresses of `KUMO_SIP_LISTEN` (the all-in-one engine; 0.0.0.0/:: probed on loopback).',
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
    description: 'Probe every trunk gateway (SIP OPTIONS over UDP, a TCP connection for TCP/TLS gateways).',
    parse: bool,
  },
  discoveryMs: {
    env: 'KUMO_OPS_DISCOVERY_MS',
    default: '60000',
    description: 'How often the prober re-reads the tenant list (gateways to probe, ports per tenant, restricted tenants).',
    parse: int(1000, 3_600_000),
  },
} satisfies Spec;
