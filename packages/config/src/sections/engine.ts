import { hostPort, int, list, optional, str, type Parser, type Spec } from '../spec.js';

export interface SipListen {
  readonly proto: 'udp' | 'tcp';
  readonly host: string;
  readonly port: number;
}

/** `udp/127.0.0.1:5060`, `tcp/[::1]:5060`. */
export const sipListen: Parser<SipListen> = (raw) => {
  const m = /^(udp|tcp)\/(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/]+)):(\d{1,5})$/i.exec(raw);
  if (!m) return { ok: false, error: 'must be udp/host:port or tcp/host:port (IPv6 as [addr])' };
  const port = Number(m[4]);
  if (port > 65535) return { ok: false, error: 'port must be 0-65535' };
  return { ok: true, value: { proto: (m[1] as string).toLowerCase() as 'udp' | 'tcp', host: (m[2] ?? m[3]) as string, port } };
};

/** Settings of the SIP engine (`kumo engine`). */
export const engineSpec = {
  sipListen: {
    env: 'KUMO_SIP_LISTEN',
    default: 'udp/127.0.0.1:5060,tcp/127.0.0.1:5060',
    description: 'SIP listen addresses, comma-separated `udp/host:port` or `tcp/host:port` (IPv6 as `[addr]`).',
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
      'Shared secret apps authenticate with. The default `cymru` (drachtio\'s) suits the all-in-one on loopback only; set your own whenever the control port is reachable from another host.',
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
} satisfies Spec;
