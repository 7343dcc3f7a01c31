/** One field that failed validation, named by its path in the request (`location.lat`). */
export interface FieldProblem {
  field: string;
  message: string;
}

export type ProblemKind =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unprocessable'
  | 'too_many_requests'
  | 'unavailable';

/**
 * A failure the caller can act on, raised by domain code without knowing about HTTP; the API
 * maps it to an RFC 9457 problem with the status of its kind.
 */
export class DomainError extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
    readonly fields: FieldProblem[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (what: string): DomainError => new DomainError('not_found', `${what} was not found`);
export const forbidden = (message: string): DomainError => new DomainError('forbidden', message);
export const conflict = (message: string): DomainError => new DomainError('conflict', message);
export const unprocessable = (message: string, fields: FieldProblem[] = []): DomainError =>
  new DomainError('unprocessable', message, fields);
export const badRequest = (message: string, fields: FieldProblem[] = []): DomainError =>
  new DomainError('bad_request', message, fields);
export const tooManyRequests = (message: string, retryAfterSeconds: number): DomainError =>
  new DomainError('too_many_requests', message, [], retryAfterSeconds);

/** A 400 naming each query parameter the operation does not take (api.md: refused, not ignored). */
export const unknownParameters = (message: string, names: readonly string[]): DomainError =>
  badRequest(message, names.map((field) => ({ field, message: 'is not a known parameter' })));
