/**
 * Requests relayed by a trusted edge proxy (Kamailio in front of several engines, docs/scaling.md).
 *
 * A request from one of the configured edge addresses (KUMO_SIP_TRUSTED_EDGES) is taken as coming
 * from the device the edge received it from: the Via below the edge's own (its `received` / `rport`,
 * which the edge fills in, else its sent-by). Every step that reads the source — carrier
 * identification, the brute-force guard, the registrar's NAT binding — then sees the phone or the
 * carrier, never the edge. The edge's own hop is kept on the request (`edge`) for the Path and
 * for requests that must go back through it. From any other address nothing is trusted: Via
 * `received` and Path are the sender's word.
 */
import type { SipHandler, SipRequest } from '../drachtio/types.js';
import { parseVias } from '../registrar/headers.js';

export interface EdgeHop {
  readonly address: string;
  readonly port: number | string;
  readonly protocol: string;
}

/** A request after `throughEdge`: the edge hop it arrived on, when it came through a trusted edge. */
export interface EdgeAware {
  readonly edge?: EdgeHop;
}

export interface EdgeSource {
  readonly address: string;
  readonly port: number;
  readonly transport: string;
}

/** The device behind a trusted edge; undefined when the request is not from one (or carries no second Via). */
export function edgeSource(req: Pick<SipRequest, 'source_address' | 'get'>, edges: ReadonlySet<string> | undefined): EdgeSource | undefined {
  if (!edges || edges.size === 0 || !edges.has(req.source_address)) return undefined;
  const vias = parseVias(req.get('via'));
  const v = vias?.[1];
  if (!v) return undefined;
  const received = v.params.get('received');
  const rport = Number(v.params.get('rport'));
  const address = received !== undefined && received !== '' ? received.replace(/^\[|\]$/g, '') : v.host;
  const port = Number.isInteger(rport) && rport > 0 ? rport : (v.port ?? (v.transport === 'tls' ? 5061 : 5060));
  return { address, port, transport: v.transport };
}

/** Wraps a handler: requests from a trusted edge are seen with the device's source, the edge hop kept as `edge`. */
export function throughEdge(handler: SipHandler, edges: ReadonlySet<string> | undefined): SipHandler {
  if (!edges || edges.size === 0) return handler;
  return (req, res) => {
    const src = edgeSource(req, edges);
    if (src) {
      const hop: EdgeHop = { address: req.source_address, port: req.source_port, protocol: req.protocol };
      Object.assign(req as object, { source_address: src.address, source_port: src.port, protocol: src.transport, edge: hop });
    }
    return handler(req, res);
  };
}
