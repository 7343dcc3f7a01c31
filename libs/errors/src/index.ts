export * from './errors.js';
export * from './startup-error.js';
