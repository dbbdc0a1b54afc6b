export * from './article33.js';
