/**
 * Bridged call legs by dialog identifiers (`callId;localTag;remoteTag`, tags as Kumo sees
 * them), so an attended transfer (REFER with Replaces, RFC 3891/5589) or an INVITE with Replaces
 * can find the call it joins. `LocalDialogRegistry` knows this worker's bridges;
 * `SharedDialogRegistry` (several workers, docs/scaling.md) also indexes each bridged leg's
 * worker in Redis, and a Replaces naming a leg another worker holds asks that worker (the relay)
 * to take its bridge apart: it hangs up the replaced leg and hands the other one over
 * (relayed-dialogs.ts), so the joined call bridges a leg of each worker.
 */
import type { Logger } from '@kumo/runtime';
import type { KeySchema, RedisClient } from '@kumo/store';
import type { RelayedDialogs, HalfInfo } from './relayed-dialogs.js';
import { dialogOf, legOfDialog } from './srf-io.js';
import type { BridgedLeg, DialogFind, DialogKey, DialogRegistry, Leg, PartyIdentity } from './types.js';

interface Entry {
  readonly tenantId: string;
  readonly leg: BridgedLeg;
  /** Key of the other leg of the same bridge. */
  readonly peerKey: string;
}

export function dialogKey(k: DialogKey): string {
  return `${k.callId};${k.localTag};${k.remoteTag}`;
}

/** Parses the Replaces value of a Refer-To URI header (`callid;to-tag=x;from-tag=y`, URL-encoded or not). */
export function parseReplaces(referTo: string): { callId: string; toTag: string; fromTag: string } | undefined {
  const m = /[?&]replaces=([^&>]*)/i.exec(referTo);
  if (!m?.[1]) return undefined;
  let v: string;
  try {
    v = decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
  const [callId, ...params] = v.split(';').map((s) => s.trim());
  const p = new Map(params.map((s) => [s.split('=')[0]?.toLowerCase() ?? '', s.slice(s.indexOf('=') + 1)] as const));
  const toTag = p.get('to-tag');
  const fromTag = p.get('from-tag');
  if (!callId || !toTag || !fromTag) return undefined;
  return { callId, toTag, fromTag };
}

/** Parses a Replaces header (RFC 3891: `callid;to-tag=x;from-tag=y[;early-only]`). */
export function parseReplacesHeader(v: string): { callId: string; toTag: string; fromTag: string } | undefined {
  return parseReplaces(`?replaces=${encodeURIComponent(v.trim())}`);
}

export class LocalDialogRegistry {
  private readonly byKey = new Map<string, Entry>();

  forTenant(tenantId: string): DialogRegistry {
    return {
      add: (a, b) => {
        const ka = dialogKey(a.key);
        const kb = dialogKey(b.key);
        this.byKey.set(ka, { tenantId, leg: a, peerKey: kb });
        this.byKey.set(kb, { tenantId, leg: b, peerKey: ka });
        return () => {
          if (this.byKey.get(ka)?.leg === a) this.byKey.delete(ka);
          if (this.byKey.get(kb)?.leg === b) this.byKey.delete(kb);
        };
      },
      // RFC 3891: to-tag is the recipient's (Kumo's) local tag, from-tag the remote one.
      find: (r) => {
        const e = this.byKey.get(dialogKey({ callId: r.callId, localTag: r.toTag, remoteTag: r.fromTag }));
        if (!e) return { kind: 'none' };
        return e.tenantId === tenantId ? { kind: 'found', leg: e.leg } : { kind: 'other-tenant' };
      },
    };
  }

  /** Entries (for tests and leak checks). */
  list(): { tenantId: string; key: string; peerKey: string }[] {
    return [...this.byKey].map(([key, e]) => ({ tenantId: e.tenantId, key, peerKey: e.peerKey }));
  }

  get size(): number {
    return this.byKey.size;
  }
}

/** How long a bridged leg's index entry lives at most (a worker that died leaves it behind): the longest call. */
const BRIDGED_TTL_MS = 7 * 24 * 3600_000;
const TAKEOVER_TIMEOUT_MS = 5_000;

interface TakeoverAsk {
  readonly tenantId: string;
  readonly callId: string;
  readonly toTag: string;
  readonly fromTag: string;
}

/** Replaces across the sip workers of an installation: bridged legs indexed in Redis, taken over through the relay. */
export class SharedDialogRegistry extends LocalDialogRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySchema,
    private readonly dialogs: RelayedDialogs,
    private readonly log: Logger,
  ) {
    super();
    // Another worker got a Replaces for a leg bridged here: take the bridge apart, hand the other leg over.
    dialogs.relay.on('takeover', async (b, from) => {
      const a = b as TakeoverAsk;
      const found = await super.forTenant(a.tenantId).find(a);
      if (found.kind !== 'found') return { ok: false };
      const taken = await found.leg.takeOver();
      if (!taken) return { ok: false };
      void taken.replaced.hangup();
      const d = dialogOf(taken.other);
      if (!d) {
        void taken.other.hangup();
        return { ok: false };
      }
      return { ok: true, half: dialogs.export(d, from, a.tenantId, taken.other.dialog).info };
    });
  }

  override forTenant(tenantId: string): DialogRegistry {
    const local = super.forTenant(tenantId);
    const self = this.dialogs.relay.self;
    const g = this.keys.global;
    return {
      add: (a, b) => {
        const off = local.add(a, b);
        const ka = g.bridgedLeg(dialogKey(a.key));
        const kb = g.bridgedLeg(dialogKey(b.key));
        // `<tenant> <worker>[ <the other party, JSON>]`: a Replaces from another worker tells the joined parties who they talk to.
        const v = (l: BridgedLeg): string => `${tenantId} ${self}${l.peer ? ` ${JSON.stringify(l.peer)}` : ''}`;
        // Two keys of different slots on a Cluster: no MULTI, one pipeline each way.
        const written = Promise.all([this.redis.set(ka, v(a), 'PX', BRIDGED_TTL_MS), this.redis.set(kb, v(b), 'PX', BRIDGED_TTL_MS)]).catch((err: unknown) =>
          this.log.warn({ err }, 'bridged legs not indexed (Replaces from other workers will not find them)'),
        );
        return () => {
          off();
          // One DEL for both where one node holds every key; on a Cluster the two keys may live on different nodes.
          void written.then(() => (this.redis.isCluster ? Promise.all([this.redis.del(ka), this.redis.del(kb)]).then(() => undefined) : this.redis.del(ka, kb)).catch(() => undefined));
        };
      },
      find: async (r): Promise<DialogFind> => {
        const here = local.find(r);
        if (here instanceof Promise || here.kind !== 'none') return here;
        const v = await this.redis.get(g.bridgedLeg(dialogKey({ callId: r.callId, localTag: r.toTag, remoteTag: r.fromTag }))).catch(() => null);
        if (v === null) return { kind: 'none' };
        const sp = v.indexOf(' ');
        const sp2 = v.indexOf(' ', sp + 1);
        const owner = sp2 < 0 ? v.slice(sp + 1) : v.slice(sp + 1, sp2);
        if (v.slice(0, sp) !== tenantId) return { kind: 'other-tenant' };
        if (owner === self) return { kind: 'none' };
        let peer: PartyIdentity | undefined;
        try {
          peer = sp2 < 0 ? undefined : (JSON.parse(v.slice(sp2 + 1)) as PartyIdentity);
        } catch {
          peer = undefined;
        }
        const leg: BridgedLeg = {
          key: { callId: r.callId, localTag: r.toTag, remoteTag: r.fromTag },
          ...(peer ? { peer } : {}),
          takeOver: async () => {
            const ask: TakeoverAsk = { tenantId, callId: r.callId, toTag: r.toTag, fromTag: r.fromTag };
            let x: { ok: boolean; half?: HalfInfo };
            try {
              x = await this.dialogs.relay.request(owner, 'takeover', ask, TAKEOVER_TIMEOUT_MS);
            } catch (err) {
              this.log.info({ err, owner }, 'Replaces across workers failed');
              return undefined;
            }
            if (!x.ok || !x.half) return undefined;
            // The owner already hung the replaced leg up.
            const replaced: Leg = { callId: r.callId, remoteSdp: '', hangup: () => Promise.resolve() };
            return { replaced, other: legOfDialog(this.dialogs.remote(owner, x.half), x.half.record) };
          },
        };
        return { kind: 'found', leg };
      },
    };
  }
}
