/**
 * Known default and placeholder secrets (docs/security.md, "Secrets"): a process refuses to start
 * with one of them when anything it serves or talks to is off loopback.
 */

/** Defaults shipped by Kumo or drachtio, and the placeholders of `infra/` examples. */
const KNOWN = new Set(['cymru', 'change-me', 'changeme', 'change-me-too-at-least-32-characters', 'secret', 'password', 'default', 'kumo', 'drachtio', 'admin', 'test']);

export function isPlaceholderSecret(v: string): boolean {
  const s = v.trim().toLowerCase();
  return KNOWN.has(s) || /^change[-_ ]?me/.test(s) || /placeholder|replace[-_ ]?me|example|^x+$/.test(s);
}

/** Loopback hosts: 127.0.0.0/8, ::1, localhost. Everything else (including 0.0.0.0 and ::) is exposed. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/**
 * Problems for secrets that are placeholders while some listener or peer is off loopback.
 * `secrets`: env var name → value (undefined = not set); `hosts`: every listen or peer host.
 */
export function placeholderSecretProblems(secrets: Readonly<Record<string, string | undefined>>, hosts: readonly string[]): string[] {
  const exposed = hosts.filter((h) => !isLoopbackHost(h));
  if (exposed.length === 0) return [];
  return Object.entries(secrets)
    .filter(([, v]) => v !== undefined && isPlaceholderSecret(v))
    .map(
      ([env]) =>
        `${env}: is a known default or placeholder, refused because ${exposed.join(', ')} is not loopback; set a random secret (e.g. \`openssl rand -base64 32\`, see docs/security.md)`,
    );
}
