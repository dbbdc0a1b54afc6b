import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A self-signed certificate for the demo's SIP TLS listener: made once with openssl into `<dataDir>/tls/`
 * (key mode 0600) and reused after. Undefined when openssl is not installed. For a demo on loopback only: phones
 * must be told to accept it; production brings its own certificate (KUMO_SIP_TLS_CERT / KUMO_SIP_TLS_KEY).
 */
export function ensureDemoTls(dataDir: string, host = '127.0.0.1'): { cert: string; key: string } | undefined {
  const dir = join(dataDir, 'tls');
  const cert = join(dir, 'sip-cert.pem');
  const key = join(dir, 'sip-key.pem');
  if (existsSync(cert) && existsSync(key)) return { cert, key };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '825', '-subj', `/CN=${host}`, '-addext', `subjectAltName=IP:${host}`],
      { stdio: 'ignore', timeout: 30000 },
    );
    chmodSync(key, 0o600);
    return { cert, key };
  } catch {
    return undefined;
  }
}
