export { runBilling } from './run.js';
export { BillingWorker, type WorkerOptions } from './worker.js';
export { parseCdrPayload } from './parse.js';
