/**
 * Calls that are ringing, by extension, so `*8` and `**<ext>` can find one to pick up.
 *
 * `LocalPickupRegistry` knows the calls of this sip worker. `SharedPickupRegistry` (several
 * workers, docs/scaling.md) also keeps a Redis index per tenant and extension — which worker
 * rings which call, and the caller's offer — so a picker that lands on another worker finds the
 * call, is answered with the caller's offer, and asks the owning worker (the relay) to connect it
 * in place of the ringing devices: the owner bridges its caller with the picker's dialog, which
 * the picker's worker relays (relayed-dialogs.ts).
 */
import type { HangupBy } from '@kumo/domain';
import type { Logger } from '@kumo/runtime';
import { RingingIndex, type KeySchema, type RedisClient } from '@kumo/store';
import type { CallSession, Pickable, PickupRegistry } from './session.js';
import type { Leg } from './types.js';
import type { WorkerRelay } from './relay.js';
import type { HalfInfo, RelayedDialogs } from './relayed-dialogs.js';
import { dialogOf, legOfDialog } from './srf-io.js';

function callKeyOf(s: CallSession): string {
  return `${s.invite.callId};${s.invite.fromTag}`;
}

/** A session of this worker as a pickable call. */
export function localPickable(s: CallSession): Pickable {
  return {
    callerSdp: s.callerSdp,
    callId: s.invite.callId,
    pickUp: (leg, by) => Promise.resolve(s.pickUp(leg, by)),
    whenEnded: () => s.whenEnded(),
  };
}

export class LocalPickupRegistry {
  /** `tenant/extension` → sessions ringing it, oldest first. */
  private readonly ringingByKey = new Map<string, CallSession[]>();
  /** `tenant/callKey` → the session and how many of its extensions ring. */
  private readonly byCall = new Map<string, { session: CallSession; n: number }>();

  forTenant(tenantId: string): PickupRegistry {
    const key = (ext: string): string => `${tenantId}/${ext}`;
    return {
      ringing: (extension, session) => {
        const k = key(extension);
        const list = this.ringingByKey.get(k) ?? [];
        list.push(session);
        this.ringingByKey.set(k, list);
        const ck = `${tenantId}/${callKeyOf(session)}`;
        const c = this.byCall.get(ck) ?? { session, n: 0 };
        c.n += 1;
        this.byCall.set(ck, c);
        return () => {
          const l = this.ringingByKey.get(k);
          if (!l) return;
          const i = l.indexOf(session);
          if (i < 0) return;
          l.splice(i, 1);
          if (l.length === 0) this.ringingByKey.delete(k);
          const e = this.byCall.get(ck);
          if (e && --e.n <= 0) this.byCall.delete(ck);
        };
      },
      find: (extensions) => Promise.resolve(this.findLocal(tenantId, extensions)),
    };
  }

  protected findLocal(tenantId: string, extensions: readonly string[]): Pickable | undefined {
    for (const ext of extensions) {
      const s = this.ringingByKey.get(`${tenantId}/${ext}`)?.[0];
      if (s) return localPickable(s);
    }
    return undefined;
  }

  /** The session of this worker ringing as `callKey` (`<Call-ID>;<From tag>`), if it still rings. */
  session(tenantId: string, callKey: string): CallSession | undefined {
    return this.byCall.get(`${tenantId}/${callKey}`)?.session;
  }

  /** Number of (extension, session) entries: for tests and leak checks. */
  get size(): number {
    let n = 0;
    for (const l of this.ringingByKey.values()) n += l.length;
    return n;
  }
}

/** How long a ringing call's index entry and offer live at most (a worker that died leaves them behind). */
const RINGING_TTL_MS = 15 * 60_000;
/** How long the picker's worker waits for the owner to connect it. */
const PICKUP_TIMEOUT_MS = 3_000;

interface PickupAsk {
  readonly tenantId: string;
  readonly callKey: string;
  readonly by?: string;
  readonly half: HalfInfo;
}

/** Pickup across the sip workers of an installation: the ringing index in Redis, the connection through the relay. */
export class SharedPickupRegistry extends LocalPickupRegistry {
  private readonly ringingIndex: RingingIndex;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly dialogs: RelayedDialogs,
    private readonly log: Logger,
  ) {
    super();
    this.ringingIndex = new RingingIndex(redis, keys);
    // Another worker's picker asks for one of our ringing calls.
    dialogs.relay.on('pickup', (b, from) => {
      const a = b as PickupAsk;
      const s = this.session(a.tenantId, a.callKey);
      if (!s) return Promise.resolve({ ok: false });
      const remote = dialogs.remote(from, a.half);
      if (s.pickUp(legOfDialog(remote, a.half.record), a.by)) return Promise.resolve({ ok: true });
      remote.drop();
      return Promise.resolve({ ok: false });
    });
  }

  private get relay(): WorkerRelay {
    return this.dialogs.relay;
  }

  override forTenant(tenantId: string): PickupRegistry {
    const local = super.forTenant(tenantId);
    const k = this.keys.tenant;
    return {
      ringing: (extension, session) => {
        const off = local.ringing(extension, session);
        const callKey = callKeyOf(session);
        const member = `${this.relay.self} ${callKey}`;
        // One script each way (the index entry and the caller's offer), not three and two commands.
        const written = this.ringingIndex
          .ring(tenantId, extension, callKey, member, session.callerSdp, RINGING_TTL_MS)
          .catch((err: unknown) => this.log.warn({ err }, 'ringing call not indexed (pickup from other workers will not find it)'));
        return (after) => {
          off();
          const last = this.session(tenantId, callKey) === undefined;
          // After the write, so a call that stops ringing at once leaves nothing behind; an answered call's
          // entry goes with the answer's writes (`after`). Meanwhile a picker on another worker that finds it
          // is told no by this worker (the session no longer rings), as when the removal is on its way.
          void Promise.all([written, after]).then(() =>
            this.ringingIndex.unring(tenantId, extension, callKey, member, last).catch((err: unknown) => this.log.warn({ err }, 'ringing index entry not removed (it expires)')),
          );
        };
      },
      find: async (extensions) => {
        const mine = this.findLocal(tenantId, extensions);
        if (extensions.length === 0) return undefined;
        let lists: string[][];
        try {
          lists = await Promise.all(extensions.map((ext) => this.redis.zrange(k.ringingExt(tenantId, ext), 0, -1)));
        } catch (err) {
          this.log.warn({ err }, 'ringing index unreadable: pickup limited to this worker');
          return mine;
        }
        const candidates = lists.flatMap((l, i) => l.map((member) => ({ ext: extensions[i] as string, member })));
        const peers = [...new Set(candidates.map((c) => c.member.slice(0, c.member.indexOf(' '))).filter((o) => o !== this.relay.self))];
        const alive = new Map<string, boolean>();
        try {
          (await this.relay.alive(peers)).forEach((a, i) => alive.set(peers[i] as string, a));
        } catch {
          // unknown: try them
        }
        for (const c of candidates) {
          const sp = c.member.indexOf(' ');
          const owner = c.member.slice(0, sp);
          const callKey = c.member.slice(sp + 1);
          const stale = (): void => void this.redis.zrem(k.ringingExt(tenantId, c.ext), c.member).catch(() => undefined);
          if (owner === this.relay.self) {
            const s = this.session(tenantId, callKey);
            if (s) return localPickable(s);
            continue; // ended here a moment ago; its own clean-up removes the entry
          }
          if (alive.get(owner) === false) {
            stale();
            continue;
          }
          const sdp = await this.redis.get(k.ringingOffer(tenantId, callKey)).catch(() => null);
          if (sdp === null) {
            stale();
            continue;
          }
          return this.remotePickable(tenantId, owner, callKey, sdp);
        }
        return mine;
      },
    };
  }

  private remotePickable(tenantId: string, owner: string, callKey: string, callerSdp: string): Pickable {
    let ended: Promise<HangupBy> = Promise.resolve('system');
    return {
      callerSdp,
      callId: callKey.slice(0, callKey.lastIndexOf(';')),
      pickUp: async (leg: Leg, by?: string) => {
        const d = dialogOf(leg);
        if (!d) return false;
        const ex = this.dialogs.export(d, owner, tenantId, leg.dialog);
        try {
          const ask: PickupAsk = { tenantId, callKey, half: ex.info, ...(by !== undefined ? { by } : {}) };
          const r = await this.relay.request<{ ok: boolean }>(owner, 'pickup', ask, PICKUP_TIMEOUT_MS);
          if (r.ok) {
            this.log.info({ owner, callKey }, 'picked up a call ringing on another worker');
            // The ringing call's view: the picker (this side) is its callee.
            ended = ex.ended.then((h) => (h === 'local' ? 'callee' : h === 'remote' ? 'caller' : 'system'));
            return true;
          }
        } catch (err) {
          this.log.info({ err, owner }, 'pickup across workers failed');
        }
        ex.close();
        return false;
      },
      whenEnded: () => ended,
    };
  }
}
