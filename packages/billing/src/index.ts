export { runBilling } from './run.js';
export { BillingWorker, type WorkerOptions } from './worker.js';
export { parseCdrPayload } from './parse.js';
export { TollMeter, type MeterReading, type TollMeterOptions } from './toll-meter.js';
