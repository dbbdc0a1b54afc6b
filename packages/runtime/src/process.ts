import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Lifecycle } from './shutdown.js';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * What the `kumo` CLI hands to each deployable's entry point (`runApi`, `runEngine`,
 * `runSip`, `runBilling`). The entry point reads and validates its config from `env`
 * (reporting every problem at once), starts, registers its closers on `lifecycle`, and
 * resolves once it is serving. It never reads `process.env` itself.
 */
export interface ProcessContext {
  readonly env: Env;
  readonly log: Logger;
  readonly lifecycle: Lifecycle;
  readonly registry: Registry;
}

/** Resolves once serving; may resolve with what it bound (addresses), which the CLI ignores. */
export type ProcessEntry = (ctx: ProcessContext) => Promise<unknown>;
