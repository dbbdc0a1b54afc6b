import type { ProcessEntry } from '@kumo/runtime';

/** Every deployable Kumo process, in start order (the supervisor stops them in reverse). */
export const PROCESS_NAMES = ['engine', 'sip', 'api', 'billing'] as const;
export type ProcessName = (typeof PROCESS_NAMES)[number];

/** The entry point of each deployable that exists in this build. */
export const PROCESSES: Partial<Record<ProcessName, ProcessEntry>> = {};
