import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { freePort } from './ports.js';

export interface RedisHandle {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly process: ChildProcess;
  /** SIGKILL and restart on the same port and data dir (for durability tests). */
  restart(opts?: { signal?: NodeJS.Signals }): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisOptions {
  /** Extra `--key value` pairs, e.g. { appendonly: 'yes', appendfsync: 'always' }. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly port?: number;
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tryOnce = (): void => {
      const sock = createConnection({ host: '127.0.0.1', port });
      sock.once('connect', () => {
        sock.write('PING\r\n');
      });
      sock.once('data', (d) => {
        sock.destroy();
        if (d.toString().startsWith('+PONG')) resolve();
        else retry();
      });
      sock.once('error', () => {
        sock.destroy();
        retry();
      });
    };
    const retry = (): void => {
      if (Date.now() > deadline) reject(new Error(`redis-server did not answer on port ${port}`));
      else setTimeout(tryOnce, 50);
    };
    tryOnce();
  });
}

/**
 * Starts a throw-away `redis-server` on a free loopback port with its data in a temp dir.
 * Requires the Debian `redis-server` binary (installed by the test command).
 */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisHandle> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'kumo-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--protected-mode', 'yes'];
  for (const [k, v] of Object.entries(opts.settings ?? {})) args.push(`--${k}`, v);
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${stderr}`))),
    );
    child.once('error', () => undefined);
    await Promise.race([waitForPort(port, 10000), exited]);
    exited.catch(() => undefined);
  };
  const kill = (signal: NodeJS.Signals): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get process() {
      return child;
    },
    async restart(o = {}) {
      await kill(o.signal ?? 'SIGKILL');
      await launch();
    },
    async stop() {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
