/**
 * Which records a call may need, so the sip app can load exactly those (a tenant may have
 * 20,000 extensions; a call touches a handful). Walk from the dialled number: each loaded
 * extension or group names the internal numbers it can lead to (forwarding, members,
 * overflow); load those too, up to the forwarding depth.
 */
import { parseDialled, type NumberingOptions } from './numbering.js';
import type { ExtensionView, RingGroupView } from './types.js';

/** The internal number a dial string leads to, if any (extensions and groups; not pickup codes). */
export function internalTarget(dial: string, numbering: NumberingOptions = {}): string | undefined {
  const d = parseDialled(dial, numbering);
  if (d.type === 'internal') return d.number;
  if (d.type === 'pickup' && d.scope === 'directed') return d.extension;
  return undefined;
}

/** Internal numbers an extension's forwarding or a group's members and overflow lead to. */
export function referencedNumbers(item: ExtensionView | RingGroupView, numbering: NumberingOptions = {}): string[] {
  const out: string[] = [];
  const add = (dial: string | undefined): void => {
    if (dial === undefined || dial === '') return;
    const n = internalTarget(dial, numbering);
    if (n !== undefined) out.push(n);
  };
  if ('strategy' in item) {
    for (const m of item.members) out.push(m.extension);
    add(item.overflow);
  } else {
    add(item.forwarding?.unconditional);
    add(item.forwarding?.busy);
    add(item.forwarding?.noAnswer);
  }
  return [...new Set(out)];
}

/** A forwarding hop: an extension's forwarding kind or a group's overflow, to an internal number. */
export interface ForwardingHop {
  readonly from: string;
  readonly field: 'forwarding/unconditional' | 'forwarding/busy' | 'forwarding/noAnswer' | 'overflow';
  readonly to: string;
}

/** The forwarding hops out of an extension or ring group (members are not hops: they ring). */
export function forwardingHops(item: ExtensionView | RingGroupView, numbering: NumberingOptions = {}): ForwardingHop[] {
  const out: ForwardingHop[] = [];
  const add = (field: ForwardingHop['field'], dial: string | undefined): void => {
    if (dial === undefined || dial === '') return;
    const to = internalTarget(dial, numbering);
    if (to !== undefined) out.push({ from: item.number, field, to });
  };
  if ('strategy' in item) add('overflow', item.overflow);
  else {
    add('forwarding/unconditional', item.forwarding?.unconditional);
    add('forwarding/busy', item.forwarding?.busy);
    add('forwarding/noAnswer', item.forwarding?.noAnswer);
  }
  return out;
}

export interface ForwardingProblem {
  /** `loop`: unconditional forwarding comes back (no phone ever rings); `depth`: more hops than call routing follows. */
  readonly kind: 'loop' | 'depth';
  readonly field: ForwardingHop['field'];
  /** The numbers along the offending chain, starting with `start`. */
  readonly chain: readonly string[];
}

/**
 * The write-time form of call routing's forwarding guard (`planDialString`): routing follows
 * at most `maxDepth` forwarding hops and cuts a chain where it comes back to a number already
 * on it. A configuration is refused when, starting from `start`, (a) unconditional forwarding
 * alone leads back to a number on the chain — calls would bounce without ringing anyone — or
 * (b) some chain of hops is longer than `maxDepth`, so routing would silently drop its end.
 * Cycles through busy / no-answer / overflow are allowed: each party rings first, and routing
 * stops at the first repeat. `lookup` gives the records reachable from `start`.
 */
export function forwardingProblem(
  start: string,
  lookup: (n: string) => ExtensionView | RingGroupView | undefined,
  maxDepth: number,
  numbering: NumberingOptions = {},
  /** The longest chain of forwarding hops leading to `start` (its numbers, without `start`). */
  lead: readonly string[] = [],
): ForwardingProblem | undefined {
  // Pass 1 from `start` alone (loops and depth); pass 2 with the chain leading in (depth only:
  // a repeat of a number on that chain is where routing cuts it).
  let reportLoops = true;
  const walk = (n: string, path: readonly string[], unconditionalOnly: boolean, first: ForwardingHop['field'] | undefined): ForwardingProblem | undefined => {
    const item = lookup(n);
    if (item === undefined) return undefined;
    for (const hop of forwardingHops(item, numbering)) {
      const field = first ?? hop.field;
      const chain = [...path, hop.to];
      const uncond = unconditionalOnly && hop.field === 'forwarding/unconditional';
      if (path.includes(hop.to)) {
        if (uncond && reportLoops) return { kind: 'loop', field, chain };
        continue;
      }
      if (chain.length - 1 > maxDepth) return { kind: 'depth', field, chain };
      const p = walk(hop.to, chain, uncond, field);
      if (p !== undefined) return p;
    }
    return undefined;
  };
  const alone = walk(start, [start], true, undefined);
  if (alone !== undefined || lead.length === 0) return alone;
  reportLoops = false;
  return walk(start, [...lead, start], true, undefined);
}
