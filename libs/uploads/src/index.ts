export { leftoverUploadFiles, type LeftoverUploadFile } from './leftover-files.js';
export * from './upload-store.js';
export * from './uploads.module.js';
export * from './uploads.service.js';
