/**
 * The toll cut-off's sip side (docs/security.md, "Spend per hour"): billing's toll meter publishes `{tenantId,
 * callKey}` of each toll-class call in progress whose tenant reached its hourly spend limit; every sip process
 * hears it and the one that holds the call ends it (BYE both ways, CDR `endCause: toll-fraud`). Calls this process
 * does not hold are ignored; the meter repeats the message every reading while the call is up.
 */
import type { Logger } from '@kumo/runtime';
import type { RedisClient } from '@kumo/store';
import type { CallRegistry } from '../call/registry.js';

export interface TollCutoffOptions {
  /** A connection of its own (it enters subscriber mode). */
  readonly sub: RedisClient;
  readonly channel: string;
  readonly calls: Pick<CallRegistry, 'list'>;
  readonly log: Logger;
}

/** Subscribes; resolves with the close (idempotent). */
export async function startTollCutoff(o: TollCutoffOptions): Promise<() => Promise<void>> {
  o.sub.on('message', (channel: string, message: string) => {
    if (channel !== o.channel) return;
    let m: { tenantId?: unknown; callKey?: unknown };
    try {
      m = JSON.parse(message) as typeof m;
    } catch {
      return;
    }
    const call = o.calls.list().find((c) => c.tenantId === m.tenantId && c.callKey === m.callKey);
    if (!call) return;
    o.log.warn({ tenant: call.tenantId, callKey: call.callKey }, 'toll call ended: the tenant reached its hourly toll spend limit');
    call.end('toll-fraud');
  });
  await o.sub.subscribe(o.channel);
  let closed: Promise<void> | undefined;
  return () =>
    (closed ??= o.sub.quit().then(
      () => undefined,
      () => o.sub.disconnect(),
    ));
}
