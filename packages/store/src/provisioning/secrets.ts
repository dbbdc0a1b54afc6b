import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KumoError } from '@kumo/runtime';

/**
 * Secrets Kumo must keep in clear for itself (a trunk's registration password: the sip process answers
 * the carrier's digest challenge with it) are stored encrypted with AES-256-GCM under a key from config
 * (`KUMO_SECRET_KEY`): `enc:v1:<iv>:<tag>:<ciphertext>` (base64url). Redis dumps, replicas and backups
 * then hold no usable password; the key lives only in the processes' configuration.
 */
export interface SecretBox {
  seal(plain: string): string;
  open(stored: string): string;
}

const PREFIX = 'enc:v1:';

export function isSealed(v: string): boolean {
  return v.startsWith(PREFIX);
}

/** A box over a 32-byte key. */
export function secretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new KumoError('KUMO_ERR_CONFIG', 'the secret key must be 32 bytes');
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return `${PREFIX}${iv.toString('base64url')}:${c.getAuthTag().toString('base64url')}:${ct.toString('base64url')}`;
    },
    open(stored) {
      if (!isSealed(stored)) return stored;
      const [iv = '', tag = '', ct = ''] = stored.slice(PREFIX.length).split(':');
      try {
        const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        d.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
      } catch {
        throw new KumoError('KUMO_ERR_SECRET', 'a stored secret cannot be decrypted with the configured KUMO_SECRET_KEY');
      }
    },
  };
}
