/**
 * The platform's probe account (docs/operations.md, "Probe account"): a tenant the ops prober owns, used for the
 * authenticated test REGISTER and the test call loop through every engine. Its id is not a valid API tenant id
 * (ids start with a letter or digit), so no operator or tenant can create, read or collide with it, and it is kept
 * out of the tenant index: tenant lists, reports, port totals and sweeps never see it; billing skips its CDRs.
 */
export const PROBE_TENANT_ID = '_kumo-probe';
/** Its SIP domain (the `.invalid` TLD is reserved, RFC 2606: no real tenant can own it). */
export const PROBE_SIP_DOMAIN = 'probe.kumo.invalid';
/** Probe A calls probe B; both are the prober. */
export const PROBE_EXTENSIONS = ['9901', '9902'] as const;
/** Ports of the probe tenant: one call loop per engine at a time (2 legs) with headroom. */
export const PROBE_TENANT_PORTS = 8;

export function isProbeTenant(tenantId: string): boolean {
  return tenantId === PROBE_TENANT_ID;
}
