import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ENGINE_NODE_ARGS, ENGINE_PROCESS_ENV } from '@kumo/engine';
import { freePort, reservePorts } from '@kumo/testkit';

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

  it('--demo: seeds the demo tenant, serves the API, keeps its credentials across restarts, stops cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-up-'));
    dirs.push(dir);
    const sipPort = await freePort();
    const env = {
      KUMO_DATA_DIR: dir,
      KUMO_API_LISTEN: `127.0.0.1:${await freePort()}`,
      KUMO_SIP_LISTEN: `udp/127.0.0.1:${sipPort},tcp/127.0.0.1:${sipPort}`,
      KUMO_ENGINE_CONTROL: `127.0.0.1:${await freePort()}`,
      KUMO_ENGINE_OPS_LISTEN: `127.0.0.1:${await freePort()}`,
      // Two sip workers (docs/scaling.md): worker i serves /readyz on this port + i.
      KUMO_SIP_WORKERS: '2',
      KUMO_SIP_OPS_LISTEN: `127.0.0.1:${reservePorts(2)}`,
      KUMO_BILLING_OPS_LISTEN: `127.0.0.1:${await freePort()}`,
    };
    const first = run(['up', '--demo'], env, /Kumo is up/);
    await first.seen;
    expect(first.output()).toMatch(/Tenant key +kumo_/);
    expect(first.output()).toMatch(/processes +engine, sip ×2, api, billing/);
    expect(first.output()).not.toMatch(/not ready after/);
    // the engine child as production starts it: its node flags before the script, its allocator in its environment
    // (ENGINE_NODE_ARGS, ENGINE_PROCESS_ENV: packages/engine/src/launch.ts), read from the running process
    const kids = execFileSync('pgrep', ['-P', String(first.child.pid)]).toString().trim().split('\n').map(Number);
    const argvOf = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    const enginePid = kids.find((p) => argvOf(p).at(-1) === 'engine');
    expect(enginePid).toBeDefined();
    expect(argvOf(enginePid as number)).toEqual([process.execPath, ...ENGINE_NODE_ARGS, MAIN, 'engine']);
    const engineEnv = readFileSync(`/proc/${String(enginePid)}/environ`, 'utf8').split('\0');
    for (const [k, v] of Object.entries(ENGINE_PROCESS_ENV)) expect(engineEnv, k).toContain(`${k}=${v}`);
    const credsFile = join(dir, 'demo-credentials.json');
    expect(statSync(credsFile).mode & 0o077).toBe(0);
    const creds = JSON.parse(readFileSync(credsFile, 'utf8')) as { tenantAdminKey: string; extensions: Record<string, string> };
    expect(creds.extensions['1001']).toBe('pass1001');
    const res = await fetch(`http://${env.KUMO_API_LISTEN}/v1/tenants/demo/extensions`, {
      headers: { authorization: `Bearer ${creds.tenantAdminKey}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: { number: string }[] };
    expect(body.items.map((e) => e.number)).toContain('1010');
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    // AOF files exist (Redis 7 keeps them in appendonlydir/).
    expect(readdirSync(join(dir, 'redis')).some((f) => f.startsWith('appendonly'))).toBe(true);
    expect(existsSync(join(dir, 'secrets.json'))).toBe(true);

    // Second run: same data (AOF), same keys, and the keys are not printed again.
    const second = run(['up', '--demo'], env, /Kumo is up/);
    await second.seen;
    expect(second.output()).not.toMatch(/Tenant key +kumo_/);
    const again = JSON.parse(readFileSync(credsFile, 'utf8')) as { tenantAdminKey: string };
    expect(again.tenantAdminKey).toBe(creds.tenantAdminKey);
    const res2 = await fetch(`http://${env.KUMO_API_LISTEN}/v1/tenants/demo`, {
      headers: { authorization: `Bearer ${creds.tenantAdminKey}` },
    });
    expect(res2.status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});

describe('kumo up supervises redis-server', () => {
  it('a SIGKILLed redis-server is restarted from its AOF, loudly; the processes reconnect and are ready again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-up-redis-'));
    dirs.push(dir);
    const sipOps = `127.0.0.1:${await freePort()}`;
    const env = {
      KUMO_DATA_DIR: dir,
      KUMO_API_LISTEN: `127.0.0.1:${await freePort()}`,
      KUMO_SIP_LISTEN: `udp/127.0.0.1:${await freePort()}`,
      KUMO_ENGINE_CONTROL: `127.0.0.1:${await freePort()}`,
      KUMO_ENGINE_OPS_LISTEN: `127.0.0.1:${await freePort()}`,
      KUMO_SIP_WORKERS: '1',
      KUMO_SIP_OPS_LISTEN: sipOps,
      KUMO_BILLING_OPS_LISTEN: `127.0.0.1:${await freePort()}`,
      KUMO_SIP_DRAIN_GRACE_MS: '2000',
    };
    const up = run(['up'], env, /Kumo is up/);
    await up.seen;
    const redisPid = (): number | undefined => {
      try {
        return Number(execFileSync('pgrep', ['-P', String(up.child.pid), '-x', 'redis-server']).toString().trim().split('\n')[0]) || undefined;
      } catch {
        return undefined;
      }
    };
    const before = redisPid();
    expect(before).toBeDefined();
    process.kill(before as number, 'SIGKILL');
    const t0 = Date.now();
    const ready = async (): Promise<boolean> => (await fetch(`http://${sipOps}/readyz`).catch(() => undefined))?.status === 200;
    while (!/redis-server restarted/.test(up.output()) || !(await ready())) {
      if (Date.now() - t0 > 20_000) throw new Error(`not back after a redis-server kill:\n${up.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    process.stdout.write(`kumo up: redis-server SIGKILLed → sip ready again after ${Date.now() - t0} ms\n`);
    expect(up.output()).toMatch(/REDIS-SERVER DIED/);
    expect(redisPid()).not.toBe(before);
    up.child.kill('SIGTERM');
    expect(await up.exited).toBe(0);
  });
});
