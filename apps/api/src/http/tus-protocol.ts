import type { NextFunction, Request, Response } from 'express';
import { problem, sendProblem, WIRE_METHOD } from './problem.filter.js';

/** The methods of tus 1.0.0 that a request may name in X-HTTP-Method-Override. */
const TUS_METHODS = new Set(['POST', 'HEAD', 'PATCH', 'DELETE', 'OPTIONS']);
const TUS_VERSION = '1.0.0';

/**
 * What tus 1.0.0 asks of every request on the uploads' paths, before routing, so that it holds
 * for answers the guards give too (a 401 is a tus response as much as a 204):
 * - "The X-HTTP-Method-Override request header MUST be ... interpreted as the request's method",
 *   for clients behind proxies that drop PATCH or DELETE (tus-js-client's `overridePatchMethod`):
 *   the overridden request meets the same guards and handlers as the real method; a value that
 *   is not one of tus's methods is a 400 problem;
 * - Tus-Resumable "MUST be included in every ... response except for OPTIONS requests";
 * - a Tus-Resumable version the server does not speak is answered "412 Precondition Failed" with
 *   the Tus-Version it does (@tus/server answers 400). A request without the header is refused
 *   412 too, after the guards (a caller without a token learns 401 first), by the tus server or
 *   UploadsService.append, with Tus-Version (UploadsService.handle adds it).
 */
export function tusProtocol(prefix: string) {
  const base = `/${prefix}/uploads`;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.path !== base && !req.path.startsWith(`${base}/`)) return next();
    const override = req.headers['x-http-method-override'];
    if (override !== undefined) {
      const method = typeof override === 'string' ? override.trim().toUpperCase() : '';
      if (!TUS_METHODS.has(method)) {
        res.setHeader('Tus-Resumable', TUS_VERSION);
        return sendProblem(res, problem(400, `X-HTTP-Method-Override must name one of tus's methods (${[...TUS_METHODS].join(', ')})`));
      }
      // The method as it came on the wire: a HEAD named here arrived as a POST (see sendProblem).
      res.locals[WIRE_METHOD] = req.method;
      req.method = method;
    }
    if (req.method === 'OPTIONS') return next();
    res.setHeader('Tus-Resumable', TUS_VERSION);
    const version = req.headers['tus-resumable'];
    if (version !== undefined && version !== TUS_VERSION) {
      res.setHeader('Tus-Version', TUS_VERSION);
      return sendProblem(res, problem(412, `Tus-Resumable names a version this server does not speak: it speaks tus ${TUS_VERSION} (Tus-Version)`));
    }
    next();
  };
}
