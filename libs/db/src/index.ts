export * from './data-source.js';
export * from './embedded-postgres.js';
export * from './unique-violation.js';
export * from './open-database.js';
export * from './database.module.js';
export * from './prepared.js';
export * from './application-role.js';
export * from './transient-conflict.js';
