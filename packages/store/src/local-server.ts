import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
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
  /** Called when a start had to cut a torn tail off the AOF first (see `repairAofTail`). */
  readonly onAofRepair?: (repair: AofRepair) => void;
}

/** What `redis-check-aof --fix` cut off the AOF before a start. */
export interface AofRepair {
  readonly file: string;
  readonly fromBytes: number;
  readonly toBytes: number;
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
 * Cuts a torn tail off the AOF before redis-server loads it, at the start of the transaction it tore.
 *
 * A SIGKILL (or power loss) can tear Redis' write of a `MULTI … EXEC` block — every Lua script's effects are
 * one such block, e.g. a billing charge batch. With `aof-load-truncated yes` (the default) Redis 7.0 then
 * loads the file, drops the torn block, but truncates the file *inside* it, after its last whole command:
 * the AOF keeps a `MULTI` without `EXEC`, new writes are appended after it, and at the next restart the torn
 * half of the script is applied together with the next transaction (half a charge batch booked: calls
 * recorded, some counters not). `redis-check-aof --fix` instead truncates before the `MULTI`, which is right:
 * the client of a torn write never got an answer. It is the same binary as redis-server, chosen by `argv[0]`.
 * Returns what was cut, or null when the AOF was whole (or absent). Rejects when the AOF is damaged in a way
 * a tail cut cannot fix (Redis would refuse it too).
 */
export async function repairAofTail(o: { bin?: string | undefined; dir: string; settings?: Readonly<Record<string, string>> | undefined }): Promise<AofRepair | null> {
  const s = o.settings ?? {};
  if (s['appendonly'] !== 'yes') return null;
  const manifest = join(o.dir, s['appenddirname'] ?? 'appendonlydir', `${s['appendfilename'] ?? 'appendonly.aof'}.manifest`);
  if (!existsSync(manifest)) return null;
  const bin = o.bin ?? 'redis-server';
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const c = spawn(bin, ['--fix', manifest], { argv0: 'redis-check-aof', cwd: o.dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const collect = (d: Buffer): void => {
      if (out.length < 65536) out += d.toString();
    };
    c.stdout.on('data', collect);
    c.stderr.on('data', collect);
    c.once('error', (err) => reject(new KumoError('KUMO_ERR_REDIS_START', `cannot run ${bin} as redis-check-aof: ${err.message}`)));
    c.once('close', (exitCode) => resolve({ code: exitCode, output: out }));
    // It asks before it truncates, and reads the answer only then: a whole AOF exits without reading, so a
    // write to the closed pipe (EPIPE) is expected and harmless.
    c.stdin.on('error', () => undefined);
    c.stdin.end('y\n');
  });
  const tail = output.split('\n').slice(-8).join('\n');
  if (code !== 0) throw new KumoError('KUMO_ERR_REDIS_START', `the AOF under ${o.dir} is damaged beyond a torn tail; redis-check-aof could not fix it`, { output: tail });
  const m = /shrink the AOF (\S+) from (\d+) bytes, with \d+ bytes, to (\d+) bytes/.exec(output);
  return m ? { file: m[1] as string, fromBytes: Number(m[2]), toBytes: Number(m[3]) } : null;
}

/**
 * Runs a `redis-server` child on loopback: used by `kumo up` (AOF on, data under
 * `.kumo/redis`) and by the test kit. Every start, restarts included, first repairs a torn AOF tail
 * (`repairAofTail`), and Redis runs with `aof-load-truncated no`, so a tail that was not repaired stops it
 * instead of being half-applied. Rejects with `KUMO_ERR_REDIS_START` and the
 * server's own words when it cannot start.
 */
export async function startLocalRedis(o: LocalRedisOptions): Promise<LocalRedis> {
  const bind = o.bind ?? '127.0.0.1';
  const args = ['--port', String(o.port), '--bind', bind, '--dir', o.dir, '--protected-mode', 'yes', '--daemonize', 'no'];
  const settings: Record<string, string> = { ...(o.settings?.['appendonly'] === 'yes' ? { 'aof-load-truncated': 'no' } : {}), ...o.settings };
  for (const [k, v] of Object.entries(settings)) args.push(`--${k}`, v);
  let child!: ChildProcess;

  const launch = async (): Promise<void> => {
    const repair = await repairAofTail({ bin: o.bin, dir: o.dir, settings: o.settings });
    if (repair) o.onAofRepair?.(repair);
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
