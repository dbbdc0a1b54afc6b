import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Keeps the registrar storm benchmark runnable: a 100-extension storm against the built dist/ (CI builds first).
describe('registrar storm benchmark (smoke)', () => {
  it('registers 100 extensions with 0 failures and prints the figures', async () => {
    const script = fileURLToPath(new URL('./storm.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, '--extensions', '100', '--rate', '200', '--limit', '50', '--timeout', '30'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code, out).toBe(0);
    expect(out).toMatch(/kumo: +100 registered, 0 failed/);
    expect(out).toMatch(/100 live bindings/);
    expect(out).toMatch(/ratio kumo\/baseline: \d/);
    expect(out).toMatch(/CPU \(storm\): engine [\d.]+ CPU-s \/ 1,000 REGISTERs/);
    expect(out).toMatch(/load average at start [\d.]+/);
  }, 60_000);
});
