export * from './listing.js';
export * from './word-forms.js';
export * from './query-fields.js';
