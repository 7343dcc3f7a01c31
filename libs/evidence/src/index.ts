export * from './access.js';
export * from './evidence.module.js';
export * from './evidence.service.js';
export * from './evidence-tags.service.js';
export * from './flags.js';
export * from './list-query.js';
export * from './submission.js';
export * from './views.js';
