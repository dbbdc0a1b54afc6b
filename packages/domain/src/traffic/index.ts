export * from './erlang.js';
export * from './report.js';
