import type { NextFunction, Request, Response } from 'express';
import { problem, sendProblem } from './problem.filter.js';

/** The methods of tus 1.0.0 that a request may name in X-HTTP-Method-Override. */
const TUS_METHODS = new Set(['POST', 'HEAD', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * tus 1.0.0: "The X-HTTP-Method-Override request header MUST be a string which MUST be
 * interpreted as the request's method by the Server", for clients behind proxies that drop PATCH
 * or DELETE (tus-js-client's `overridePatchMethod` sends each PATCH as a POST with it). Applied
 * before routing, on the uploads' paths only, so the overridden request meets the same guards and
 * handlers as the real method; a value that is not one of tus's methods is a 400 problem.
 */
export function tusMethodOverride(prefix: string) {
  const base = `/${prefix}/uploads`;
  return (req: Request, res: Response, next: NextFunction): void => {
    const override = req.headers['x-http-method-override'];
    if (override === undefined || (req.path !== base && !req.path.startsWith(`${base}/`))) return next();
    const method = typeof override === 'string' ? override.trim().toUpperCase() : '';
    if (!TUS_METHODS.has(method)) {
      return sendProblem(res, problem(400, `X-HTTP-Method-Override must name one of tus's methods (${[...TUS_METHODS].join(', ')})`));
    }
    req.method = method;
    next();
  };
}
