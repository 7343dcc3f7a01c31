import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { CustodiaConfig } from '#custodia/config';
import { NestPinoLogger } from '#custodia/logging';
import { AppModule } from './app.module.js';
import { completeDocument, operationIdOf, ResponseCheck, UndeclaredInputCheck } from './http/endpoint.js';
import { accessLog } from './http/access-log.js';
import { API_PREFIX } from './http/api-prefix.js';
import { bodyErrors, jsonBodies, strictQuery } from './http/body.js';
import { hardenHttpServer } from './http/http-server.js';
import { problem, ProblemFilter, sendProblem } from './http/problem.filter.js';
import { tusProtocol } from './http/tus-protocol.js';
import { defaultWebRoot, isApiPath, webConsole } from './http/web-console.js';

/**
 * Requests that read their own (non-JSON) bodies: tus chunks, and submissions sent as
 * multipart (one sent as JSON, a finished resumable upload, is an ordinary JSON body).
 */
const readsOwnBody = (req: Request): boolean =>
  /^\/api\/v1\/uploads(\/[^/]+)?\/?$/.test(req.path) || (/^\/api\/v1\/cases\/[^/]+\/evidence\/?$/.test(req.path) && !req.is('application/json'));

/** Assembles the HTTP application on an open, migrated database; the caller listens or tests it. */
export async function createApp(
  config: CustodiaConfig,
  dataSource: DataSource,
  logger: Logger,
  options: { webRoot?: string } = {},
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config, dataSource), {
    bodyParser: false,
    logger: new NestPinoLogger(logger.child({ component: 'nest' })),
    // A module that fails to start rejects here, so the caller stops the embedded PostgreSQL and
    // says why; Nest's default would abort the process (a core dump, PostgreSQL left running).
    abortOnError: false,
  });
  hardenHttpServer(app.getHttpServer(), config.httpIdleTimeoutMs);
  // A number of hops: Express then takes the client's address that far from the right of X-Forwarded-For.
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  // The API's answers hold victims' names, documenters' positions and custody records: no cache
  // keeps them (a shared computer's browser cache would), so no validator is offered either
  // (Express's automatic ETag made logged JSON reads answer 304). Downloads set their own.
  app.disable('etag');
  app.use((req: Request, res: Response, next: () => void) => {
    if (isApiPath(req.path)) res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use(accessLog(logger));
  app.use('/api/docs', helmet({ contentSecurityPolicy: { directives: { 'script-src': ["'self'", "'unsafe-inline'"] } } }));
  // The console sets its own policy (http/web-console.ts); the API keeps helmet's defaults.
  const consoleHandlers = webConsole(options.webRoot ?? defaultWebRoot(), config.mapTileUrl);
  const defaultHeaders = helmet();
  app.use((req: Request, res: Response, next: () => void) =>
    consoleHandlers.length > 0 && (req.method === 'GET' || req.method === 'HEAD') && !isApiPath(req.path) ? next() : defaultHeaders(req, res, next));
  for (const handler of consoleHandlers) app.use(handler);
  app.use(tusProtocol(API_PREFIX));
  app.use(jsonBodies(config.maxJsonBodyBytes, readsOwnBody));
  app.use(bodyErrors);
  app.use(strictQuery);
  app.setGlobalPrefix(API_PREFIX);
  app.useGlobalFilters(new ProblemFilter(logger.child({ component: 'errors' })));
  app.useGlobalInterceptors(new UndeclaredInputCheck(app.get(Reflector)));
  if (config.checkResponses) app.useGlobalInterceptors(new ResponseCheck(app.get(Reflector)));

  const document = completeDocument(SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Custodia API')
      .setDescription('Evidence intake, custody log and case records. Errors are application/problem+json (RFC 9457).')
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An opaque token from POST /auth/login or POST /auth/tokens' })
      .build(),
    { operationIdFactory: operationIdOf },
  ), { publicLog: config.publicLog });
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json', useGlobalPrefix: false });
  await app.init();
  // Paths outside the API prefix never reach Nest's router: answer them as problems too.
  app.use((req: Request, res: Response) => sendProblem(res, problem(404, `Cannot ${req.method} ${req.path}`)));
  return app;
}
