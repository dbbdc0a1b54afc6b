import type { Logger } from 'pino';

export type Closer = () => Promise<void> | void;

/**
 * Collects close functions and runs them in reverse order, once, on SIGINT/SIGTERM
 * or when `shutdown()` is called. A second signal exits at once.
 */
export class Lifecycle {
  private readonly closers: { name: string; fn: Closer }[] = [];
  private closing: Promise<void> | undefined;

  constructor(
    private readonly log: Logger,
    private graceMs: number,
  ) {}

  /** A process that drains (the sip process) may need longer than the common grace; never shortens it. */
  extendGrace(ms: number): void {
    this.graceMs = Math.max(this.graceMs, ms);
  }

  onClose(name: string, fn: Closer): void {
    this.closers.push({ name, fn });
  }

  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  /** Idempotent: later calls return the same promise. */
  shutdown(reason: string): Promise<void> {
    this.closing ??= this.run(reason);
    return this.closing;
  }

  private async run(reason: string): Promise<void> {
    this.log.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      this.log.error({ graceMs: this.graceMs }, 'shutdown grace period exceeded; exiting');
      process.exit(1);
    }, this.graceMs);
    timer.unref();
    for (const { name, fn } of [...this.closers].reverse()) {
      try {
        await fn();
      } catch (err) {
        this.log.error({ err, name }, 'error while closing');
      }
    }
    clearTimeout(timer);
  }

  /** Installs signal handlers: first signal drains, second exits. */
  handleSignals(exit: (code: number) => void = (c) => process.exit(c)): void {
    let signalled = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      signalled += 1;
      if (signalled > 1) exit(130);
      void this.shutdown(sig).then(() => exit(0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
}
