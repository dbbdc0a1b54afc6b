import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { KumoError } from '@kumo/runtime';

export interface LocalRedisOptions {
  readonly port: number;
  /** Data directory (AOF and RDB files live here). */
  readonly dir: string;
  readonly bin?: string;
  readonly bind?: string;
  /** Extra `--key value` settings, e.g. `{ appendonly: 'yes', appendfsync: 'everysec' }`. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly startTimeoutMs?: number;
}

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Stops the server (SIGKILL by default, for crash tests) and starts it again on the same port and dir. */
  restart(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM: Redis flushes its AOF and exits cleanly. Idempotent. */
  stop(): Promise<void>;
}

function waitForPong(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const sock = createConnection({ host, port });
      const retry = (): void => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`no answer on ${host}:${port}`));
        else setTimeout(attempt, 50);
      };
      sock.once('connect', () => sock.write('PING\r\n'));
      sock.once('data', (d) => {
        if (d.toString().startsWith('+PONG')) {
          sock.destroy();
          resolve();
        } else retry();
      });
      sock.once('error', retry);
    };
    attempt();
  });
}

/**
 * Runs a `redis-server` child on loopback: used by `kumo up` (AOF on, data under
 * `.kumo/redis`) and by the test kit. Rejects with `KUMO_ERR_REDIS_START` and the
 * server's own words when it cannot start.
 */
export async function startLocalRedis(o: LocalRedisOptions): Promise<LocalRedis> {
  const bind = o.bind ?? '127.0.0.1';
  const args = ['--port', String(o.port), '--bind', bind, '--dir', o.dir, '--protected-mode', 'yes', '--daemonize', 'no'];
  for (const [k, v] of Object.entries(o.settings ?? {})) args.push(`--${k}`, v);
  let child!: ChildProcess;

  const launch = async (): Promise<void> => {
    const c = spawn(o.bin ?? 'redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child = c;
    let output = '';
    const collect = (d: Buffer): void => {
      if (output.length < 8192) output += d.toString();
    };
    c.stdout?.on('data', collect);
    c.stderr?.on('data', collect);
    const failed = new Promise<never>((_, reject) => {
      c.once('error', (err) =>
        reject(new KumoError('KUMO_ERR_REDIS_START', `cannot run ${o.bin ?? 'redis-server'}: ${err.message}`)),
      );
      c.once('exit', (code, signal) =>
        reject(
          new KumoError('KUMO_ERR_REDIS_START', `redis-server exited (${code ?? signal}) while starting`, {
            output: output.split('\n').slice(-8).join('\n'),
          }),
        ),
      );
    });
    failed.catch(() => undefined);
    await Promise.race([waitForPong(bind, o.port, o.startTimeoutMs ?? 15000), failed]);
    // Past start-up, stop buffering the server's chatter.
    c.stdout?.removeListener('data', collect);
    c.stderr?.removeListener('data', collect);
    c.stdout?.resume();
    c.stderr?.resume();
  };

  const kill = (signal: NodeJS.Signals): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });

  await launch();
  return {
    url: `redis://${bind.includes(':') ? `[${bind}]` : bind}:${o.port}`,
    port: o.port,
    get process() {
      return child;
    },
    async restart(signal: NodeJS.Signals = 'SIGKILL') {
      await kill(signal);
      await launch();
    },
    stop: () => kill('SIGTERM'),
  };
}
