import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '@kumo/runtime';

export interface ChildSpec {
  /** Short name, e.g. `engine`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** How long `stop()` waits for this child after SIGTERM before SIGKILL (default: stop()'s grace). */
  readonly stopGraceMs?: number;
}

interface Running {
  spec: ChildSpec;
  child: ChildProcess | undefined;
  startedAt: number;
  backoffMs: number;
  restartTimer: NodeJS.Timeout | undefined;
  exited: Promise<void>;
}

/**
 * Runs child processes, restarts a crashed one with exponential backoff (reset after a
 * minute of good health), and stops them all in reverse start order on `stop()`.
 * Children get their own process group so a terminal's Ctrl-C reaches only the
 * supervisor, which then stops them in order (Redis last).
 */
export class Supervisor {
  private readonly running: Running[] = [];
  private stopping = false;

  constructor(
    private readonly log: Logger,
    private readonly opts: { minBackoffMs: number; maxBackoffMs: number; healthyAfterMs: number },
  ) {}

  start(spec: ChildSpec): void {
    const r: Running = {
      spec,
      child: undefined,
      startedAt: 0,
      backoffMs: this.opts.minBackoffMs,
      restartTimer: undefined,
      exited: Promise.resolve(),
    };
    this.running.push(r);
    this.launch(r);
  }

  private launch(r: Running): void {
    r.startedAt = Date.now();
    const child = spawn(r.spec.command, [...r.spec.args], {
      env: r.spec.env,
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    r.child = child;
    r.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        resolve();
        if (this.stopping) return;
        const uptime = Date.now() - r.startedAt;
        if (uptime > this.opts.healthyAfterMs) r.backoffMs = this.opts.minBackoffMs;
        this.log.error({ child: r.spec.name, code, signal, restartInMs: r.backoffMs }, 'process exited; restarting');
        r.restartTimer = setTimeout(() => {
          r.restartTimer = undefined;
          if (!this.stopping) this.launch(r);
        }, r.backoffMs);
        r.backoffMs = Math.min(r.backoffMs * 2, this.opts.maxBackoffMs);
      });
      child.once('error', (err) => {
        this.log.error({ child: r.spec.name, err }, 'could not start process');
      });
    });
    this.log.debug({ child: r.spec.name, pid: child.pid }, 'process started');
  }

  /** Stops every child, newest first: SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const r of [...this.running].reverse()) {
      if (r.restartTimer) clearTimeout(r.restartTimer);
      const c = r.child;
      if (!c || c.exitCode !== null || c.signalCode !== null) continue;
      c.kill('SIGTERM');
      const killTimer = setTimeout(() => {
        this.log.warn({ child: r.spec.name }, 'did not stop in time; killing');
        c.kill('SIGKILL');
      }, Math.max(graceMs, r.spec.stopGraceMs ?? 0));
      await r.exited;
      clearTimeout(killTimer);
    }
  }

  pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.running.map((r) => [r.spec.name, r.child?.pid]));
  }
}
