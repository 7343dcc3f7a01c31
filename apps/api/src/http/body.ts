import { isUtf8 } from 'node:buffer';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { FieldProblem } from '#custodia/errors';
import { problem, sendProblem } from './problem.filter.js';
import { inputProblems, jsonShapeProblem, shapeDetail } from './strict-input.js';

/** A body refused before parsing; body-parser hands it back wrapped, with our detail kept. */
class RefusedBody extends Error {
  constructor(
    readonly custodiaDetail: string,
    readonly custodiaErrors?: FieldProblem[],
  ) {
    super(custodiaDetail);
  }
}

/** Raw checks before JSON.parse: UTF-8 as sent (never silently repaired), bounded nesting, no name given twice. */
function verifyRaw(_req: unknown, _res: unknown, raw: Buffer): void {
  if (!isUtf8(raw)) throw new RefusedBody('The body is not valid UTF-8');
  const shape = jsonShapeProblem(raw);
  if (shape) throw new RefusedBody(shapeDetail('The body', shape), [{ field: shape.field, message: shape.message }]);
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;

/**
 * JSON bodies only, strictly parsed and bounded in size. Routes that take other bodies
 * (multipart uploads, tus) are named by `acceptsOtherBodies` and parse their own.
 */
export function jsonBodies(limitBytes: number, acceptsOtherBodies: (req: Request) => boolean) {
  const parse = express.json({ limit: limitBytes, strict: true, type: () => true, verify: verifyRaw });
  return (req: Request, res: Response, next: NextFunction): void => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody || acceptsOtherBodies(req)) return next();
    // Refused on its declared length, before a byte of it is read (body-parser reads a body to its
    // end before saying it is too large) and before 100 Continue invites it; the connection closes
    // after the answer, so nothing more of it is read.
    if (Number(req.headers['content-length'] ?? 0) > limitBytes) {
      res.setHeader('Connection', 'close');
      sendProblem(res, problem(413, `The body is larger than this server accepts (${limitBytes} bytes of JSON)`));
      return;
    }
    if (!req.is('application/json') && !req.is('application/*+json')) {
      sendProblem(res, problem(415, 'Send the body as application/json'));
      return;
    }
    // JSON is UTF-8 (RFC 8259, 8.1); body-parser would also decode UTF-16 and UTF-32, whose
    // bytes the raw checks below cannot read.
    const charset = CHARSET.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      sendProblem(res, problem(415, `Send the body as UTF-8 JSON: charset=${charset.slice(0, 40)} is not taken`));
      return;
    }
    parse(req, res, (error?: unknown) => {
      if (error) return next(error);
      const problems = inputProblems(req.body);
      if (problems.length) return sendProblem(res, problem(400, 'The body has invalid fields', problems));
      next();
    });
  };
}

/** Percent-decodes a query string to its bytes, to check they are UTF-8 (decoders replace bad bytes silently). */
function queryBytes(query: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(query.slice(i + 1, i + 3))) {
      bytes.push(parseInt(query.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else bytes.push(...Buffer.from(query[i]!, 'utf8'));
  }
  return Buffer.from(bytes);
}

/** Query strings as strictly as bodies: UTF-8, no control characters, no prototype keys. */
export function strictQuery(req: Request, res: Response, next: NextFunction): void {
  const at = req.originalUrl.indexOf('?');
  if (at < 0) return next();
  if (!isUtf8(queryBytes(req.originalUrl.slice(at + 1)))) return sendProblem(res, problem(400, 'The query string is not valid UTF-8'));
  const problems = inputProblems(req.query, '', 0).map((p) => ({ ...p, field: p.field === 'body' ? 'query' : p.field }));
  if (problems.length) return sendProblem(res, problem(400, 'The query string has invalid parameters', problems));
  next();
}

/** Turns body-parser failures into problems instead of Express's HTML error page. */
export function bodyErrors(error: unknown, req: Request, res: Response, next: NextFunction): void {
  const refused = error as { custodiaDetail?: string; custodiaErrors?: FieldProblem[] } | undefined;
  if (refused?.custodiaDetail) return sendProblem(res, problem(400, refused.custodiaDetail, refused.custodiaErrors));
  const type = (error as { type?: string })?.type;
  if (type === 'entity.too.large') return sendProblem(res, problem(413, 'The body is larger than this server accepts'));
  if (type === 'entity.parse.failed') return sendProblem(res, problem(400, 'The body is not valid JSON'));
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return sendProblem(res, problem(415, 'Send the body as UTF-8 JSON'));
  }
  if (type === 'request.aborted' || type === 'request.size.invalid') {
    return sendProblem(res, problem(400, 'The body ended before its declared length'));
  }
  // The decompressor's own words ("incorrect header check") say nothing to the client.
  const encoding = req.headers['content-encoding'];
  const code = (error as { code?: unknown })?.code;
  if (encoding && typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR__') || code.startsWith('ERR_BROTLI'))) {
    return sendProblem(res, problem(400, `The body is not valid ${String(encoding).slice(0, 40)} data, as its Content-Encoding says it is`));
  }
  next(error);
}
