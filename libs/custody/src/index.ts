export * from './custody-log.js';
export * from './custody.module.js';
export * from './replay.js';
export * from './sequencer.js';
export * from './signing-keys.js';
export * from './tree-heads.js';
export * from './log.schema.js';
