export * from './access.js';
export * from './csv.js';
export * from './list-query.js';
export * from './records.module.js';
export * from './records.service.js';
export * from './schemas.js';
export * from './validation.js';
export * from './vocabularies.js';
