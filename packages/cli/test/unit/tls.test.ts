import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDemoTls } from '../../src/tls.js';

describe('demo TLS certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is made once (self-signed, for 127.0.0.1, key 0600) and reused', () => {
    const a = ensureDemoTls(dir);
    expect(a).toBeDefined();
    const x = new X509Certificate(readFileSync(a!.cert));
    expect(x.subjectAltName).toBe('IP Address:127.0.0.1');
    expect(x.checkIssued(x)).toBe(true);
    expect(statSync(a!.key).mode & 0o777).toBe(0o600);
    const mtime = statSync(a!.cert).mtimeMs;
    expect(ensureDemoTls(dir)).toEqual(a);
    expect(statSync(a!.cert).mtimeMs).toBe(mtime);
  });
});
