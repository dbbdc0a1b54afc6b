/**
 * Trunk gateway health: every `intervalMs`, one sip worker (the holder of a Redis lock) sends an
 * OPTIONS to every trunk gateway given as an IP address. A gateway that answers is up; one that does
 * not answer within `timeoutMs` (or answers 408/503) `downAfter` times in a row is down until it
 * answers again. The state lives in Redis (`GatewayHealthStore`), so every worker's call path skips
 * the gateways that are down instead of waiting out a setup timeout on each call; transitions are
 * logged at warn/info, and `kumo_trunk_gateways{tenant,trunk,state}` counts them for alerting.
 */
import { randomBytes } from 'node:crypto';
import { gatewayIdentity, isIpLiteral, type Gateway } from '@kumo/domain';
import type { Logger, TrunkMetrics } from '@kumo/runtime';
import type { DirectoryRepo, GatewayHealth, GatewayHealthStore } from '@kumo/store';

/** Sends one OPTIONS; resolves with the final status, or undefined when nothing came back in time. */
export type GatewayPing = (g: Pick<Gateway, 'host' | 'port' | 'transport'>, timeoutMs: number) => Promise<number | undefined>;

export interface GatewayMonitorOptions {
  readonly directory: DirectoryRepo;
  readonly store: GatewayHealthStore;
  readonly log: Logger;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly downAfter: number;
  readonly metrics?: TrunkMetrics;
  /** Pings at once, at most (the round is bounded). */
  readonly concurrency?: number;
  readonly now?: () => number;
}

/** Statuses that mean "this gateway cannot take calls" although it answered. */
const OUT_OF_SERVICE = new Set([408, 503]);

export class GatewayMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly owner = randomBytes(8).toString('hex');
  private ping: GatewayPing | undefined;

  constructor(private readonly o: GatewayMonitorOptions) {}

  /** Starts pinging through `ping` (the engine connection's OPTIONS). Idempotent. */
  start(ping: GatewayPing): void {
    this.ping = ping;
    if (this.timer || this.closed || this.o.intervalMs <= 0) return;
    const tick = (): void => {
      if (this.closed) return;
      this.running = this.round().catch((err: unknown) => this.o.log.warn({ err }, 'gateway ping round failed'));
      void this.running.finally(() => {
        if (!this.closed) this.timer = setTimeout(tick, this.o.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** One round: take the pinger role, ping every IP gateway of every trunk, record the answers. */
  async round(): Promise<void> {
    const ping = this.ping;
    if (!ping || !(await this.o.store.lead(this.owner, Math.max(this.o.intervalMs * 3, 1000)))) return;
    const now = this.o.now ?? Date.now;
    const gateways = new Map<string, { g: Gateway; trunks: { tenantId: string; trunkId: string }[] }>();
    let after: string | undefined;
    do {
      const page = await this.o.directory.listTenants({ limit: 500, ...(after !== undefined ? { after } : {}) });
      for (const t of page.items) {
        for (const trunk of await this.o.directory.trunks(t.id)) {
          for (const g of trunk.gateways) {
            if (!isIpLiteral(g.host)) continue;
            const id = gatewayIdentity(g);
            const e = gateways.get(id) ?? { g, trunks: [] };
            e.trunks.push({ tenantId: t.id, trunkId: trunk.id });
            gateways.set(id, e);
          }
        }
      }
      after = page.next ?? undefined;
    } while (after !== undefined && !this.closed);

    const results = new Map<string, GatewayHealth>();
    const queue = [...gateways.entries()];
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next && !this.closed; next = queue.shift()) {
        const [id, { g }] = next;
        const status = await ping(g, this.o.timeoutMs).catch(() => undefined);
        const answered = status !== undefined && !OUT_OF_SERVICE.has(status);
        const r = await this.o.store.record(id, answered, status, now(), this.o.downAfter);
        results.set(id, r.health);
        if (r.changed) {
          const at = { gateway: `${g.host}:${g.port}`, transport: g.transport, status, trunks: gateways.get(id)?.trunks };
          if (r.health.state === 'down') this.o.log.warn(at, 'trunk gateway down (no answer to OPTIONS)');
          else this.o.log.info(at, 'trunk gateway up again');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency ?? 32, Math.max(1, queue.length)) }, worker));
    await this.o.store.prune(new Set(gateways.keys()));
    if (this.o.metrics) {
      const perTrunk = new Map<string, { tenant: string; trunk: string; up: number; down: number }>();
      for (const [id, { trunks }] of gateways) {
        const state = results.get(id)?.state ?? 'up';
        for (const t of trunks) {
          const k = `${t.tenantId}/${t.trunkId}`;
          const e = perTrunk.get(k) ?? { tenant: t.tenantId, trunk: t.trunkId, up: 0, down: 0 };
          e[state]++;
          perTrunk.set(k, e);
        }
      }
      this.o.metrics.setGateways([...perTrunk.values()]);
    }
  }

  /** Stops pinging; waits for a round in progress. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
