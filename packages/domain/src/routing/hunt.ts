/**
 * Ring group hunt strategies (代表着信): the order in which members are tried.
 *
 * - `ring-all`: everybody at once (members in a call still ring: call waiting is the phone's choice);
 * - `sequential`: configured order;
 * - `round-robin`: configured order rotated to start after the member who took the last call;
 * - `longest-idle`: the member whose last call ended longest ago first (never called = longest),
 *   ties in configured order.
 * Except for `ring-all`, members in a call are skipped.
 */
import type { HuntStateView, HuntStrategy } from './types.js';

export function orderMembers(
  strategy: HuntStrategy,
  groupNumber: string,
  members: readonly string[],
  state: HuntStateView = {},
): string[] {
  const unique = [...new Set(members)];
  if (strategy === 'ring-all') return unique;
  const free = (m: string): boolean => !(state.busy?.has(m) ?? false);
  switch (strategy) {
    case 'sequential':
      return unique.filter(free);
    case 'round-robin': {
      const last = state.lastAnswered?.get(groupNumber);
      const at = last === undefined ? -1 : unique.indexOf(last);
      const rotated = at < 0 ? unique : [...unique.slice(at + 1), ...unique.slice(0, at + 1)];
      return rotated.filter(free);
    }
    case 'longest-idle': {
      const idle = (m: string): number => state.idleSince?.get(m) ?? Number.NEGATIVE_INFINITY;
      return unique
        .map((m, i) => ({ m, i }))
        .filter(({ m }) => free(m))
        .sort((a, b) => idle(a.m) - idle(b.m) || a.i - b.i)
        .map(({ m }) => m);
    }
  }
}
