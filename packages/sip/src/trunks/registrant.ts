/**
 * Registration-based trunks: Kumo registers to the carrier (RFC 3261 §10) with the trunk's digest
 * credentials, answering the carrier's 401/407 (drachtio-srf's `auth`), refreshes the binding before it
 * expires (at 80 % of the granted time) and, when a REGISTER fails or goes unanswered, retries with an
 * exponential backoff (5 s doubling up to `retryMaxMs`). One sip worker registers (Redis lock); the
 * state is shared in Redis (`TrunkRegistrationStore`) for the api (`GET …/trunks/:id/status`). A site's local line
 * is left to the site's branch (`siteLines`).
 */
import { randomBytes } from 'node:crypto';
import type { Gateway, TrunkRegistration } from '@kumo/domain';
import type { Logger, TrunkMetrics } from '@kumo/runtime';
import type { DirectoryRepo, TrunkRegistrationState, TrunkRegistrationStore } from '@kumo/store';

export interface RegisterAttempt {
  /** Request-URI / where to send: the trunk's first gateway. */
  readonly gateway: Pick<Gateway, 'host' | 'port' | 'transport'>;
  /** AoR domain (the registration's realm, else the gateway host). */
  readonly domain: string;
  readonly username: string;
  readonly password: string;
  readonly expiresSec: number;
}

/** Sends one REGISTER (answering a challenge); the final status and granted expiry, or undefined on timeout. */
export type SendRegister = (a: RegisterAttempt, timeoutMs: number) => Promise<{ status: number; expiresSec?: number } | undefined>;

export interface TrunkRegistrantOptions {
  readonly directory: DirectoryRepo;
  readonly store: TrunkRegistrationStore;
  readonly log: Logger;
  /** How often due registrations are looked for. */
  readonly checkMs: number;
  readonly timeoutMs: number;
  readonly retryBaseMs?: number;
  readonly retryMaxMs: number;
  readonly metrics?: TrunkMetrics;
  readonly now?: () => number;
  /**
   * The trunks of a tenant that are a site's local line in this installation (docs/branch.md): their branch registers
   * them from the site, so this registrant leaves them alone. A branch's own store holds no sites: it registers them.
   */
  readonly siteLines?: (tenantId: string) => Promise<ReadonlySet<string>>;
}

export class TrunkRegistrant {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private send: SendRegister | undefined;
  private readonly owner = randomBytes(8).toString('hex');

  constructor(private readonly o: TrunkRegistrantOptions) {}

  start(send: SendRegister): void {
    this.send = send;
    if (this.timer || this.closed) return;
    const tick = (): void => {
      if (this.closed) return;
      this.running = this.round().catch((err: unknown) => this.o.log.warn({ err }, 'trunk registration round failed'));
      void this.running.finally(() => {
        if (!this.closed) this.timer = setTimeout(tick, this.o.checkMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Registers every registration-based trunk that is due. */
  async round(): Promise<void> {
    const send = this.send;
    if (!send || !(await this.o.store.lead(this.owner, Math.max(this.o.checkMs * 3, 5000)))) return;
    const now = this.o.now ?? Date.now;
    const keep = new Set<string>();
    const rows: { tenant: string; trunk: string; state: TrunkRegistrationState['state'] }[] = [];
    let after: string | undefined;
    do {
      const page = await this.o.directory.listTenants({ limit: 500, ...(after !== undefined ? { after } : {}) });
      for (const t of page.items) {
        const trunks = (await this.o.directory.trunks(t.id)).filter((trunk) => trunk.registration && trunk.gateways[0]);
        const siteLines = trunks.length > 0 && this.o.siteLines ? await this.o.siteLines(t.id) : undefined;
        for (const trunk of trunks) {
          const reg = trunk.registration;
          const gw = trunk.gateways[0];
          if (!reg || !gw || siteLines?.has(trunk.id)) continue;
          keep.add(`${t.id}/${trunk.id}`);
          const prev = await this.o.store.get(t.id, trunk.id);
          const cur = prev && now() < prev.nextAt ? prev : await this.register(t.id, trunk.id, gw, reg, prev, send, now);
          if (cur !== prev) await this.o.store.set(t.id, trunk.id, cur);
          rows.push({ tenant: t.id, trunk: trunk.id, state: cur.state });
        }
      }
      after = page.next ?? undefined;
    } while (after !== undefined && !this.closed);
    await this.o.store.prune(keep);
    this.o.metrics?.setRegistrations(rows);
  }

  private async register(
    tenantId: string,
    trunkId: string,
    gw: Gateway,
    reg: TrunkRegistration,
    prev: TrunkRegistrationState | undefined,
    send: SendRegister,
    now: () => number,
  ): Promise<TrunkRegistrationState> {
    const at = now();
    const r = await send(
      { gateway: gw, domain: reg.realm ?? gw.host, username: reg.username, password: reg.password, expiresSec: reg.expiresSec },
      this.o.timeoutMs,
    ).catch(() => undefined);
    const log = this.o.log.child({ tenant: tenantId, trunk: trunkId });
    if (r && r.status >= 200 && r.status < 300) {
      const granted = Math.max(1, r.expiresSec ?? reg.expiresSec);
      if (prev?.state !== 'registered') log.info({ expiresSec: granted }, 'trunk registered to the carrier');
      return { state: 'registered', expiresAt: at + granted * 1000, nextAt: at + Math.max(1000, Math.floor(granted * 800)), failures: 0, lastStatus: r.status, lastAttemptAt: at };
    }
    const failures = (prev?.state === 'failed' ? prev.failures : 0) + 1;
    const backoff = Math.min(this.o.retryMaxMs, (this.o.retryBaseMs ?? 5000) * 2 ** (failures - 1));
    if (prev?.state !== 'failed') log.warn({ status: r?.status }, 'trunk registration failed; retrying with backoff');
    return { state: 'failed', nextAt: at + backoff, failures, ...(r ? { lastStatus: r.status } : {}), lastAttemptAt: at };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
