import { Gauge, type Registry } from 'prom-client';

export interface TrunkMetrics {
  /** Replaces the per-trunk gateway counts (after each round of OPTIONS pings). */
  setGateways(rows: readonly { readonly tenant: string; readonly trunk: string; readonly up: number; readonly down: number }[]): void;
  /** Registration-based trunks by state (after each registration round). */
  setRegistrations(rows: readonly { readonly tenant: string; readonly trunk: string; readonly state: 'registered' | 'failed' | 'unregistered' }[]): void;
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
  const registrations = new Gauge({
    name: 'kumo_trunk_registered',
    help: 'Registration-based trunks: 1 while Kumo is registered to the carrier, 0 while registering fails',
    labelNames: ['tenant', 'trunk'],
    registers: [registry],
  });
  return {
    setRegistrations(rows) {
      registrations.reset();
      for (const r of rows) registrations.set({ tenant: r.tenant, trunk: r.trunk }, r.state === 'registered' ? 1 : 0);
    },
    setGateways(rows) {
      gateways.reset();
      for (const r of rows) {
        gateways.set({ tenant: r.tenant, trunk: r.trunk, state: 'up' }, r.up);
        gateways.set({ tenant: r.tenant, trunk: r.trunk, state: 'down' }, r.down);
      }
    },
  };
}
