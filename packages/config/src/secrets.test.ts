import { describe, expect, it } from 'vitest';
import { isLoopbackHost, isPlaceholderSecret, placeholderSecretProblems } from './secrets.js';

describe('placeholder secrets (docs/security.md)', () => {
  it.each(['cymru', 'change-me', 'CHANGE-ME', 'change-me-too-at-least-32-characters', 'changeme123', 'secret', 'replace-me', 'xxxxxxxx', 'example-secret'])('%s is a placeholder', (s) => {
    expect(isPlaceholderSecret(s)).toBe(true);
  });
  it.each(['k8T0pQ2r9ZbW1xYv3uLs7A==', 's3cret-9f2c1e7d'])('%s is not', (s) => {
    expect(isPlaceholderSecret(s)).toBe(false);
  });

  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.0.2.10', false],
  ] as const)('loopback(%s) = %s', (h, loop) => {
    expect(isLoopbackHost(h)).toBe(loop);
  });

  it('refuses placeholders only when something is off loopback, naming the variable, never the value', () => {
    expect(placeholderSecretProblems({ KUMO_ENGINE_SECRET: 'cymru' }, ['127.0.0.1', '::1'])).toEqual([]);
    const p = placeholderSecretProblems({ KUMO_ENGINE_SECRET: 'cymru', KUMO_NONCE_SECRET: 'a-good-random-secret-0192', OTHER: undefined }, ['127.0.0.1', '0.0.0.0']);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^KUMO_ENGINE_SECRET: .*0\.0\.0\.0/);
    expect(p[0]).not.toContain('cymru');
  });
});
