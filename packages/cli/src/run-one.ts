import { commonSpec, ConfigError, readConfig } from '@kumo/config';
import { createLogger, createRegistry, Lifecycle, type Env, type ProcessEntry } from '@kumo/runtime';

/**
 * Replaces `process.env` with a plain copy of itself and returns it. Kumo reads its configuration once at
 * start-up, but libraries on the hot path read the environment per message — drachtio-srf's SIP parser
 * looks up `DRACHTIO_PRESERVE_HEADER_NAMES` for every header it names — and each read of the real
 * `process.env` is a call into the runtime's environment (it halved the parse rate of a typical INVITE).
 * A plain object answers the same reads; child processes still get it as their environment. Nothing in
 * Kumo changes the environment after start-up (a change would no longer reach native code, e.g. `TZ`).
 */
export function detachEnvironment(): Env {
  const copy: Env = { ...process.env };
  process.env = copy;
  return copy;
}

/**
 * Runs one deployable in this process (`kumo api`, `kumo engine`, …): the composition root
 * for real deployments, and what `kumo up` runs in each child.
 */
export async function runOne(name: string, entry: ProcessEntry, env: Env): Promise<number> {
  if (env === process.env) env = detachEnvironment();
  let common;
  try {
    ({ common } = readConfig({ common: commonSpec }, env));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kumo ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger({ name, level: common.logLevel });
  const lifecycle = new Lifecycle(log, common.shutdownGraceMs);
  const registry = createRegistry(name);
  process.on('unhandledRejection', (reason) => {
    log.fatal({ err: reason }, 'unhandled promise rejection');
    void lifecycle.shutdown('unhandledRejection').finally(() => process.exit(70));
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    void lifecycle.shutdown('uncaughtException').finally(() => process.exit(70));
  });
  try {
    await entry({ env, log, lifecycle, registry });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kumo ${name}: ${err.message}\n`);
      await lifecycle.shutdown('config error');
      return 2;
    }
    log.fatal({ err }, 'failed to start');
    await lifecycle.shutdown('start failure');
    return 1;
  }
  log.info('started');
  return new Promise<number>((resolve) => {
    lifecycle.handleSignals((code) => resolve(code));
  });
}
