import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LocalSecrets {
  readonly engineSecret: string;
  readonly nonceSecret: string;
  /** KUMO_SECRET_KEY (64 hex digits): seals trunk registration passwords at rest. */
  readonly secretKey: string;
}

/**
 * Secrets the all-in-one install needs but nobody should have to choose: generated once,
 * kept in `<dataDir>/secrets.json` (mode 0600) so nonces and the engine link survive restarts.
 */
export function loadOrCreateSecrets(dataDir: string): LocalSecrets {
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    const s = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalSecrets>;
    if (typeof s.engineSecret === 'string' && typeof s.nonceSecret === 'string') {
      if (typeof s.secretKey === 'string') return { engineSecret: s.engineSecret, nonceSecret: s.nonceSecret, secretKey: s.secretKey };
      // Written before the secret key existed: add one, keep the rest.
      const upgraded: LocalSecrets = { engineSecret: s.engineSecret, nonceSecret: s.nonceSecret, secretKey: randomBytes(32).toString('hex') };
      writeFileSync(file, JSON.stringify(upgraded, null, 2) + '\n', { mode: 0o600 });
      return upgraded;
    }
  }
  const s: LocalSecrets = {
    engineSecret: randomBytes(18).toString('base64url'),
    nonceSecret: randomBytes(32).toString('base64url'),
    secretKey: randomBytes(32).toString('hex'),
  };
  writeFileSync(file, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  return s;
}
