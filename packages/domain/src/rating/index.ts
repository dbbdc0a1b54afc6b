export * from './month.js';
export * from './tariff.js';
export * from './classify.js';
export * from './rate.js';
export * from './report.js';
