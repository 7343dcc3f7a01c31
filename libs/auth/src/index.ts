export * from './access.js';
export * from './auth.module.js';
export * from './auth.service.js';
export * from './entities.js';
export * from './login-throttle.js';
export * from './roles.js';
export * from './secrets.js';
export * from './users.service.js';
