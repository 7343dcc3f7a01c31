import { Catch, HttpException, HttpStatus, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { isLostConnection, isTransientConflict } from '#custodia/db';
import { DomainError, type FieldProblem, type ProblemKind } from '#custodia/errors';
import { safeError } from '#custodia/logging';

const STATUS_OF: Record<ProblemKind, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  too_many_requests: 429,
  unavailable: 503,
};

/** An RFC 9457 problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldProblem[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  422: 'Unprocessable Content',
  423: 'Locked',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  // tus' own status (the checksum extension), which HTTP does not name.
  460: 'Checksum Mismatch',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Builds the problem body for a status; `type` points into the API documentation. */
export function problem(status: number, detail: string, errors?: FieldProblem[]): Problem {
  const title = TITLES[status] ?? HttpStatus[status] ?? 'Error';
  const slug = title.toLowerCase().replace(/[^a-z]+/g, '-');
  return { type: `https://custodia.invalid/problems/${slug}`, title, status, detail, ...(errors?.length ? { errors } : {}) };
}

/** `res.locals` key of a request's method as sent, when X-HTTP-Method-Override named another (tus-protocol). */
export const WIRE_METHOD = 'custodiaWireMethod';

/** Writes a problem+json answer, unless the response is already under way. */
export function sendProblem(res: Response, body: Problem, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(body.status).type('application/problem+json');
  const json = JSON.stringify(body);
  // A HEAD named by X-HTTP-Method-Override came as a POST, whose client reads the body the
  // length announces: Express sends a HEAD's answer without one.
  if (res.req.method === 'HEAD' && res.locals[WIRE_METHOD] === 'POST') {
    res.setHeader('Content-Length', Buffer.byteLength(json));
    res.end(json);
    return;
  }
  res.send(json);
}

/**
 * Every error leaves as problem+json: domain errors with their kind's status, NestJS HTTP
 * errors as they are, and anything unexpected as a bare 500 whose cause only the log sees.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    if (error instanceof DomainError) {
      const headers: Record<string, string> = {};
      if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
      if (error.kind === 'unauthorized') headers['WWW-Authenticate'] = 'Bearer';
      sendProblem(res, problem(STATUS_OF[error.kind], error.message, error.fields), headers);
      return;
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const response = error.getResponse();
      const payload = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
      const detail =
        typeof response === 'string' ? response : typeof payload['message'] === 'string' ? payload['message'] : error.message;
      const fields = Array.isArray(payload['errors']) ? (payload['errors'] as FieldProblem[]) : undefined;
      const headers: Record<string, string> = status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {};
      if (status >= 500) this.logger.error({ err: safeError(error), path: req.path }, 'request failed');
      sendProblem(res, problem(status, detail, fields), headers);
      return;
    }
    if (isTransientConflict(error)) {
      // PostgreSQL ended the request's transaction for a deadlock or a serialization failure
      // (and the retries the change allows met it again): nothing of it was stored.
      this.logger.warn({ err: safeError(error), method: req.method, path: req.path }, 'transaction ended by a concurrent one');
      sendProblem(res, problem(503, 'The request met another change of the same records at the same moment and was not completed; send it again'), { 'Retry-After': '1' });
      return;
    }
    if (isLostConnection(error)) {
      // The outcome of a change cut at its COMMIT is unknown to us too: the client sends it again
      // (a submission with its clientSubmissionId is not stored twice).
      this.logger.warn({ err: safeError(error), method: req.method, path: req.path }, 'database connection lost during the request');
      sendProblem(
        res,
        problem(503, 'The archive lost its database connection while the request ran; send it again (a submission repeated with its clientSubmissionId is not stored twice)'),
        { 'Retry-After': '1' },
      );
      return;
    }
    this.logger.error({ err: safeError(error), method: req.method, path: req.path }, 'unexpected error');
    sendProblem(res, problem(500, 'Something went wrong on our side; the request was not completed'));
  }
}
