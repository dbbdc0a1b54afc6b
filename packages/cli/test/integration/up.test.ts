import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function run(args: string[], env: Record<string, string>, untilOutput?: RegExp) {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, KUMO_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const seen = untilOutput
    ? new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${String(untilOutput)}; got:\n${out}`)), 30000);
        const check = (): void => {
          if (untilOutput.test(out)) {
            clearTimeout(t);
            resolve();
          }
        };
        child.stdout.on('data', check);
        child.stderr.on('data', check);
      })
    : Promise.resolve();
  return { child, exited, seen, output: () => out };
}

describe('kumo up', () => {
  it('reports every configuration problem at once and exits 2', async () => {
    const r = run(['up'], { KUMO_LOG_LEVEL: 'loud', KUMO_REDIS_PORT: '70000', KUMO_REDIS_PREFIX: 'has space' });
    expect(await r.exited).toBe(2);
    const out = r.output();
    expect(out).toContain('KUMO_LOG_LEVEL');
    expect(out).toContain('KUMO_REDIS_PORT');
    expect(out).toContain('KUMO_REDIS_PREFIX');
  });

  it('exits non-zero with the reason when redis-server cannot start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-up-'));
    dirs.push(dir);
    const r = run(['up'], { KUMO_DATA_DIR: dir, KUMO_REDIS_SERVER_BIN: join(dir, 'no-such-redis') });
    expect(await r.exited).toBe(1);
    expect(r.output()).toMatch(/cannot start redis-server/);
  });

  it('starts a local redis-server with AOF under the data dir and stops cleanly on SIGINT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-up-'));
    dirs.push(dir);
    const r = run(['up'], { KUMO_DATA_DIR: dir, KUMO_API_LISTEN: '127.0.0.1:0' }, /Kumo is up/);
    await r.seen;
    expect(existsSync(join(dir, 'secrets.json'))).toBe(true);
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
    // AOF files exist (Redis 7 keeps them in appendonlydir/).
    const redisFiles = readdirSync(join(dir, 'redis'));
    expect(redisFiles.some((f) => f.startsWith('appendonly'))).toBe(true);
  });
});
