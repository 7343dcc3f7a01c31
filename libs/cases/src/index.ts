export * from './cases.module.js';
export * from './cases.service.js';
export * from './entities.js';
export * from './cases.schema.js';
