import { hostPort, int, list, oneOf, optional, str, type Parser, type Spec } from '../spec.js';

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
      'Shared secret authenticating the sip app to the engine control port (the engine reads the same variable). The default suits the all-in-one on loopback only.',
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
    description: 'Failed authentications from one source IP within the window that block that IP.',
    parse: int(1, 100000),
  },
  bfAorThreshold: {
    env: 'KUMO_SIP_BF_AOR_THRESHOLD',
    default: '10',
    description:
      'Failed authentications for one extension (from any IP) within the window that lock the extension to the addresses its current bindings came from.',
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
    description: 'What a blocked source gets: drop (no answer) or 403.',
    parse: oneOf('drop', '403'),
  },
} satisfies Spec;
