/**
 * The Redis key and stream schema: every key Kumo uses is built here and nowhere else.
 *
 * Rules (see docs/architecture.md):
 * - every key starts with the configured prefix (default `kumo`);
 * - tenant-scoped keys carry the hash tag `{t:<tenantId>}` so one tenant lives in one
 *   Cluster slot and every Lua script touches one slot;
 * - global indexes (SIP domain → tenant, DID → tenant, API key → principal) are their own keys;
 * - no KEYS/SCAN on request paths: anything listed has an index.
 *
 * Sections below belong to areas; add keys to your area's section.
 */
export interface KeySchema {
  readonly prefix: string;
  /** `{t:<id>}`: the hash tag shared by all keys of one tenant. */
  tenantTag(tenantId: string): string;
  readonly tenant: ReturnType<typeof tenantKeys>;
  readonly global: ReturnType<typeof globalKeys>;
}

function tenantKeys(prefix: string) {
  const t = (id: string): string => `${prefix}:{t:${id}}`;
  return {
    // --- provisioning (api) ---------------------------------------------------
    /** Hash: the tenant record and its contract (fields of `Tenant`, numbers as decimal strings). */
    record: (id: string) => `${t(id)}:tenant`,
    /** Hash: number → kind (`extension` | `ringGroup` | `feature`): the tenant's one number space. */
    numbers: (id: string) => `${t(id)}:numbers`,
    /** Sorted set (score 0, lexical order) of extension numbers: the index lists and counts use. */
    extensions: (id: string) => `${t(id)}:extensions`,
    /** String: JSON `ExtensionRecord` (includes the HA1 values). */
    extension: (id: string, number: string) => `${t(id)}:ext:${number}`,
    /** Sorted set (score 0) of ring group numbers. */
    ringGroups: (id: string) => `${t(id)}:ringgroups`,
    /** String: JSON `RingGroup`. */
    ringGroup: (id: string, number: string) => `${t(id)}:rg:${number}`,
    /** Sorted set (score 0) of pickup group ids. */
    pickupGroups: (id: string) => `${t(id)}:pickupgroups`,
    /** String: JSON `PickupGroup`. */
    pickupGroup: (id: string, groupId: string) => `${t(id)}:pg:${groupId}`,
    /** Sorted set (score 0) of trunk ids. */
    trunks: (id: string) => `${t(id)}:trunks`,
    /** String: JSON `TrunkRecord` (includes the outbound registration password). */
    trunk: (id: string, trunkId: string) => `${t(id)}:trunk:${trunkId}`,
    /** Sorted set (score 0) of the tenant's DIDs (E.164). */
    dids: (id: string) => `${t(id)}:dids`,
    /** String: JSON `Did`. */
    did: (id: string, number: string) => `${t(id)}:did:${number}`,
    /** String: JSON `NumberingPlan`; absent = `DEFAULT_NUMBERING_PLAN`. */
    numberingPlan: (id: string) => `${t(id)}:plan`,
    /** Stream: configuration history (who, when, what): a hash chain, trimmed by time only (docs/security.md). */
    audit: (id: string) => `${t(id)}:audit`,
    /** Sorted set (score = creation ms) of the ids of the tenant's admin API keys. */
    apiKeys: (id: string) => `${t(id)}:apikeys`,

    // --- registrar ---------------------------------------------------------------
    /** Hash: one extension's bindings, binding id → encoded binding; PEXPIREAT = latest binding expiry. */
    regBindings: (id: string, extension: string) => `${t(id)}:reg:b:${extension}`,
    /** Sorted set: the tenant's bindings as `<extension> <binding id>`, score = expiry (ms); for listing/counting. */
    regIndex: (id: string) => `${t(id)}:reg:idx`,
    /** Sorted set: failed authentications for one extension (sliding window, members are attempts). */
    regFailsAor: (id: string, extension: string) => `${t(id)}:reg:fail:${extension}`,
    /** String with TTL: the extension is locked to the source addresses of its current bindings. */
    regBlockAor: (id: string, extension: string) => `${t(id)}:reg:block:${extension}`,
    /** Sorted set: failed authentications for one extension from one source IP (sliding window). */
    regFailsPair: (id: string, extension: string, ip: string) => `${t(id)}:reg:fail:${extension}@${ip}`,
    /** String with TTL: the extension is locked for that one source IP (no exception for known devices). */
    regBlockPair: (id: string, extension: string, ip: string) => `${t(id)}:reg:block:${extension}@${ip}`,
    /** Hash with TTL: the extension's known devices, `ip:<address>` / `i:<+sip.instance>` → last successful REGISTER (ms). */
    regTrusted: (id: string, extension: string) => `${t(id)}:reg:trust:${extension}`,
    /** Hash with TTL: what one device (extension + source IP + User-Agent) showed of its digest abilities (`learned`, `pending`). */
    authDevice: (id: string, device: string) => `${t(id)}:auth:dev:${device}`,

    // --- call control / admission -----------------------------------------------
    /** ZSET callId → lease expiry (epoch ms): the calls holding one of the tenant's ports. */
    admissionCalls: (id: string) => `${t(id)}:adm:calls`,
    /** ZSET callId → lease expiry (epoch ms): the calls holding a channel of one of the tenant's trunks. */
    admissionTrunk: (id: string, trunkId: string) => `${t(id)}:adm:trunk:${trunkId}`,
    /** ZSET callId → lease expiry (epoch ms): the calls holding a channel on any of the tenant's trunks. */
    admissionTrunkCalls: (id: string) => `${t(id)}:adm:trunkcalls`,
    /** SET of trunk ids that may have channel leases (what the sweeper visits). */
    admissionTrunks: (id: string) => `${t(id)}:adm:trunks`,
    /** HASH {trunk, source, priority, at} with PX = lease TTL: one admitted call's lease record. */
    admissionLease: (id: string, callId: string) => `${t(id)}:adm:lease:${callId}`,
    /** HASH {tokens, ts}: the tenant's call-rate token bucket (expires once it would be full again). */
    admissionBucket: (id: string) => `${t(id)}:adm:bucket`,
    /** ZSET callId → end time (ms): a flood-guard source's calls that ended unanswered, in the window. */
    admissionFloodAttempts: (id: string, source: string) => `${t(id)}:adm:flood:${source}:att`,
    /** ZSET callId → time (ms): a flood-guard source's answered calls, in the window. */
    admissionFloodCompletions: (id: string, source: string) => `${t(id)}:adm:flood:${source}:ok`,
    /** STRING epoch ms (PX = cooling time): the source is throttled until then. */
    admissionFloodUntil: (id: string, source: string) => `${t(id)}:adm:flood:${source}:until`,
    /** STREAM (MAXLEN ~): the tenant's admission events (flood throttling, limits reached). */
    admissionEvents: (id: string) => `${t(id)}:adm:events`,
    /** HASH reason → last event time (ms): rate-limits limit-reached events to one per reason per gate period. */
    admissionEventGate: (id: string) => `${t(id)}:adm:evgate`,
    /** SET of the tenant's priority numbers (E.164) and extensions. */
    admissionPriority: (id: string) => `${t(id)}:adm:priority`,
    // call routing (hunt state)
    /** Hash: ring group number → the member who took the group's last call (round-robin cursor). */
    huntLast: (id: string) => `${t(id)}:hunt:last`,
    /** Hash: extension → number of answered calls it is in now (busy for hunt strategies). */
    inCall: (id: string) => `${t(id)}:hunt:incall`,
    /** Hash: extension → epoch ms its last call ended (longest-idle hunting). */
    idleSince: (id: string) => `${t(id)}:hunt:idle`,
    // call records (reliability, docs/reliability.md)
    /** HASH {owner, startedAt, answeredAt, facts, legs, ticket}: one admitted call in progress; deleted once its CDR is published. */
    callRecord: (id: string, callKey: string) => `${t(id)}:call:${callKey}`,
    // cross-worker call state (docs/scaling.md)
    /** ZSET `<owner> <callKey>` → ring start (ms): calls ringing this extension, oldest first (pickup across sip workers). */
    ringingExt: (id: string, extension: string) => `${t(id)}:ringext:${extension}`,
    /** STRING (PX): the caller's SDP offer of one ringing call (a picker on another worker is answered with it). */
    ringingOffer: (id: string, callKey: string) => `${t(id)}:ringoffer:${callKey}`,

    // --- cdr / billing --------------------------------------------------------------
    /** Billing: the tenant's key base; the charge script derives the per-month keys below from it (same slot). */
    billBase: (id: string) => `${t(id)}:bill`,
    /** String (JSON): the tenant's tariff override. */
    billTariff: (id: string) => `${t(id)}:bill:tariff`,
    /** Hash month → JSON {closedAt, revision, checkedAt?, ...}: months that are closed (frozen). */
    billClosed: (id: string) => `${t(id)}:bill:closed`,
    /** Hash `<section>|<dimension>|<value>|<metric>` → integer: a month's totals (see domain report.ts). */
    billTotals: (id: string, month: string) => `${t(id)}:bill:tot:${month}`,
    /** Hash cdrId → JSON per-call charge: every call booked into the month (also the charge-once record). */
    billCalls: (id: string, month: string) => `${t(id)}:bill:calls:${month}`,
    /** Sorted set cdrId by start time: the month's per-call detail in order, for pagination. */
    billCallIndex: (id: string, month: string) => `${t(id)}:bill:idx:${month}`,
    /** List (newest first) of JSON audit records: re-ratings, tariff changes, month closes. */
    billAudit: (id: string) => `${t(id)}:bill:audit`,

    // --- provisioning references (api) ---------------------------------------------
    /**
     * Sorted set (score 0, lexical order) of references between the tenant's records:
     * `<target number>|<referrer resource>:<referrer id>|<field>`, e.g. `1007|ringGroup:600|members`.
     * Written with the referrer; read before deleting the target (refuse or cascade).
     */
    refs: (id: string) => `${t(id)}:refs`,
    // --- ops (docs/operations.md) ---------------------------------------------------------
    /** String (JSON): SLA settings of the tenant ({ monthlyFeeYen }), for Article 33. */
    opsSla: (id: string) => `${t(id)}:ops:sla`,
    /** Hash: ticket id → JSON help-desk ticket of the tenant. */
    opsTickets: (id: string) => `${t(id)}:ops:tickets`,
    /** Sorted set: the tenant's ticket ids by reception time. */
    opsTicketIndex: (id: string) => `${t(id)}:ops:tickets:idx`,
    /** Hash `<section>/<key>` → JSON: the tenant's configuration as the history last recorded it. */
    opsCfgCurrent: (id: string) => `${t(id)}:ops:cfg:cur`,
    /** Hash version number → JSON configuration version (who, when, request, changes). */
    opsCfgVersions: (id: string) => `${t(id)}:ops:cfg:versions`,
    /** String counter: the tenant's last configuration version number. */
    opsCfgSeq: (id: string) => `${t(id)}:ops:cfg:seq`,

    // --- console (people: users and sessions) ----------------------------------------
    /** Sorted set (score = creation ms) of the ids of the tenant's console users. */
    consoleUsers: (id: string) => `${t(id)}:console:users`,
    // --- security (api rate limits, audit chain, data lifecycle) ------------------
    /** HASH {tokens, ts}: the tenant's API write token bucket (expires once full again). */
    apiWriteBucket: (id: string) => `${t(id)}:api:wbucket`,
    /** String (JSON `Grants`): numbers, number blocks and gateway addresses an operator assigned to the tenant. */
    grants: (id: string) => `${t(id)}:grants`,
    /** String counter (PX 2 h): the tenant's calls of a toll class (international, premium) in one clock hour. */
    tollCount: (id: string, cls: string, hour: number) => `${t(id)}:toll:n:${cls}:${hour}`,
    /** String (JSON TollBlock): the toll class is blocked for the tenant until an operator lifts it. */
    tollBlock: (id: string, cls: string) => `${t(id)}:toll:block:${cls}`,
    /** String with PX: an operator allowed the toll class beyond its limit until the key expires. */
    tollOverride: (id: string, cls: string) => `${t(id)}:toll:override:${cls}`,
    /** String (JSON TollLimits): the tenant's own toll limits (absent = platform default). */
    tollLimits: (id: string) => `${t(id)}:toll:limits`,
    /** String (JSON `DataQuotas`): the tenant's own data quotas (CDR detail retention days, ticket cap); absent = defaults. */
    dataQuotas: (id: string) => `${t(id)}:quota`,
    /** String counter (PX 2 h): money (minor units, as rated) of the tenant's toll-class calls rated in one clock hour. */
    tollSpend: (id: string, hour: number) => `${t(id)}:toll:spend:${hour}`,
    /** Sorted set (CDR id → rated at, ms; trimmed to 2 h): CDRs already added to the spend, so a redelivery adds nothing. */
    tollSpendSeen: (id: string) => `${t(id)}:toll:spend:seen`,
    /**
     * Hash (CDR id → minor units; PX 1 day, refreshed by every write): what the toll meter already added to the spend
     * for each toll-class call still in progress; the CDR's final charge adds only the rest and removes the field.
     */
    tollSpendRunning: (id: string) => `${t(id)}:toll:spend:running`,
    /** String: hash of the newest entry of the tenant's audit chain. */
    auditHead: (id: string) => `${t(id)}:audit:head`,
    /** String: hash of the newest entry trimmed by retention (the chain's anchor). */
    auditAnchor: (id: string) => `${t(id)}:audit:anchor`,
    // --- branch (survivable branch servers, docs/branch.md) -------------------------
    /** Sorted set (score 0) of the tenant's site ids. */
    sites: (id: string) => `${t(id)}:sites`,
    /** String: JSON `SiteRecord` (which extensions, groups and local line belong to the site). */
    site: (id: string, siteId: string) => `${t(id)}:site:${siteId}`,
    /** Hash {hash, version}: the content hash of the site's last snapshot and its version (monotonic). */
    siteSync: (id: string, siteId: string) => `${t(id)}:site:${siteId}:sync`,
    /** String (JSON `BranchStatus`): what the site's branch last reported (state, snapshot version, CDR backlog). */
    siteStatus: (id: string, siteId: string) => `${t(id)}:site:${siteId}:status`,
    /** List (newest first, capped) of JSON branch service periods (serving alone from, to). */
    sitePeriods: (id: string, siteId: string) => `${t(id)}:site:${siteId}:periods`,
  };
}

/** A fresh value for an index version key (`trunkSourcesVersion`). */
export function newIndexVersion(): string {
  return `${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 12)}`;
}

function globalKeys(prefix: string) {
  return {
    // --- provisioning (api) ---------------------------------------------------
    /** Sorted set (score 0, lexical order) of every tenant id. */
    tenants: () => `${prefix}:tenants`,
    /** Hash: SIP domain (lower case) → tenant id. Unique across tenants. */
    sipDomains: () => `${prefix}:idx:sipdomain`,
    /** Hash: DID in E.164 → tenant id. */
    dids: () => `${prefix}:idx:did`,
    /**
     * Hash: trunk gateway identity `transport|IP literal|port` → JSON `{ tenantId, trunkId }` (inbound
     * trunk identification; one gateway identity belongs to one trunk, an address may hold several).
     */
    trunkSources: () => `${prefix}:idx:trunksrc`,
    /** Set: the gateway identities (fields of `trunkSources`) at one IP literal. */
    trunkSourcesAt: (ip: string) => `${prefix}:idx:trunksrc:at:${ip}`,
    /**
     * String: a random token, replaced by every write to `trunkSources` / `trunkSourcesAt` (after the write;
     * `newIndexVersion()`). The sip workers' per-process cache of the trunk-source lookup is valid while it is
     * unchanged. Random rather than a counter: after a failover to a replica that missed the last writes, a
     * counter could come back to a value a worker cached under for another state of the index.
     */
    trunkSourcesVersion: () => `${prefix}:idx:trunksrc:version`,
    /** Hash: SHA-256 (hex) of an API key → JSON `ApiKeyRecord`. Keys are never stored in clear. */
    apiKeys: () => `${prefix}:apikeys`,
    /** Hash: API key id → SHA-256 (hex) of the key (for revoke / list by id). */
    apiKeyIds: () => `${prefix}:apikeyids`,
    /** Sorted set (score = creation ms) of operator API key ids. */
    operatorKeys: () => `${prefix}:operatorkeys`,
    /** String: platform-wide restriction level 0–3 (absent = 0). */
    restrictionLevel: () => `${prefix}:restriction`,
    /** Stream: platform-level configuration history (operator actions, also on tenants). Hash tag `{audit}`: its chain keys share the slot. */
    audit: () => `${prefix}:{audit}`,

    // --- registrar ---------------------------------------------------------------
    /** String with TTL: the highest digest `nc` seen for one nonce (replay guard). */
    regNonceCount: (nonce: string) => `${prefix}:reg:nc:${nonce}`,
    /** Sorted set: failed authentications from one source IP (sliding window). Hash tag: one slot with its block key. */
    regFailsIp: (ip: string) => `${prefix}:{ip:${ip}}:reg:fail`,
    /** String with TTL: the source IP is blocked. Same slot as `regFailsIp` (the guard's script takes both). */
    regBlockIp: (ip: string) => `${prefix}:{ip:${ip}}:reg:block`,

    // --- call control / admission -----------------------------------------------
    /** SET of platform-wide priority numbers (E.164, e.g. a municipality's disaster office). */
    admissionPriority: () => `${prefix}:adm:priority`,
    /** SET of tenant ids that have held leases (the sweeper's index). */
    admissionLeasingTenants: () => `${prefix}:adm:leasing`,
    /** HASH {tokens, ts}: REGISTER token bucket of one source (IP or IP:port). */
    admissionRegister: (source: string) => `${prefix}:adm:reg:${source}`,
    // call records (reliability, docs/reliability.md)
    /** ZSET sip process id → its last heartbeat (epoch ms, Redis clock): who owns live call records. */
    callOwners: () => `${prefix}:call:owners`,
    /** SET of `<tenantId> <callKey>`: the call records one sip process owns (the recovery sweeper's index). */
    callOwnerCalls: (owner: string) => `${prefix}:call:owner:${owner}`,
    /** STRING (PX): a surviving sip process is recovering this dead owner's calls. */
    callOwnerClaim: (owner: string) => `${prefix}:call:claim:${owner}`,
    /** Pub/sub channel of one sip worker: requests from other workers and their answers (the worker relay, docs/scaling.md). */
    relayChannel: (owner: string) => `${prefix}:relay:${owner}`,
    /** Pub/sub channel: `{tenantId, callKey}` of a toll-class call in progress to end now (spend limit reached; docs/security.md). */
    tollCutChannel: () => `${prefix}:toll:cut`,
    /** STRING (PX) `<tenantId> <owner>`: the sip worker holding a bridged leg, by `callId;localTag;remoteTag` (Replaces across workers). */
    bridgedLeg: (dialog: string) => `${prefix}:bleg:${dialog}`,

    // --- cdr / billing --------------------------------------------------------------
    /** Stream: CDRs of the tenants hashed to this shard (consumer group `billing`). Own hash tag per shard. */
    cdrStream: (shard: number) => `${prefix}:{cdr:${shard}}:stream`,
    /** Stream: entries that could not be charged (payload, error, deliveries), for operators. */
    cdrDeadLetters: () => `${prefix}:cdr:dead`,
    /** String (JSON): the platform default tariff. */
    billTariffDefault: () => `${prefix}:bill:tariff`,
    /** List (newest first): platform-level billing audit (default tariff changes). */
    billAudit: () => `${prefix}:bill:audit`,
    /** Set of months (YYYY-MM) with billing activity: what the month-close sweep looks at. */
    billMonths: () => `${prefix}:bill:months`,
    /** Set of tenant ids with calls booked in a month. */
    billMonthTenants: (month: string) => `${prefix}:bill:month:${month}:tenants`,

    // --- trunk gateway health (sip) ------------------------------------------------------
    /** Hash: gateway identity `transport|IP|port` → JSON `GatewayHealth` (OPTIONS pings). */
    gatewayHealth: () => `${prefix}:gw:health`,
    /** String with TTL: the sip worker that runs this round of pings (one pinger per installation). */
    gatewayPingLock: () => `${prefix}:gw:ping:lock`,
    /** Hash: `<tenantId>/<trunkId>` → JSON `TrunkRegistrationState` (Kumo's REGISTER to a carrier). */
    trunkRegistrations: () => `${prefix}:trunk:reg`,
    /** String with TTL: the sip worker that registers the trunks (one registrant per installation). */
    trunkRegLock: () => `${prefix}:trunk:reg:lock`,
    // --- ops (docs/operations.md): incidents, probes -----------------------------------
    /** Hash: incident id → JSON incident. */
    opsIncidents: () => `${prefix}:ops:incidents`,
    /** Sorted set: incident ids by start (epoch ms). */
    opsIncidentIndex: () => `${prefix}:ops:incidents:idx`,
    /** String counter: the last incident number issued. */
    opsIncidentSeq: () => `${prefix}:ops:incidents:seq`,
    /** Hash: probe target key → JSON probe state (ok, since, consecutive failures, open incident). */
    opsProbeState: () => `${prefix}:ops:probes`,
    /** String with TTL: the prober holding the lease (one prober per installation). */
    opsProberLease: () => `${prefix}:ops:prober`,
    /** Hash: the prober's probe account (`password`, sealed with KUMO_SECRET_KEY when set); docs/operations.md. */
    opsProbeAccount: () => `${prefix}:ops:probe-account`,
    /** String counter: the last help-desk ticket number issued. */
    opsTicketSeq: () => `${prefix}:ops:tickets:seq`,
    /** Sorted set: `<tenantId>/<ticketId>` by reception time (the operators' view of every ticket). */
    opsTicketsAll: () => `${prefix}:ops:tickets:all`,
    /** Hash: work id → JSON maintenance work (工事). */
    opsWorks: () => `${prefix}:ops:works`,
    /** Sorted set: work ids by window start. */
    opsWorkIndex: () => `${prefix}:ops:works:idx`,
    /** String counter: the last work number issued. */
    opsWorkSeq: () => `${prefix}:ops:works:seq`,

    // --- console (people: users and sessions) ----------------------------------------
    /** Hash: login (lower case) → JSON `UserRecord` (scrypt hash, TOTP secret). Logins are unique platform-wide. */
    consoleUsers: () => `${prefix}:console:users`,
    /** Hash: user id → login. */
    consoleUserIds: () => `${prefix}:console:userids`,
    /** Sorted set (score = creation ms) of operator user ids. */
    consoleOperatorUsers: () => `${prefix}:console:opusers`,
    /** String (JSON session) with PX = idle timeout, keyed by the SHA-256 of the session id (the id itself is never stored). */
    consoleSession: (sidHash: string) => `${prefix}:console:sess:${sidHash}`,
    /** Set of session-id hashes of one user (logout everywhere). */
    consoleUserSessions: (userId: string) => `${prefix}:console:usess:${userId}`,
    /** String counter with TTL: failed log-ins of one login name (lockout with backoff). */
    consoleLoginFails: (login: string) => `${prefix}:console:fail:${login}`,
    /** String with PX: the login name is locked until the key expires. */
    consoleLoginLock: (login: string) => `${prefix}:console:lock:${login}`,
    /** String with TTL: the last TOTP time step a user consumed (replay guard). */
    consoleTotpStep: (userId: string) => `${prefix}:console:totp:${userId}`,
    // --- security (api rate limits, audit chain, data lifecycle) ------------------
    /** String: hash of the newest entry of the platform audit chain. */
    auditHead: () => `${prefix}:{audit}:head`,
    /** String: hash of the newest platform audit entry trimmed by retention (the chain's anchor). */
    auditAnchor: () => `${prefix}:{audit}:anchor`,
    /** STRING counter with PX = window: failed API authentications from one source address. */
    apiAuthFails: (source: string) => `${prefix}:api:authfail:${source}`,
    /** Sorted set: retention set id → expiry (epoch ms): billing records kept after a tenant's purge. */
    retention: () => `${prefix}:retention`,
    /** A key of one retention set (own hash tag `{r:<id>}`; `meta` = JSON RetentionRecord). Operator-only. */
    retained: (retentionId: string, suffix: string) => `${prefix}:{r:${retentionId}}:${suffix}`,
    // --- branch (survivable branch servers, docs/branch.md) -------------------------
    /** Hash: SHA-256 (hex) of a site credential → JSON `{ tenantId, siteId, credentialId }` (never stored in clear). */
    branchCredentials: () => `${prefix}:branch:creds`,
    /** Sorted set `<tenantId>/<siteId>` (score 0): every site, for the operators' view and the metric. */
    branchSites: () => `${prefix}:branch:sites`,
    /** On a branch: the snapshot it serves (JSON envelope as received, signature included). */
    branchSnapshot: () => `${prefix}:branch:snapshot`,
  };
}

export function keySchema(prefix = 'kumo'): KeySchema {
  return {
    prefix,
    tenantTag: (id) => `{t:${id}}`,
    tenant: tenantKeys(prefix),
    global: globalKeys(prefix),
  };
}
