import type { SipHandler } from '../drachtio/types.js';

/**
 * CALL CONTROL HOOK. `runSip` hands INVITEs to the handler returned by `createInviteHandler`.
 * Until call control lands (request-route/, call/), every INVITE is answered 501 Not Implemented.
 * The call-routing work replaces the body of this factory (its deps arrive through `SipAppDeps`).
 */
export function createInviteHandler(): SipHandler {
  return (_req, res) => {
    res.send(501, 'Not Implemented', {});
    return Promise.resolve();
  };
}
