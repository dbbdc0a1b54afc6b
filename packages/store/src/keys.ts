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
    /** Hash: the tenant record and its contract. */
    record: (id: string) => `${t(id)}:tenant`,

    // --- registrar ---------------------------------------------------------------

    // --- call control / admission -----------------------------------------------
    /** ZSET callId → lease expiry (epoch ms): the calls holding one of the tenant's ports. */
    admissionCalls: (id: string) => `${t(id)}:adm:calls`,
    /** ZSET callId → lease expiry (epoch ms): the calls holding a channel of one of the tenant's trunks. */
    admissionTrunk: (id: string, trunkId: string) => `${t(id)}:adm:trunk:${trunkId}`,
    /** SET of trunk ids that may have channel leases (what the sweeper visits). */
    admissionTrunks: (id: string) => `${t(id)}:adm:trunks`,
    /** HASH {trunk, source, priority, at} with PX = lease TTL: one admitted call's lease record. */
    admissionLease: (id: string, callId: string) => `${t(id)}:adm:lease:${callId}`,
    /** HASH {tokens, ts}: the tenant's call-rate token bucket (expires once it would be full again). */
    admissionBucket: (id: string) => `${t(id)}:adm:bucket`,
    /** ZSET callId → attempt time (ms): a flood-guard source's admitted attempts in the window. */
    admissionFloodAttempts: (id: string, source: string) => `${t(id)}:adm:flood:${source}:att`,
    /** ZSET callId → answer time (ms): a flood-guard source's answered calls in the window. */
    admissionFloodCompletions: (id: string, source: string) => `${t(id)}:adm:flood:${source}:ok`,
    /** STRING epoch ms (PX = cooling time): the source is throttled until then. */
    admissionFloodUntil: (id: string, source: string) => `${t(id)}:adm:flood:${source}:until`,
    /** STREAM (MAXLEN ~): the tenant's admission events (throttling, limits reached, restriction changes). */
    admissionEvents: (id: string) => `${t(id)}:adm:events`,
    /** HASH reason → last event time (ms): rate-limits limit-reached events to one per reason per gate period. */
    admissionEventGate: (id: string) => `${t(id)}:adm:evgate`,
    /** SET of the tenant's priority numbers (E.164) and extensions. */
    admissionPriority: (id: string) => `${t(id)}:adm:priority`,

    // --- cdr / billing --------------------------------------------------------------

  };
}

function globalKeys(prefix: string) {
  return {
    // --- provisioning (api) ---------------------------------------------------
    /** Set of every tenant id. */
    tenants: () => `${prefix}:tenants`,

    // --- registrar ---------------------------------------------------------------

    // --- call control / admission -----------------------------------------------
    /** HASH `platform` → level, `t:<tenantId>` → level: disaster restriction levels (absent = 0). */
    admissionRestriction: () => `${prefix}:adm:restriction`,
    /** SET of platform-wide priority numbers (E.164, e.g. a municipality's disaster office). */
    admissionPriority: () => `${prefix}:adm:priority`,
    /** SET of tenant ids that have held leases (the sweeper's index). */
    admissionLeasingTenants: () => `${prefix}:adm:leasing`,
    /** HASH {tokens, ts}: REGISTER token bucket of one source (IP or IP:port). */
    admissionRegister: (source: string) => `${prefix}:adm:reg:${source}`,

    // --- cdr / billing --------------------------------------------------------------

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
