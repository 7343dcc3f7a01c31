import { parseWith } from '#custodia/schema';
import { SubmissionMetadata } from './evidence.schema.js';

/**
 * Reads a submission's metadata (the `metadata` part's JSON, already checked as strict input at
 * the HTTP edge; undefined when the part was left out). Malformed or mistyped fields are a 400
 * and well-formed but impossible ones (coordinates out of range, a capture time in the future)
 * a 422, each naming `metadata.<field>`.
 */
export function readSubmissionMetadata(json: unknown): SubmissionMetadata {
  return parseWith(SubmissionMetadata, json === undefined ? {} : json, 'The metadata', 'metadata');
}
