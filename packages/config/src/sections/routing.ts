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
} satisfies Spec;
