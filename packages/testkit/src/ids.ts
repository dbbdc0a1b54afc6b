import { randomBytes } from 'node:crypto';

/** A short unique Redis key prefix so test files sharing one redis-server never see each other's keys. */
export function uniquePrefix(name = 't'): string {
  return `${name}${randomBytes(4).toString('hex')}`;
}
