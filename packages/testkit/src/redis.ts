import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalRedis, type LocalRedis } from '@kumo/store';
import { freePort } from './ports.js';

export interface RedisHandle {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly process: LocalRedis['process'];
  /** Stops (SIGKILL by default) and restarts on the same port and data dir, for durability tests. */
  restart(opts?: { signal?: NodeJS.Signals }): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisOptions {
  /** Extra `--key value` pairs, e.g. { appendonly: 'yes', appendfsync: 'always' }. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly port?: number;
}

/** A throw-away `redis-server` on a free loopback port with its data in a temp dir. */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-redis-'));
  const port = opts.port ?? (await freePort());
  const server = await startLocalRedis({ port, dir, settings: { save: '', ...opts.settings } });
  return {
    url: server.url,
    port,
    dir,
    get process() {
      return server.process;
    },
    restart: (o = {}) => server.restart(o.signal ?? 'SIGKILL'),
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
