/**
 * Toll-fraud guard (docs/security.md): international and premium-rate calls are counted per
 * tenant and hour, and the money they cost (as rated by billing) is summed per tenant and hour;
 * past either limit the class is blocked for the tenant (an alert fires) until an operator lifts it.
 * Counting covers every trunk leg of a plan, so a forward of an inbound call to an international
 * number counts too.
 */
import { classifyDestination, type CalleeFacts, type Destination } from '../rating/classify.js';
import type { RoutePlan } from '../routing/index.js';

export type TollClass = 'international' | 'premium';
export const TOLL_CLASSES: readonly TollClass[] = ['international', 'premium'];

/** Premium-rate and shared-cost services: 0990 (information), 0180 (televoting/telephone services), 0570 (navi-dial). */
const PREMIUM = /^0(990|180|570)/;

export function tollClassOf(d: Destination): TollClass | undefined {
  if (d.cls === 'international') return 'international';
  if (d.cls === 'other' && PREMIUM.test(d.national)) return 'premium';
  return undefined;
}

/** The toll classes a plan would reach over trunks (non-emergency legs), most expensive first. */
export function tollClassesOfPlan(plan: Pick<RoutePlan, 'steps'>): TollClass[] {
  const found = new Set<TollClass>();
  for (const s of plan.steps) {
    if (s.kind !== 'trunk' || s.emergency) continue;
    const e164 = s.number.startsWith('+') ? s.number : null;
    const c = tollClassOf(classifyDestination({ direction: 'outbound', calleeDialled: s.number, calleeE164: e164 }));
    if (c !== undefined) found.add(c);
  }
  return TOLL_CLASSES.filter((c) => found.has(c));
}

/** The toll class of a rated call (billing's view, the same rule as the call path's): international, premium or none. */
export function tollClassOfCall(c: CalleeFacts): TollClass | undefined {
  return tollClassOf(classifyDestination(c));
}

export interface TollLimits {
  /** Calls per tenant and clock hour; 0 = the class is always blocked. */
  readonly internationalPerHour: number;
  readonly premiumPerHour: number;
  /**
   * Money the tenant's international and premium-rate calls may cost per clock hour, both classes together, in
   * minor units (1/100 JPY) as billing rates them; once reached, new calls of those classes are refused.
   */
  readonly spendPerHour: number;
}

/** 30 international and 10 premium-rate calls, and 5,000 JPY of them, per tenant and hour. */
export const DEFAULT_TOLL_LIMITS: TollLimits = { internationalPerHour: 30, premiumPerHour: 10, spendPerHour: 500_000 };

export function limitOf(l: TollLimits, c: TollClass): number {
  return c === 'international' ? l.internationalPerHour : l.premiumPerHour;
}
