import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * Provisioning API metrics. `route` is the route template (`/v1/tenants/:tenantId/extensions`),
 * never the raw URL, so label values stay bounded; unknown routes are `unmatched`.
 */
export function createApiMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'kumo_api_requests_total',
      help: 'HTTP requests answered by the provisioning API',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'kumo_api_request_duration_seconds',
      help: 'Provisioning API request latency',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    contractRejections: new Counter({
      name: 'kumo_api_contract_rejections_total',
      help: 'Writes refused by a contract rule (port limit, ports below provisioned, channel limit)',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
