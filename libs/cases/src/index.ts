export * from './cases.module.js';
export * from './cases.service.js';
export * from './entities.js';
