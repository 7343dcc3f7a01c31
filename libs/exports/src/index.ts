export * from './export-row.js';
export * from './exports.module.js';
export * from './exports.service.js';
export { PackageBuilder, PackageIntegrityError } from './package-builder.js';
export { roundPositions } from './redact.js';
export type { ExportSelection } from './selection.js';
export * from './exports.schema.js';
