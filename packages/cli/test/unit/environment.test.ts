/**
 * `detachEnvironment` (run-one.ts): every deployable swaps `process.env` for a plain copy after start-up, so
 * libraries that read the environment per message (drachtio-srf's parser, per header) read an object, not
 * the runtime's environment. The copy holds the same variables and is what child processes inherit.
 */
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { detachEnvironment } from '../../src/run-one.js';

const original = process.env;
afterEach(() => {
  process.env = original;
});

describe('detachEnvironment', () => {
  it('replaces process.env with a plain object holding the same variables', () => {
    const before = { ...process.env };
    const env = detachEnvironment();
    expect(process.env).toBe(env);
    expect(env).not.toBe(original);
    expect(Object.getPrototypeOf(env)).toBe(Object.prototype);
    expect(env).toEqual(before);
  });

  it('is the environment a child process inherits', () => {
    const env = detachEnvironment();
    env.KUMO_DETACHED_ENV_PROBE = 'seen';
    const out = execFileSync(process.execPath, ['-e', 'process.stdout.write(process.env.KUMO_DETACHED_ENV_PROBE ?? "missing")'], { encoding: 'utf8' });
    expect(out).toBe('seen');
  });
});
