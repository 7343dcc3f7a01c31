export * from './bulk-upload.js';
export { fileOnDisk, TUS_FILE_OPTIONS } from './tus-node.js';
