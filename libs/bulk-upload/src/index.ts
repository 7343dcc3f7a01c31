export * from './bulk-upload.js';
