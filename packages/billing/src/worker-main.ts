/**
 * A minimal composition root used by the billing tests and benchmark to run a real worker
 * process from dist/ (`node packages/billing/dist/worker-main.js`, config from KUMO_* env).
 * Production uses `kumo billing`.
 */
import { commonSpec, readConfig } from '@kumo/config';
import { createLogger, createRegistry, Lifecycle } from '@kumo/runtime';
import { runBilling } from './run.js';

const { common } = readConfig({ common: commonSpec }, process.env);
const log = createLogger({ name: 'billing', level: common.logLevel });
const lifecycle = new Lifecycle(log, common.shutdownGraceMs);
lifecycle.handleSignals((code) => process.exit(code));
runBilling({ env: process.env, log, lifecycle, registry: createRegistry('billing') }).then(
  () => process.send?.('ready'),
  (err: unknown) => {
    log.fatal({ err }, 'billing worker failed to start');
    void lifecycle.shutdown('start failure').finally(() => process.exit(1));
  },
);
