/**
 * Calls that are ringing, by extension, so `*8` and `**<ext>` can find one to pick up.
 * In-process: a picker reaches calls handled by the same sip worker (all of them in the
 * all-in-one shape; see docs/routing.md for several workers).
 */
import type { CallSession, PickupRegistry } from './session.js';

export class LocalPickupRegistry {
  /** `tenant/extension` → sessions ringing it, oldest first. */
  private readonly ringingByKey = new Map<string, CallSession[]>();

  forTenant(tenantId: string): PickupRegistry {
    const key = (ext: string): string => `${tenantId}/${ext}`;
    return {
      ringing: (extension, session) => {
        const k = key(extension);
        const list = this.ringingByKey.get(k) ?? [];
        list.push(session);
        this.ringingByKey.set(k, list);
        return () => {
          const l = this.ringingByKey.get(k);
          if (!l) return;
          const i = l.indexOf(session);
          if (i >= 0) l.splice(i, 1);
          if (l.length === 0) this.ringingByKey.delete(k);
        };
      },
      find: (extensions) => {
        for (const ext of extensions) {
          const s = this.ringingByKey.get(key(ext))?.[0];
          if (s) return s;
        }
        return undefined;
      },
    };
  }

  /** Number of (extension, session) entries: for tests and leak checks. */
  get size(): number {
    let n = 0;
    for (const l of this.ringingByKey.values()) n += l.length;
    return n;
  }
}
