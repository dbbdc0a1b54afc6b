/**
 * Permission classes (発信規制): what an extension may dial. Classes are ordered; each
 * one includes everything the previous ones allow. Emergency numbers are always allowed.
 * International (and premium-rate) numbers need `international`, which no extension has
 * unless it was given explicitly: the toll-fraud guard.
 */
import type { NumberKind } from './numbering.js';

export type PermissionClass = 'internal' | 'national' | 'mobile' | 'international';

export const PERMISSION_CLASSES: readonly PermissionClass[] = ['internal', 'national', 'mobile', 'international'];

/** What an extension gets when neither it nor its tenant says otherwise. */
export const DEFAULT_PERMISSION: PermissionClass = 'mobile';

/** The least class that may dial each kind of public number. */
export const REQUIRED_CLASS: Readonly<Record<NumberKind, PermissionClass>> = {
  'toll-free': 'national',
  service: 'national',
  fixed: 'national',
  ip: 'national',
  'shared-cost': 'national',
  mobile: 'mobile',
  m2m: 'mobile',
  international: 'international',
  premium: 'international',
};

export function permissionRank(c: PermissionClass): number {
  return PERMISSION_CLASSES.indexOf(c);
}

export function mayDial(cls: PermissionClass, kind: NumberKind): boolean {
  return permissionRank(cls) >= permissionRank(REQUIRED_CLASS[kind]);
}

export function isPermissionClass(s: string): s is PermissionClass {
  return (PERMISSION_CLASSES as readonly string[]).includes(s);
}
