import type { SipHandler, SipRequest, SipResponse } from '../drachtio/types.js';
import { createInviteRoute, type InviteRequest, type RouteDeps } from '../request-route/route.js';
import { srfCallIo, srfInvite, type SrfRequest } from './srf-io.js';
import type { CallIo } from './types.js';
import type { CallMetricsHook } from './metrics-hook.js';

export type CallControlDeps = RouteDeps;

/**
 * The INVITE handler `runSip` installs: the request route (request-route/route.ts) over
 * drachtio-srf. Without deps (registrar-only tests) every INVITE is answered 501.
 */
export function createInviteHandler(deps?: CallControlDeps, metrics?: CallMetricsHook): SipHandler {
  if (!deps) {
    return (_req, res) => {
      res.send(501, 'Not Implemented', {});
      return Promise.resolve();
    };
  }
  const route = createInviteRoute(deps);
  const ios = new WeakMap<object, CallIo>();
  return async (req: SipRequest, res: SipResponse) => {
    const r = req as unknown as SrfRequest & InviteRequest;
    let io = ios.get(r.srf);
    if (!io) {
      const sessionExpiresS = deps.lifecycle?.sessionExpiresS;
      io = srfCallIo(r.srf, deps.log, sessionExpiresS !== undefined ? { sessionExpiresS } : {});
      ios.set(r.srf, io);
    }
    const callIo = io;
    if (metrics) await metrics.track(srfInvite(r, res), (inv) => route(r, inv, callIo));
    else await route(r, srfInvite(r, res), io);
  };
}
