import { Counter, Gauge, type Registry } from 'prom-client';

/** Why Kumo itself ended calls (the CDR's `endCause`, docs/reliability.md): a fixed set, so labels stay bounded. */
export const SYSTEM_END_CAUSES = ['system-failure', 'engine-lost', 'shutdown', 'keepalive-timeout', 'max-duration', 'toll-fraud'] as const;

export interface ReliabilityMetrics {
  /** A call ended by the system, by cause (recovered calls count as `system-failure`). */
  endedBySystem(cause: string): void;
  /** Reads the number of calls in the process's registry at scrape time. */
  setLiveCalls(read: () => number): void;
}

/** The sip process's reliability metrics: calls in progress, calls the system had to end and why. */
export function createReliabilityMetrics(registry: Registry): ReliabilityMetrics {
  let live: (() => number) | undefined;
  const ended = new Counter({
    name: 'kumo_sip_calls_ended_by_system_total',
    help: 'Calls Kumo ended itself, by cause (system-failure: recovered from a dead sip process)',
    labelNames: ['cause'],
    registers: [registry],
  });
  for (const c of SYSTEM_END_CAUSES) ended.inc({ cause: c }, 0);
  new Gauge({
    name: 'kumo_sip_calls_in_progress',
    help: "Calls in this sip process's call registry (ringing or answered)",
    registers: [registry],
    collect() {
      this.set(live?.() ?? 0);
    },
  });
  return {
    endedBySystem: (cause) => {
      if ((SYSTEM_END_CAUSES as readonly string[]).includes(cause)) ended.inc({ cause });
    },
    setLiveCalls: (read) => {
      live = read;
    },
  };
}
