import express, { type NextFunction, type Request, type Response } from 'express';
import { problem, sendProblem } from './problem.filter.js';

/**
 * JSON bodies only, strictly parsed and bounded in size. Routes that take other bodies
 * (multipart uploads, tus) are named by `acceptsOtherBodies` and parse their own.
 */
export function jsonBodies(limitBytes: number, acceptsOtherBodies: (req: Request) => boolean) {
  const parse = express.json({ limit: limitBytes, strict: true, type: () => true });
  return (req: Request, res: Response, next: NextFunction): void => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody || acceptsOtherBodies(req)) return next();
    if (!req.is('application/json') && !req.is('application/*+json')) {
      sendProblem(res, problem(415, 'Send the body as application/json'));
      return;
    }
    parse(req, res, next);
  };
}

/** Turns body-parser failures into problems instead of Express's HTML error page. */
export function bodyErrors(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  const type = (error as { type?: string })?.type;
  if (type === 'entity.too.large') return sendProblem(res, problem(413, 'The body is larger than this server accepts'));
  if (type === 'entity.parse.failed') return sendProblem(res, problem(400, 'The body is not valid JSON'));
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return sendProblem(res, problem(415, 'Send the body as UTF-8 JSON'));
  }
  if (type === 'request.aborted' || type === 'request.size.invalid') {
    return sendProblem(res, problem(400, 'The body ended before its declared length'));
  }
  next(error);
}
