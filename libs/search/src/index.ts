export * from './listing.js';
export * from './word-forms.js';
