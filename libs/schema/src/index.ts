export { z } from 'zod';
export * from './parse.js';
export * from './primitives.js';
