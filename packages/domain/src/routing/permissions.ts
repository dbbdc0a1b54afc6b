/**
 * Permission classes (発信規制): what an extension may dial. Classes (defined with the
 * provisioning model) are ordered; each one includes everything the previous ones allow.
 * Emergency numbers are always allowed. International (and premium-rate) numbers need
 * `international`, which an extension only has when given explicitly: the toll-fraud guard.
 */
import { PERMISSION_CLASSES, type PermissionClass } from '../provisioning/types.js';
import type { PublicNumberKind } from './numbering.js';

/** An extension without a class (never true of a provisioned record): the API's default. */
export const DEFAULT_PERMISSION_CLASS: PermissionClass = 'national';

/** The least class that may dial each kind of public number. */
export const REQUIRED_CLASS: Readonly<Record<PublicNumberKind, PermissionClass>> = {
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

export function mayDial(cls: PermissionClass, kind: PublicNumberKind): boolean {
  return permissionRank(cls) >= permissionRank(REQUIRED_CLASS[kind]);
}
