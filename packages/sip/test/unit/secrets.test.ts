import { describe, expect, it } from 'vitest';
import { readSipConfig } from '@kumo/sip';

describe('sip process secrets (docs/security.md)', () => {
  const base = { KUMO_REDIS_URL: 'redis://127.0.0.1:6379' };
  it('accepts the default engine secret on loopback (the all-in-one)', () => {
    expect(() => readSipConfig(base)).not.toThrow();
  });
  it('refuses default or placeholder secrets once the engine link or ops listener is off loopback', () => {
    expect(() => readSipConfig({ ...base, KUMO_ENGINE_CONTROL: '10.0.0.5:9022' })).toThrow(/KUMO_ENGINE_SECRET: is a known default or placeholder/);
    expect(() =>
      readSipConfig({ ...base, KUMO_SIP_OPS_LISTEN: '0.0.0.0:9092', KUMO_ENGINE_SECRET: 'k8T0pQ2r9ZbW1xYv', KUMO_NONCE_SECRET: 'change-me-too-at-least-32-characters' }),
    ).toThrow(/KUMO_NONCE_SECRET: is a known default/);
  });
});
