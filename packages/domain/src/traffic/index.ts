export * from './erlang.js';
export * from './report.js';
export * from './ports.js';
