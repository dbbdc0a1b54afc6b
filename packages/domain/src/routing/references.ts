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
