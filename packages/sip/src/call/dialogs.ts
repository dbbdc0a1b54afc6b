/**
 * Bridged call legs by dialog identifiers (`callId;localTag;remoteTag`, tags as Kumo sees
 * them), so an attended transfer (REFER with Replaces, RFC 3891/5589) can find the call it
 * joins. In-process, like the pickup registry: a Replaces reaches only calls bridged by the
 * same sip process (all of them in the all-in-one shape; see docs/routing.md).
 */
import type { BridgedLeg, DialogKey, DialogRegistry } from './types.js';

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
