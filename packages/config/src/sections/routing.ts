import { int, type Spec } from '../spec.js';

/** Call routing settings of the sip process (`kumo sip`). */
export const routingSpec = {
  trunkSetupTimeoutS: {
    env: 'KUMO_SIP_TRUNK_SETUP_TIMEOUT_S',
    default: '5',
    description: 'Seconds to wait for a provisional response from a trunk gateway before trying the next gateway.',
    parse: int(1, 60),
  },
  trunkRingCapS: {
    env: 'KUMO_SIP_TRUNK_RING_CAP_S',
    default: '180',
    description: 'Longest an outside call may ring unanswered before Kumo gives up (the carrier usually ends it first).',
    parse: int(10, 3600),
  },
  gatewayPingIntervalS: {
    env: 'KUMO_SIP_GATEWAY_PING_INTERVAL_S',
    default: '30',
    description:
      'Seconds between OPTIONS pings to every trunk gateway given as an IP address (one sip worker pings; 0 turns pinging off). A gateway that stops answering is skipped by routing until it answers again.',
    parse: int(0, 3600),
  },
  gatewayPingTimeoutMs: {
    env: 'KUMO_SIP_GATEWAY_PING_TIMEOUT_MS',
    default: '3000',
    description: 'How long a gateway has to answer an OPTIONS ping, milliseconds.',
    parse: int(100, 60000),
  },
  trunkRegRetryMaxS: {
    env: 'KUMO_SIP_TRUNK_REG_RETRY_MAX_S',
    default: '300',
    description:
      'Registration-based trunks: longest wait between REGISTER retries after a failure (the backoff starts at 5 s and doubles). Bindings are refreshed at 80 % of the time the carrier granted.',
    parse: int(5, 3600),
  },
  gatewayDownAfter: {
    env: 'KUMO_SIP_GATEWAY_DOWN_AFTER',
    default: '2',
    description: 'Unanswered OPTIONS pings in a row after which a gateway is marked down (its first answer marks it up).',
    parse: int(1, 100),
  },
} satisfies Spec;
