import {
  applyDecorators,
  createParamDecorator,
  HttpCode,
  Injectable,
  SetMetadata,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiBody, ApiExtension, ApiHeader, ApiOperation, ApiProduces, ApiQuery, ApiResponse } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { Request } from 'express';
import { map, type Observable } from 'rxjs';
import { takesDownloadLink } from '#custodia/auth';
import { badRequest, unknownParameters } from '#custodia/errors';
import { NUMBER_OR_RANGE, parseWith, REQUIRED_IN_DOCUMENT, z } from '#custodia/schema';

/**
 * One schema per body: each route declares its request body, query and answer once, as zod
 * schemas, in `@Endpoint`. The same declaration validates the request (`@ValidBody`,
 * `@ValidQuery`), documents the operation in the OpenAPI document (named schemas become
 * components), and, where CUSTODIA_CHECK_RESPONSES is on (the tests), checks every answer,
 * so the document cannot drift from what the code sends.
 */
export interface EndpointSpec {
  summary: string;
  /**
   * The operation's name in generated clients (`createCase`, `listCaseEvidence`): a verb and a
   * noun, unique in the document. Without it, a handler named that way (`createIncident`) gives
   * its own name; any other handler gets `Controller_handler`, which the contract test refuses.
   */
  operationId?: string;
  description?: string;
  body?: z.ZodType;
  /** A strict object of string parameters, or such an object piped into a transform. */
  query?: z.ZodType;
  /** The JSON body of the success answer (none for 204 and for non-JSON answers). */
  response?: z.ZodType;
  /** The success status (default 200, for POST too; 201 for creations, 202 for accepted work, 204 for none). */
  status?: number;
  /** A non-JSON success body: its media type (a file, CSV, GeoJSON; `*\/*` for a file's own type). */
  produces?: string;
  /** The schema of a `produces` body that is JSON of another media type (GeoJSON); else binary. */
  producesSchema?: object;
  /** A download of stored bytes: 206 for one Range (same media type), 304 for If-None-Match with its ETag; ETag and Repr-Digest on each. */
  ranged?: boolean;
  /** A body in several media types (a submission: multipart or JSON): its schema per media type. */
  bodies?: Record<string, object>;
  /** Headers of the success answer worth documenting (name: what it says), for answers whose news is in headers (tus). */
  headers?: Record<string, string>;
  /** Request headers the operation reads (name: what it says; `required` where it refuses a request without): tus's, a download's Range. */
  requestHeaders?: Record<string, { description: string; required?: boolean }>;
  /** The problem statuses this operation answers besides 400, 413 and 415 (any request's query or body) and 401/403 (from its access rule). */
  problems?: number[];
  /**
   * A GET whose HEAD a client has a use for (a download's size, validator and digest before its
   * bytes): documented as an operation of its own, with the GET's parameters and headers and no
   * content. Express answers HEAD for every GET; these are the ones the contract promises.
   */
  head?: { operationId: string; summary: string };
}

const ENDPOINT = 'custodia:endpoint';
const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

/** Named schemas met in any declaration, as OpenAPI components. */
const components = new Map<string, { json: object; io: 'input' | 'output' }>();

type JsonSchema = Record<string, unknown>;

/** A zod schema as an OpenAPI 3.0 schema; the named schemas inside it are hoisted to components. */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  const { definitions, $schema: _, ...root } = json as JsonSchema & { definitions?: Record<string, JsonSchema> };
  for (const [id, definition] of Object.entries(definitions ?? {})) {
    const known = components.get(id);
    const tidy = tidySchema(definition);
    if (known && JSON.stringify(known.json) !== JSON.stringify(tidy)) {
      // The same name read as a request and as an answer must mean the same shape.
      if (known.io === io) throw new Error(`Two different schemas are both named ${id}`);
      continue;
    }
    components.set(id, { json: tidy, io });
  }
  return tidySchema(root);
}

/**
 * Points zod's `#/definitions/` references at the document's components, drops the long
 * regular expressions zod writes beside `format: date-time` (the format says it), and lists
 * the fields marked `requiredInDocument` among their object's required ones.
 */
function tidySchema(schema: JsonSchema): JsonSchema {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value !== 'object' || value === null) return value;
    const out: JsonSchema = {};
    const node = value as JsonSchema;
    for (const [key, inner] of Object.entries(node)) {
      if (key === '$ref' && typeof inner === 'string') {
        out[key] = inner.replace('#/definitions/', '#/components/schemas/');
        continue;
      }
      if (key === 'pattern' && (node['format'] === 'date-time' || node['format'] === 'date')) continue;
      out[key] = walk(inner);
    }
    const properties = out['properties'] as Record<string, JsonSchema> | undefined;
    for (const [name, property] of Object.entries(properties ?? {})) {
      if (!property[REQUIRED_IN_DOCUMENT]) continue;
      delete property[REQUIRED_IN_DOCUMENT];
      out['required'] = [...((out['required'] as string[] | undefined) ?? []), name];
    }
    return NUMBER_OR_RANGE in out ? numberOrRange(out) : out;
  };
  return walk(schema) as JsonSchema;
}

/**
 * A field marked NUMBER_OR_RANGE as both forms it takes: a whole number, or `{ min, max }`
 * (zod shows only the object its preprocessing gives). `nullable` goes on each form, where an
 * OpenAPI 3.0 reader counts it (beside a type).
 */
function numberOrRange(node: JsonSchema): JsonSchema {
  const { [NUMBER_OR_RANGE]: max, type: _type, properties: _properties, required: _required, additionalProperties: _additional, nullable, ...rest } = node;
  const bound = { type: 'integer', minimum: 0, maximum: max };
  const orNull = nullable ? { nullable: true } : {};
  return {
    ...rest,
    anyOf: [
      { ...bound, ...orNull },
      { type: 'object', properties: { min: bound, max: bound }, required: ['min', 'max'], additionalProperties: false, ...orNull },
    ],
  };
}

/**
 * Makes every schema of the document mean the same to every OpenAPI 3.0 reader, in place:
 * - `nullable` counts only beside a `type` (OpenAPI 3.0.3), so a nullable reference
 *   (`{ nullable, allOf: [$ref] }`, zod's form) gets the type of the schema it names: strict
 *   validators and client generators otherwise refuse the `null` the archive sends;
 * - a `pattern` is an ECMA-262 expression without the `u` flag, where Unicode property escapes
 *   (`\p{L}`) do not exist (and Python's `re` refuses them): such a pattern is left out, kept as
 *   `x-custodia-unicode-pattern` (the server applies it with the flag) and said in the description.
 */
function portableSchemas(document: OpenAPIObject): void {
  const schemas = (document.components?.schemas ?? {}) as Record<string, JsonSchema>;
  const typeOf = (ref: unknown): unknown => (typeof ref === 'string' ? schemas[ref.replace('#/components/schemas/', '')]?.['type'] : undefined);
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (typeof value !== 'object' || value === null) return;
    const node = value as JsonSchema;
    const allOf = node['allOf'] as JsonSchema[] | undefined;
    if (node['nullable'] === true && node['type'] === undefined && allOf?.length === 1) {
      const type = typeOf(allOf[0]!['$ref']);
      if (type !== undefined) node['type'] = type;
    }
    if (typeof node['pattern'] === 'string' && node['pattern'].includes('\\p{')) {
      node['x-custodia-unicode-pattern'] = node['pattern'];
      node['description'] = [node['description'], `Matches ${node['pattern']} (Unicode property escapes: the u flag).`].filter(Boolean).join(' ');
      delete node['pattern'];
    }
    Object.values(node).forEach(walk);
  };
  walk(document.paths);
  walk(schemas);
}

/** Declares a route's shapes; see EndpointSpec. */
export function Endpoint(spec: EndpointSpec): MethodDecorator {
  const status = spec.status ?? 200;
  const decorators: MethodDecorator[] = [SetMetadata(ENDPOINT, spec), ApiOperation({ summary: spec.summary, description: spec.description, ...(spec.operationId ? { operationId: spec.operationId } : {}) })];
  // Always set, so a POST answers what the document says (Nest's own default there is 201).
  decorators.push(HttpCode(status));
  if (spec.body) decorators.push(ApiBody({ schema: openApiSchema(spec.body, 'input') as never, required: true }));
  // Written into requestBody by completeDocument (the decorators write one schema for every media type).
  if (spec.bodies) decorators.push(ApiExtension('x-custodia-bodies', spec.bodies));
  if (spec.query) {
    const object = spec.query instanceof z.ZodPipe ? spec.query.in : spec.query;
    if (!(object instanceof z.ZodObject)) throw new Error(`${spec.summary}: a query schema is an object of parameters`);
    const shape = object.shape as Record<string, z.ZodType>;
    for (const [name, field] of Object.entries(shape)) {
      const json = openApiSchema(field, 'input');
      const { description, ...schema } = json;
      decorators.push(ApiQuery({ name, required: !field.safeParse(undefined).success, schema: schema as never, description: description as string | undefined }));
    }
  }
  for (const [name, header] of Object.entries({ ...(spec.ranged ? RANGED_REQUEST_HEADERS : {}), ...spec.requestHeaders })) {
    decorators.push(ApiHeader({ name, description: header.description, required: header.required ?? false, schema: { type: 'string' } }));
  }
  if (spec.produces) {
    const content = { [spec.produces]: { schema: spec.producesSchema ?? { type: 'string', format: 'binary' } } };
    decorators.push(ApiProduces(spec.produces));
    const headers = documentedHeaders({ ...(spec.ranged ? RANGED_HEADERS : {}), ...spec.headers });
    decorators.push(ApiResponse({ status, description: 'OK', content, ...(headers ? { headers } : {}) }));
    if (spec.ranged) {
      decorators.push(
        ApiResponse({
          status: 206,
          description: 'The range asked for (Range, with If-Range)',
          content,
          headers: documentedHeaders({ ...RANGED_HEADERS, 'Content-Range': 'The range sent, as bytes first-last/size' }),
        }),
        ApiResponse({
          status: 304,
          description: 'Not Modified: If-None-Match names this ETag; no byte is sent and no download recorded',
          headers: documentedHeaders({ ETag: RANGED_HEADERS['ETag']! }),
        }),
      );
    }
  } else if (spec.response) {
    decorators.push(ApiResponse({ status, description: 'OK', schema: openApiSchema(spec.response, 'output') as never }));
  } else {
    const headers = documentedHeaders(spec.headers);
    decorators.push(ApiResponse({ status, description: status === 204 ? 'No content' : 'OK', ...(headers ? { headers } : {}) }));
  }
  // 400: every operation refuses query parameters it does not declare. Any request may carry a
  // body, also where the operation takes none: one too large is a 413, one not JSON a 415, before
  // any schema reads it.
  if (spec.head) decorators.push(ApiExtension('x-custodia-head', spec.head));
  const problems = new Set([400, 413, 415, ...(spec.problems ?? [])]);
  for (const problem of [...problems].sort()) {
    const headers = problem === 429 ? documentedHeaders({ 'Retry-After': 'Seconds to wait before asking again (absent where waiting does not help: a limit on what one holds, such as open uploads)' }) : undefined;
    decorators.push(ApiResponse({ status: problem, description: 'A problem (RFC 9457)', content: { 'application/problem+json': { schema: PROBLEM_REF } }, ...(headers ? { headers } : {}) }));
  }
  return applyDecorators(...decorators);
}

/** What a download of stored bytes reads (RFC 9110): one range, and the conditions on its ETag. */
const RANGED_REQUEST_HEADERS: NonNullable<EndpointSpec['requestHeaders']> = {
  Range: { description: 'One range, bytes=first-last, first- or -suffix (several ranges: the whole file, 200)' },
  'If-Range': { description: 'The ETag the range belongs to: another one gets the whole file (200)' },
  'If-None-Match': { description: 'An ETag held: 304 when it is this one (no byte sent, no download recorded)' },
  'If-Match': { description: 'An ETag: 412 when it is not this one (nothing sent or recorded)' },
};

/** What a download of stored bytes answers with, whole or in part (RFC 9110, RFC 9530). */
const RANGED_HEADERS: Record<string, string> = {
  ETag: 'The bytes\' strong validator ("sha256-<hex>"), for If-Range, If-None-Match and If-Match',
  'Repr-Digest': 'sha-256=:<base64>: of the whole representation (RFC 9530)',
  'Content-Disposition': 'attachment, with the file name',
  'Accept-Ranges': 'bytes',
};

/** `{ name: description }` as OpenAPI response headers (strings), or undefined for none. */
function documentedHeaders(headers: Record<string, string> | undefined): Record<string, { description: string; schema: { type: 'string' } }> | undefined {
  if (!headers || Object.keys(headers).length === 0) return undefined;
  return Object.fromEntries(Object.entries(headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]));
}

function specOf(context: ExecutionContext): EndpointSpec | undefined {
  return Reflect.getMetadata(ENDPOINT, context.getHandler()) as EndpointSpec | undefined;
}

/** The request body, read with the route's `@Endpoint({ body })` schema. */
export const ValidBody = createParamDecorator((_: unknown, context: ExecutionContext): unknown => {
  const schema = specOf(context)?.body;
  if (!schema) throw new Error('@ValidBody() on a route whose @Endpoint declares no body');
  const request = context.switchToHttp().getRequest<Request>();
  return parseWith(schema, request.body ?? {}, 'The body');
});

/** The query string, read with the route's `@Endpoint({ query })` schema. */
export const ValidQuery = createParamDecorator((_: unknown, context: ExecutionContext): unknown => {
  const schema = specOf(context)?.query;
  if (!schema) throw new Error('@ValidQuery() on a route whose @Endpoint declares no query');
  return parseWith(schema, context.switchToHttp().getRequest<Request>().query, 'The query');
});

/** Whether a path parameter names a record by its UUID (`id`, `caseId`, `userId`), as uuidParam checks it; an upload's id has its own form. */
const isUuidParameter = (name: string): boolean => name !== 'uploadId' && /^(?:id|[a-z]+Id)$/.test(name);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Input a route cannot take, refused before anything else is read:
 * - an identifier in the path that is not a UUID: a 400 naming it, as the route's uuidParam
 *   would, but before its body is checked (a body missing a field was a 422 for an address that
 *   names nothing);
 * - a query on a route whose `@Endpoint` declares none (but `link` where `@ByDownloadLink`): a
 *   400 naming each parameter, as a declared query's unknown parameters are (api.md: unknown
 *   parameters are refused, not ignored);
 * - a body on a route that declares none: a JSON body with fields is a 400 naming them (an
 *   empty object, which some clients send with every POST, is taken as none).
 */
@Injectable()
export class UndeclaredInputCheck implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const spec = this.reflector.get<EndpointSpec | undefined>(ENDPOINT, context.getHandler());
    const request = context.switchToHttp().getRequest<Request>();
    const malformed = Object.entries(request.params ?? {}).filter(([name, value]) => isUuidParameter(name) && !UUID.test(String(value)));
    if (malformed.length) {
      throw badRequest(`${malformed.map(([name]) => name).join(' and ')} must be a UUID`, malformed.map(([name]) => ({ field: name, message: 'must be a UUID' })));
    }
    const given = spec && !spec.query ? Object.keys(request.query ?? {}) : [];
    // A download a browser follows as a one-time link takes that one parameter (AccessGuard reads it).
    const names = takesDownloadLink(this.reflector, context.getHandler()) ? given.filter((name) => name !== 'link') : given;
    if (names.length) {
      throw unknownParameters('This operation takes no query parameters', names);
    }
    // Only a JSON body is parsed here (routes that read their own leave request.body unset).
    const body: unknown = request.body;
    if (spec && !spec.body && !spec.bodies && body !== undefined) {
      const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? Object.keys(body) : ['body'];
      if (fields.length) {
        throw badRequest(
          'This operation takes no body',
          fields.map((field) => ({ field, message: field === 'body' ? 'must be left out' : 'is not a known field' })),
        );
      }
    }
    return next.handle();
  }
}

/**
 * Checks each JSON answer against its declared schema (on in the tests, through
 * CUSTODIA_CHECK_RESPONSES): an answer the document does not describe is a 500, logged with
 * the fields that differ, so a test notices.
 */
@Injectable()
export class ResponseCheck implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const spec = this.reflector.get<EndpointSpec | undefined>(ENDPOINT, context.getHandler());
    return next.handle().pipe(
      map((value: unknown) => {
        if (!spec?.response || value === undefined) return value;
        const result = spec.response.safeParse(value);
        if (!result.success) {
          const where = `${context.getClass().name}.${context.getHandler().name}`;
          throw new Error(`The answer of ${where} does not match its declared schema: ${JSON.stringify(result.error.issues)}`);
        }
        return value;
      }),
    );
  }
}

/** The RFC 9457 problem body, as every error is answered. */
const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

/**
 * Operation ids the handler name does not give (see EndpointSpec.operationId): a handler named
 * by verb and noun (`createIncident`) names its operation; a one-word one (`create`) is
 * qualified with its controller, unique but plainly unfinished.
 */
export function operationIdOf(controllerKey: string, methodKey: string): string {
  return /[A-Z]/.test(methodKey) ? methodKey : `${controllerKey.replace(/Controller$/, '')}_${methodKey}`;
}

type Operation = {
  operationId?: string;
  parameters?: unknown[];
  security?: unknown[];
  responses?: Record<string, unknown>;
  requestBody?: unknown;
  'x-custodia-access'?: 'public' | 'public-log';
  'x-custodia-bodies'?: Record<string, object>;
  'x-custodia-head'?: { operationId: string; summary: string };
};

/**
 * The HEAD of a GET (EndpointSpec.head): the same request; its answers the GET's, the successful
 * ones without content (the problems keep theirs as the tus HEAD's do: what a GET would say).
 */
function headOf(get: Operation, head: { operationId: string; summary: string }): Operation {
  const responses = Object.fromEntries(
    Object.entries(get.responses ?? {}).map(([status, response]) => {
      if (/^[45]/.test(status)) return [status, response];
      const { content: _, ...headers } = response as { content?: unknown };
      return [status, headers];
    }),
  );
  return { ...structuredClone({ ...get, responses }), ...head };
}

/**
 * Completes the generated document: the named schemas as components, the Problem schema, the
 * security of each operation exactly as the access guard applies it (none on public routes,
 * whatever their controller declares; the bearer token on every other), with the 401 and 403
 * answers of the guard's own refusals. Operation ids must be unique (generated clients name
 * their functions after them).
 */
export function completeDocument(document: OpenAPIObject, options: { publicLog: boolean }): OpenAPIObject {
  document.components ??= {};
  document.components.schemas = {
    ...document.components.schemas,
    ...Object.fromEntries([...components].map(([id, { json }]) => [id, json])),
    Problem: PROBLEM_SCHEMA,
  } as never;
  portableSchemas(document);
  // Tokens are opaque (not JWTs), whatever Nest's bearer default says.
  for (const scheme of Object.values(document.components.securitySchemes ?? {})) delete (scheme as { bearerFormat?: string }).bearerFormat;
  const ids = new Set<string>();
  for (const path of Object.values(document.paths) as Record<string, Operation>[]) {
    const get = path['get'];
    const head = get?.['x-custodia-head'];
    if (get && head) {
      delete get['x-custodia-head'];
      path['head'] = headOf(get, head);
    }
  }
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path) as Operation[]) {
      if (!operation?.responses) continue;
      const bodies = operation['x-custodia-bodies'];
      if (bodies) {
        operation.requestBody = { required: true, content: Object.fromEntries(Object.entries(bodies).map(([type, schema]) => [type, { schema }])) };
        delete operation['x-custodia-bodies'];
      }
      if (operation.operationId) {
        if (ids.has(operation.operationId)) throw new Error(`Two operations are both named ${operation.operationId}`);
        ids.add(operation.operationId);
      }
      // Path parameters that name a record are UUIDs (uuidParam): a malformed one is a 400 naming it.
      for (const parameter of (operation.parameters ?? []) as { in?: string; name?: string; schema?: Record<string, unknown> }[]) {
        if (parameter.in === 'path' && isUuidParameter(parameter.name ?? '')) {
          parameter.schema = { type: 'string', format: 'uuid' };
        }
      }
      if (operation.parameters?.some((parameter) => (parameter as { in?: string }).in === 'path')) {
        operation.responses['400'] ??= { description: 'A problem (RFC 9457)', content: { 'application/problem+json': { schema: PROBLEM_REF } } };
      }
      // What any request may meet, before or beside its route's own rules, each as problem+json:
      // headers over the server's limit (431), a fault of the archive's (500), a transient
      // conflict or the database connection lost while it ran (503, Retry-After).
      operation.responses['431'] ??= { description: 'A problem (RFC 9457): the request headers are larger than the server accepts', content: { 'application/problem+json': { schema: PROBLEM_REF } } };
      operation.responses['500'] ??= { description: 'A problem (RFC 9457): a fault of the archive, logged with the request id (X-Request-Id)', content: { 'application/problem+json': { schema: PROBLEM_REF } } };
      operation.responses['503'] ??= {
        description: 'A problem (RFC 9457): not done, send it again (another change of the same records at the same moment, or the database connection lost)',
        content: { 'application/problem+json': { schema: PROBLEM_REF } },
        headers: { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'string' } } },
      };
      const access = operation['x-custodia-access'];
      if (access === 'public' || (access === 'public-log' && options.publicLog)) {
        delete operation.security;
        continue;
      }
      operation.security = [{ bearer: [] }];
      for (const status of ['401', '403']) {
        operation.responses[status] ??= { description: 'A problem (RFC 9457)', content: { 'application/problem+json': { schema: PROBLEM_REF } } };
      }
    }
  }
  return document;
}
