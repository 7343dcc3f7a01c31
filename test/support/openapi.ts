import type { TestApp } from './app.js';

/**
 * Operations not yet converted to `@Endpoint` + `@Permit` (records and evidence routes, being
 * converted on their own branches). The contract tests (test/openapi-client.e2e.spec.ts,
 * test/role-matrix.e2e.spec.ts) hold every other operation to the whole contract, and fail
 * when an entry here no longer names an operation of the document, so the list cannot hide
 * anything silently. Empty it once those branches have landed: then every operation is held.
 */
export const PENDING_CONVERSION: readonly string[] = [];

export type Schema = Record<string, unknown>;

export interface Operation {
  operationId?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
  security?: Record<string, string[]>[];
  'x-custodia-purpose'?: string;
  'x-custodia-access'?: 'public' | 'public-log';
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Schema> };
}

/** One operation of the document with its method and path, as `GET /api/v1/cases/{caseId}`. */
export interface DocumentedOperation {
  key: string;
  method: string;
  path: string;
  operation: Operation;
}

export async function servedDocument(t: TestApp): Promise<OpenApiDocument> {
  const res = await t.http.get('/api/docs-json');
  if (res.status !== 200) throw new Error(`GET /api/docs-json answered ${res.status}`);
  return res.body as OpenApiDocument;
}

export function operationsOf(document: OpenApiDocument): DocumentedOperation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, operation })),
  );
}

/** A schema with its `$ref` followed into the components. */
export function resolve(document: OpenApiDocument, schema: Schema | undefined): Schema | undefined {
  const ref = schema?.['$ref'];
  if (typeof ref !== 'string') return schema;
  return resolve(document, document.components.schemas[ref.replace('#/components/schemas/', '')]);
}
