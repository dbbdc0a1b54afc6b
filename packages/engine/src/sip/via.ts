import type { Via } from './types.js';

/** Parse one Via field value, which may hold several comma-separated vias. Undefined when malformed. */
export function parseVia(value: string): Via[] | undefined {
  void value;
  return undefined;
}

/** Serialize one via (`SIP/2.0/UDP host:port;params`). */
export function formatVia(via: Via): string {
  void via;
  return '';
}
