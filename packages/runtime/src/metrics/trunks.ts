import { Gauge, type Registry } from 'prom-client';

export interface TrunkMetrics {
  /** Replaces the per-trunk gateway counts (after each round of OPTIONS pings). */
  setGateways(rows: readonly { readonly tenant: string; readonly trunk: string; readonly up: number; readonly down: number }[]): void;
}

/**
 * Trunk gateway health, from the sip process's OPTIONS pings: `kumo_trunk_gateways{tenant,trunk,state}`
 * (state `up` / `down`). Labels are bounded by provisioning (tenants × trunks), like the binding gauge.
 */
export function createTrunkMetrics(registry: Registry): TrunkMetrics {
  const gateways = new Gauge({
    name: 'kumo_trunk_gateways',
    help: 'Trunk gateways by OPTIONS health state (up, down), per tenant and trunk',
    labelNames: ['tenant', 'trunk', 'state'],
    registers: [registry],
  });
  return {
    setGateways(rows) {
      gateways.reset();
      for (const r of rows) {
        gateways.set({ tenant: r.tenant, trunk: r.trunk, state: 'up' }, r.up);
        gateways.set({ tenant: r.tenant, trunk: r.trunk, state: 'down' }, r.down);
      }
    },
  };
}
