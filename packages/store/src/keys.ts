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
