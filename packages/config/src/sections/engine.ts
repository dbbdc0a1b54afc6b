import { bool, hostPort, int, list, optional, str, type Parser, type Spec } from '../spec.js';

export interface SipListen {
  readonly proto: 'udp' | 'tcp' | 'tls';
  readonly host: string;
  readonly port: number;
}

/** `udp/127.0.0.1:5060`, `tcp/[::1]:5060`, `tls/0.0.0.0:5061`. */
export const sipListen: Parser<SipListen> = (raw) => {
  const m = /^(udp|tcp|tls)\/(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/]+)):(\d{1,5})$/i.exec(raw);
  if (!m) return { ok: false, error: 'must be udp/host:port, tcp/host:port or tls/host:port (IPv6 as [addr])' };
  const port = Number(m[4]);
  if (port > 65535) return { ok: false, error: 'port must be 0-65535' };
  return { ok: true, value: { proto: (m[1] as string).toLowerCase() as 'udp' | 'tcp' | 'tls', host: (m[2] ?? m[3]) as string, port } };
};

/** Settings of the SIP engine (`kumo engine`). */
export const engineSpec = {
  sipListen: {
    env: 'KUMO_SIP_LISTEN',
    default: 'udp/127.0.0.1:5060,tcp/127.0.0.1:5060',
    description:
      'SIP listen addresses, comma-separated `udp/host:port`, `tcp/host:port` or `tls/host:port` (IPv6 as `[addr]`; TLS needs KUMO_SIP_TLS_CERT and KUMO_SIP_TLS_KEY).',
    parse: list(sipListen),
  },
  sipAdvertisedHost: {
    env: 'KUMO_SIP_ADVERTISED_HOST',
    default: '',
    description: 'Host written in Via/Contact instead of the bound address (needed when listening on 0.0.0.0).',
    parse: optional(str({ min: 1, max: 253 })),
  },
  control: {
    env: 'KUMO_ENGINE_CONTROL',
    default: '127.0.0.1:9022',
    description: 'drachtio control port the sip app connects to (inbound mode), host:port.',
    parse: hostPort,
  },
  secret: {
    env: 'KUMO_ENGINE_SECRET',
    default: 'cymru',
    description:
      'Shared secret apps authenticate with. The default `cymru` (drachtio\'s) suits the all-in-one on loopback only: the engine refuses to start with it (or any known placeholder such as `change-me`) when a SIP, control or ops listener is off loopback.',
    parse: str({ min: 1, max: 200, pattern: /^[^|\r\n]+$/ }),
    secret: true,
  },
  opsListen: {
    env: 'KUMO_ENGINE_OPS_LISTEN',
    default: '127.0.0.1:9091',
    description: 'host:port of the engine\'s /metrics, /healthz and /readyz.',
    parse: hostPort,
  },
  maxMessageSize: {
    env: 'KUMO_SIP_MAX_MESSAGE_SIZE',
    default: '65535',
    description: 'Largest SIP message accepted, in bytes (larger requests get 513 or are dropped).',
    parse: int(1024, 1048576),
  },
  maxTransactions: {
    env: 'KUMO_ENGINE_MAX_TRANSACTIONS',
    default: '50000',
    description: 'Live server transactions beyond which new requests are answered 503.',
    parse: int(100, 10000000),
  },
  tcpIdleSeconds: {
    env: 'KUMO_SIP_TCP_IDLE_SECONDS',
    default: '300',
    description: 'Idle SIP TCP connections are closed after this many seconds.',
    parse: int(5, 86400),
  },
  tcpMaxPerSource: {
    env: 'KUMO_SIP_TCP_MAX_PER_SOURCE',
    default: '100',
    description: 'Most SIP TCP connections accepted from one source address.',
    parse: int(1, 100000),
  },
  tcpMaxConnections: {
    env: 'KUMO_SIP_TCP_MAX_CONNECTIONS',
    default: '10000',
    description: 'Most SIP TCP connections in total.',
    parse: int(1, 1000000),
  },
  sipSupported: {
    env: 'KUMO_SIP_SUPPORTED',
    default: 'replaces',
    description:
      'SIP option tags a request may list in Require, comma-separated; a request requiring any other gets 420 Bad Extension with Unsupported (RFC 3261 §8.2.2.3). 100rel is never supported.',
    parse: list(str({ min: 1, max: 64, pattern: /^[A-Za-z0-9.!%*_+`'~-]+$/ })),
  },
  shedLagMs: {
    env: 'KUMO_ENGINE_SHED_LAG_MS',
    default: '250',
    description:
      'Load shedding: event-loop lag (ms, smoothed) above which new INVITEs are answered 503 with Retry-After before reaching the app; shedding stops under half of it.',
    parse: int(10, 10000),
  },
  shedPendingInvites: {
    env: 'KUMO_ENGINE_SHED_PENDING_INVITES',
    default: '2000',
    description:
      'Load shedding: new INVITEs handed to the apps and not yet answered (not even 1xx) above which new INVITEs are answered 503; shedding stops under half of it.',
    parse: int(10, 1000000),
  },
  shedAnswerMs: {
    env: 'KUMO_ENGINE_SHED_ANSWER_MS',
    default: '150',
    description:
      "Load shedding: the apps' answer time to new INVITEs (ms, the quickest per 100 ms) above which, three intervals in a row, the engine's admission controller limits new INVITEs to 90 % of the rate the apps answered and refuses the rest with 503 (0 = backstops only).",
    parse: int(0, 10000),
  },
  shedQueueMs: {
    env: 'KUMO_ENGINE_SHED_QUEUE_MS',
    default: '40',
    description:
      "Load shedding: the engine's UDP receive-queue delay (ms, measured by a probe datagram to itself every 20 ms) above which, three intervals in a row, an admission limit already set is cut; the limit grows only while the queue is under a fifth of it. Low on purpose: every admitted call's messages wait in that queue, and a standing one makes each call cost the engine more (0 = off).",
    parse: int(0, 10000),
  },
  shedNeverUsers: {
    env: 'KUMO_ENGINE_SHED_NEVER_USERS',
    default: '110,118,119,0110,0118,0119',
    description:
      'Load shedding: Request-URI users whose new INVITEs are never refused, comma-separated (emergency numbers, also behind the outside-line prefix); an INVITE with an RFC 4412 Resource-Priority in the esnet namespace is never refused either.',
    parse: list(str({ min: 1, max: 64, pattern: /^[A-Za-z0-9+*#._-]+$/ })),
  },
  shedRetryAfterSeconds: {
    env: 'KUMO_ENGINE_SHED_RETRY_AFTER_SECONDS',
    default: '5',
    description: 'Retry-After (seconds) of the 503 sent to a shed INVITE.',
    parse: int(1, 3600),
  },
  tryingDelayMs: {
    env: 'KUMO_ENGINE_TRYING_DELAY_MS',
    default: '100',
    description:
      "How long (ms) a new INVITE's 100 Trying waits for the app's own first response: an app answering sooner makes it unnecessary (RFC 3261 §17.2.1), one datagram less per call; a retransmitted INVITE gets it at once. 0 = at once, as drachtio-server does; at most 200.",
    parse: int(0, 200),
  },
  sipTlsCert: {
    env: 'KUMO_SIP_TLS_CERT',
    default: '',
    description: 'PEM file of the certificate (chain) the SIP TLS listeners present (required with a `tls/` listen address).',
    parse: optional(str({ min: 1, max: 4096 })),
  },
  sipTlsKey: {
    env: 'KUMO_SIP_TLS_KEY',
    default: '',
    description: 'PEM file of the private key of KUMO_SIP_TLS_CERT.',
    parse: optional(str({ min: 1, max: 4096 })),
  },
  sipTlsVerify: {
    env: 'KUMO_SIP_TLS_VERIFY',
    default: 'true',
    description: 'Verify the certificate of the peer when the engine opens a TLS connection (sips: targets, `transport=tls`).',
    parse: bool,
  },
} satisfies Spec;
