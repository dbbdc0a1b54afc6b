import { runApi } from '@kumo/api';
import { runBilling } from '@kumo/billing';
import { runEngine } from '@kumo/engine';
import { runSip } from '@kumo/sip';
import type { ProcessEntry } from '@kumo/runtime';

/** Every deployable Kumo process, in start order (the supervisor stops them in reverse). */
export const PROCESS_NAMES = ['engine', 'sip', 'api', 'billing'] as const;
export type ProcessName = (typeof PROCESS_NAMES)[number];

/** The entry point of each deployable that exists in this build. */
export const PROCESSES: Partial<Record<ProcessName, ProcessEntry>> = {
  engine: runEngine,
  sip: runSip,
  api: runApi,
  billing: runBilling,
};

/**
 * Where each process answers `/readyz` under `kumo up`: the env var that sets its listen
 * address and that variable's default (kept equal to the config section's default).
 */
export const READY_ENDPOINTS: Readonly<Record<ProcessName, { env: string; dflt: string }>> = {
  engine: { env: 'KUMO_ENGINE_OPS_LISTEN', dflt: '127.0.0.1:9091' },
  sip: { env: 'KUMO_SIP_OPS_LISTEN', dflt: '127.0.0.1:9092' },
  api: { env: 'KUMO_API_LISTEN', dflt: '127.0.0.1:8080' },
  billing: { env: 'KUMO_BILLING_OPS_LISTEN', dflt: '127.0.0.1:9093' },
};
