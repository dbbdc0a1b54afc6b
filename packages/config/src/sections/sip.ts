import { isIP } from 'node:net';
import { bool, hostPort, int, list, oneOf, optional, str, type Parser, type Spec } from '../spec.js';

const regex: Parser<RegExp> = (raw) => {
  try {
    return { ok: true, value: new RegExp(raw, 'i') };
  } catch (e) {
    return { ok: false, error: `not a regular expression: ${(e as Error).message}` };
  }
};

/** `alias=domain,alias=domain` → alias host (lower case) → tenant SIP domain. */
const aliasMap: Parser<ReadonlyMap<string, string>> = (raw) => {
  const out = new Map<string, string>();
  for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([a-z0-9.:[\]-]+)=([a-z0-9.-]+)$/i.exec(part);
    if (!m) return { ok: false, error: `"${part}" is not alias=domain` };
    out.set((m[1] as string).toLowerCase(), (m[2] as string).toLowerCase());
  }
  return { ok: true, value: out };
};

/** `a,b,c` → the set of IP addresses (v4 or v6), each checked. */
const ipSet: Parser<ReadonlySet<string>> = (raw) => {
  const out = new Set<string>();
  for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    if (isIP(part) === 0) return { ok: false, error: `"${part}" is not an IP address` };
    out.add(part);
  }
  return { ok: true, value: out };
};

/** Settings of the SIP application process (`kumo sip`): drachtio connection, registrar, digest, brute-force guard. */
export const sipSpec = {
  // --- engine connection (drachtio protocol) -------------------------------------------------------
  engineControl: {
    env: 'KUMO_ENGINE_CONTROL',
    default: '127.0.0.1:9022',
    description: 'Address of the SIP engine (or drachtio-server) control port the sip app connects to (the engine listens on it).',
    parse: hostPort,
  },
  engineSecret: {
    env: 'KUMO_ENGINE_SECRET',
    default: 'cymru',
    description:
      'Shared secret authenticating the sip app to the engine control port (the engine reads the same variable). The default suits the all-in-one on loopback only: refused (as any known placeholder) when the engine control address or the ops listener is off loopback.',
    parse: str({ min: 1, max: 256 }),
    secret: true,
  },
  opsListen: {
    env: 'KUMO_SIP_OPS_LISTEN',
    default: '127.0.0.1:9092',
    description: 'Where the sip process serves /metrics, /healthz and /readyz (port 0: any free port).',
    parse: hostPort,
  },

  // --- registrar -------------------------------------------------------------------------------------
  regMinExpires: {
    env: 'KUMO_SIP_REG_MIN_EXPIRES',
    default: '60',
    description: 'Shortest registration accepted, seconds; shorter requests get 423 Interval Too Brief with Min-Expires.',
    parse: int(1, 86400),
  },
  regMaxExpires: {
    env: 'KUMO_SIP_REG_MAX_EXPIRES',
    default: '3600',
    description: 'Longest registration granted, seconds; longer requests are shortened to this.',
    parse: int(1, 604800),
  },
  regDefaultExpires: {
    env: 'KUMO_SIP_REG_DEFAULT_EXPIRES',
    default: '3600',
    description: 'Expiry granted when a REGISTER names none (no Expires header, no expires contact parameter), seconds.',
    parse: int(1, 604800),
  },
  regMaxContacts: {
    env: 'KUMO_SIP_REG_MAX_CONTACTS',
    default: '5',
    description: 'Most bindings (devices) one extension may have at once.',
    parse: int(1, 100),
  },
  regContactsPolicy: {
    env: 'KUMO_SIP_REG_CONTACTS_POLICY',
    default: 'replace-oldest',
    description: 'When an extension would exceed the maximum: replace-oldest (drop the least recently refreshed bindings) or reject (403).',
    parse: oneOf('replace-oldest', 'reject'),
  },

  ipHostDomain: {
    env: 'KUMO_SIP_IP_HOST_DOMAIN',
    description:
      'Tenant SIP domain assumed for REGISTERs addressed to an IP address (a softphone given the server address as its domain, e.g. 127.0.0.1 with the demo tenant). Unset: such requests are treated like an unknown domain.',
    parse: optional(str({ min: 1, max: 253, pattern: /^[a-z0-9.-]+$/ })),
  },
  domainAliases: {
    env: 'KUMO_SIP_DOMAIN_ALIASES',
    default: '',
    description:
      'Other host names (or addresses) phones may use as their domain, each mapped to a tenant SIP domain: `alias=domain,…` (e.g. `pbx.example.jp=acme.example.jp`). Applied the same way by the registrar and the call path, before KUMO_SIP_IP_HOST_DOMAIN.',
    parse: aliasMap,
  },
  trustedEdges: {
    env: 'KUMO_SIP_TRUSTED_EDGES',
    default: '',
    description:
      'IP addresses of the edge proxies (e.g. Kamailio, infra/kamailio) in front of the engines, comma-separated. A request from one of them is taken as coming from the device in the Via below the edge\'s (its received/rport), and the Path (RFC 3327) of a REGISTER it relays becomes the route to that phone. From any other address Path and Via received are ignored. Empty: no edge (docs/scaling.md).',
    parse: ipSet,
  },

  // --- digest authentication ---------------------------------------------------------------------
  nonceSecret: {
    env: 'KUMO_NONCE_SECRET',
    description:
      'Server secret for stateless digest nonces (at least 16 characters). Required when NODE_ENV=production; otherwise a random one is made per process (nonces then do not survive a restart). All sip workers of one installation must share it; `kumo up` generates one.',
    parse: optional(str({ min: 16, max: 512 })),
    secret: true,
  },
  nonceLifetimeS: {
    env: 'KUMO_SIP_NONCE_LIFETIME_S',
    default: '300',
    description: 'How long a digest nonce is accepted, seconds; older answers get a new challenge with stale=true.',
    parse: int(5, 86400),
  },
  digestAlgorithms: {
    env: 'KUMO_SIP_DIGEST_ALGORITHMS',
    default: 'SHA-256,MD5',
    description: 'Digest algorithms offered, one challenge each, in preference order (RFC 8760).',
    parse: list(oneOf('SHA-256', 'MD5')),
  },
  digestMd5FirstUserAgents: {
    env: 'KUMO_SIP_DIGEST_MD5_FIRST_UA',
    description:
      'Regular expression (case-insensitive) of User-Agent values that get the MD5 challenge first: for legacy devices that only read the first WWW-Authenticate header (e.g. sipp 3.6). Unset: none.',
    parse: optional(regex),
  },

  digestMd5OnlyUserAgents: {
    env: 'KUMO_SIP_DIGEST_MD5_ONLY_UA',
    description:
      'Regular expression (case-insensitive) of User-Agent values challenged with MD5 only, where the tenant/extension policy allows MD5: clients known to give up on a SHA-256 challenge. Unset: Debian 12 baresip 1.x, sipp, sipvicious (see docs/interop.md). Other devices are learned: one that gives up on a multi-challenge, or answers SHA-256 with an MD5 hash, is challenged with MD5 only from then on.',
    parse: optional(regex),
  },

  // --- brute-force guard -----------------------------------------------------------------------------
  bfWindowS: {
    env: 'KUMO_SIP_BF_WINDOW_S',
    default: '300',
    description: 'Sliding window over which failed authentications are counted, seconds.',
    parse: int(1, 86400),
  },
  bfIpThreshold: {
    env: 'KUMO_SIP_BF_IP_THRESHOLD',
    default: '20',
    description: 'Failed authentications (any method) from one source IP within the window that block that IP (except for the known devices of each extension).',
    parse: int(1, 100000),
  },
  bfAorThreshold: {
    env: 'KUMO_SIP_BF_AOR_THRESHOLD',
    default: '10',
    description:
      'Failed authentications (any method) for one extension within the window that lock it to its known devices (from any IP), or lock it for one source IP (from that IP).',
    parse: int(1, 100000),
  },
  bfBlockS: {
    env: 'KUMO_SIP_BF_BLOCK_S',
    default: '900',
    description: 'How long a block lasts, seconds (kept in Redis: survives restarts).',
    parse: int(1, 604800),
  },
  bfAction: {
    env: 'KUMO_SIP_BF_ACTION',
    default: 'drop',
    description: 'What a blocked REGISTER gets: drop (no answer) or 403. Other blocked requests (INVITE, …) always get 403.',
    parse: oneOf('drop', '403'),
  },

  // --- reliability (docs/reliability.md) ----------------------------------------------------------
  callHeartbeatMs: {
    env: 'KUMO_SIP_CALL_HEARTBEAT_MS',
    default: '1000',
    description: 'How often a sip process heart-beats in Redis (the owner of its call records), and how often it sweeps for dead owners.',
    parse: int(100, 10000),
  },
  callOwnerDeadMs: {
    env: 'KUMO_SIP_CALL_OWNER_DEAD_MS',
    default: '5000',
    description:
      'A sip process silent this long is dead: another one ends its calls (BYE), releases their ports and trunk channels and publishes their CDRs (end cause system-failure). At least twice the heartbeat.',
    parse: int(200, 600000),
  },
  drainGraceMs: {
    env: 'KUMO_SIP_DRAIN_GRACE_MS',
    default: '60000',
    description:
      'On SIGTERM/SIGINT the sip process refuses new calls (503 + Retry-After) and lets established calls go on this long; then it ends what is left, CDRs written before the engine link closes. Replaces KUMO_SHUTDOWN_GRACE_MS for sip (its hard stop is this + 10 s).',
    parse: int(0, 3600000),
  },
  drainHandoff: {
    env: 'KUMO_SIP_DRAIN_HANDOFF',
    default: 'false',
    description:
      'On SIGTERM, hand new requests to the other sip workers of the engine instead of refusing them: the worker removes its routes from the engine (drachtio remove_route) so new INVITEs and REGISTERs go to the others, takes the INVITEs already on their way, and lets its calls end (rolling restart with no failed call). Only where another worker serves the same engine; `kumo up` sets it when it runs several.',
    parse: bool,
  },
  keepAliveS: {
    env: 'KUMO_SIP_KEEPALIVE_S',
    default: '30',
    description:
      'In-dialog OPTIONS to both legs of an answered call this often, seconds; a leg answering 408/481 or not answering within the interval ends the call (CDR end cause keepalive-timeout). 0 = off.',
    parse: int(0, 3600),
  },
  sessionExpiresS: {
    env: 'KUMO_SIP_SESSION_EXPIRES_S',
    default: '1800',
    description:
      'RFC 4028 session timers offered to called parties (Supported: timer, Session-Expires), seconds. Where the party takes them up, Kumo refreshes (UPDATE, else re-INVITE) or watches its refreshes, and a failed or missing refresh ends the call (keepalive-timeout); other legs get the OPTIONS keep-alive. 0 = not offered; otherwise at least 90.',
    parse: int(0, 86400),
  },
  maxCallS: {
    env: 'KUMO_SIP_MAX_CALL_S',
    default: '14400',
    description: 'Longest an answered call may last, seconds (the last guard against hung calls; CDR end cause max-duration). 0 = no limit.',
    parse: int(0, 604800),
  },
  bfTrustS: {
    env: 'KUMO_SIP_BF_TRUST_S',
    default: '2592000',
    description:
      'How long a source address that authenticated a REGISTER of an extension stays one of its known devices, seconds: known devices keep working while the extension (or their IP) is locked by guessing from elsewhere.',
    parse: int(60, 31536000),
  },
} satisfies Spec;
