/**
 * Loads the slice of a tenant's configuration and live state one call can touch — never the
 * whole tenant: the caller, the dialled extension or group, whatever their forwarding,
 * members and overflow lead to (bounded), the trunks, the DID, pickup groups when a pickup
 * code was dialled — then hands it to the pure `planRoute`.
 */
import {
  MAX_FORWARD_DEPTH,
  gatewayIdentity,
  internalTarget,
  networkNumberToE164,
  parseDialled,
  referencedNumbers,
  type ContactView,
  type DidTarget,
  type ExtensionView,
  type NumberingPlan,
  type PickupGroupView,
  type RingGroupView,
  type RouteCaller,
  type SipTransport,
  type TenantRoutingView,
  type TrunkRecord,
} from '@kumo/domain';
import type { Binding, DirectoryRepo, GatewayHealthStore, HuntState, HuntStateStore, LocationStore } from '@kumo/store';

/** At most this many extension/group records are loaded for one call. */
export const MAX_RECORDS_PER_CALL = 64;

export interface LoadedRouting {
  readonly view: TenantRoutingView;
  readonly registrations: ReadonlyMap<string, readonly ContactView[]>;
  readonly hunt: HuntState;
}

const TRANSPORTS: readonly SipTransport[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

export function contactOf(b: Binding): ContactView {
  const t = b.source.transport.toLowerCase();
  const transport = (TRANSPORTS as readonly string[]).includes(t) ? (t as SipTransport) : 'udp';
  return {
    uri: b.contact,
    source: { address: b.source.address, port: b.source.port, transport },
    ...(b.userAgent !== undefined ? { userAgent: b.userAgent } : {}),
    ...(b.instanceId !== undefined ? { instanceId: b.instanceId } : {}),
    ...(b.regId !== undefined ? { regId: b.regId } : {}),
    ...(b.path !== undefined ? { path: b.path } : {}),
  };
}

export interface LoadDeps {
  readonly directory: DirectoryRepo;
  readonly location: LocationStore;
  readonly hunt: HuntStateStore;
  /** Trunk gateway health (OPTIONS pings); without it every gateway counts as up. */
  readonly gatewayHealth?: Pick<GatewayHealthStore, 'down'>;
}

export async function loadRouting(
  d: LoadDeps,
  tenantId: string,
  dialled: string,
  caller: RouteCaller,
  known: { readonly callerRecord?: ExtensionView; readonly trunks?: readonly TrunkRecord[] } = {},
): Promise<LoadedRouting> {
  const [numbering, trunks] = await Promise.all([
    d.directory.numberingPlan(tenantId),
    known.trunks ? Promise.resolve(known.trunks) : d.directory.trunks(tenantId),
  ]);
  const extensions = new Map<string, ExtensionView>();
  const groups = new Map<string, RingGroupView>();
  const dids = new Map<string, DidTarget>();
  let pickupGroups: PickupGroupView[] = [];
  if (known.callerRecord) extensions.set(known.callerRecord.number, known.callerRecord);

  const start: string[] = [];
  const opts: Pick<NumberingPlan, 'outsideLinePrefix' | 'featureCodes'> = numbering;
  if (caller.kind === 'extension') {
    if (!known.callerRecord) start.push(caller.extension);
    const p = parseDialled(dialled, opts);
    const t = internalTarget(dialled, opts);
    if (t !== undefined) start.push(t);
    if (p.type === 'external' && p.e164 !== null) {
      const did = await d.directory.did(tenantId, p.e164);
      if (did) {
        dids.set(did.number, did.target);
        start.push(did.target.number);
      }
    }
    if (p.type === 'pickup' && p.scope === 'group') pickupGroups = await d.directory.pickupGroupsOf(tenantId, caller.extension);
  } else {
    const e164 = networkNumberToE164(dialled);
    const did = e164 === null ? null : await d.directory.did(tenantId, e164);
    if (did) {
      dids.set(did.number, did.target);
      start.push(did.target.number);
    }
  }

  // Breadth-first over what the records lead to, bounded in depth and count.
  let frontier = [...new Set(start)];
  const seen = new Set<string>(extensions.keys());
  for (let depth = 0; depth <= MAX_FORWARD_DEPTH + 1 && frontier.length > 0; depth++) {
    const todo = frontier.filter((n) => !seen.has(n)).slice(0, MAX_RECORDS_PER_CALL - seen.size);
    for (const n of todo) seen.add(n);
    // A number's kind and its extension record in one round trip (most numbers a call touches are
    // extensions); a ring group's record is read once its kind is known.
    const [kinds, exts] = await Promise.all([
      Promise.all(todo.map((n) => d.directory.numberKind(tenantId, n))),
      Promise.all(todo.map((n) => d.directory.extension(tenantId, n))),
    ]);
    const recs = await Promise.all(
      todo.map((n, i) =>
        kinds[i] === 'extension' ? Promise.resolve(exts[i] ?? null) : kinds[i] === 'ringGroup' ? d.directory.ringGroup(tenantId, n) : Promise.resolve(null),
      ),
    );
    const next: string[] = [];
    for (const r of recs) {
      if (!r) continue;
      if ('strategy' in r) groups.set(r.number, r);
      else extensions.set(r.number, r);
      next.push(...referencedNumbers(r, opts));
    }
    frontier = next;
  }

  const extNumbers = [...extensions.keys()];
  const gatewayIds = d.gatewayHealth ? trunks.flatMap((t) => t.gateways.map(gatewayIdentity)) : [];
  const [bindings, hunt, downGateways] = await Promise.all([
    d.location.contactsOf(tenantId, extNumbers),
    d.hunt.read(tenantId, extNumbers, [...groups.keys()]),
    d.gatewayHealth && gatewayIds.length > 0 ? d.gatewayHealth.down(gatewayIds) : Promise.resolve(new Set<string>()),
  ]);
  const registrations = new Map<string, ContactView[]>();
  extNumbers.forEach((e, i) => {
    const b = bindings[i] ?? [];
    if (b.length > 0) registrations.set(e, b.map(contactOf));
  });
  return {
    view: { id: tenantId, numbering: opts, extensions, groups, pickupGroups, trunks, dids, ...(downGateways.size > 0 ? { downGateways } : {}) },
    registrations,
    hunt,
  };
}
