import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every process has one registry. Metric families are declared in this folder only
 * (one file per area), and labels take values from bounded sets.
 */
export function createRegistry(proc: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ proc });
  collectDefaultMetrics({ register: registry, prefix: 'kumo_' });
  return registry;
}
