import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestApp, type TestApp } from './support/app.js';
import { createCase, fixture, submit } from './support/evidence.js';
import { operationsOf, PENDING_CONVERSION, resolve, servedDocument, type OpenApiDocument, type Schema } from './support/openapi.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROBLEM = '#/components/schemas/Problem';

/**
 * The OpenAPI document is the contract capture apps and partner tools build on: it must be
 * complete (every answer and refusal described), exact (public routes take no token) and good
 * enough for a maintained generator to build a typed client that works against the server.
 */
describe('the OpenAPI document (/api/docs-json)', () => {
  let t: TestApp;
  let document: OpenApiDocument;
  let baseUrl: string;

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_TREE_HEAD_INTERVAL_MS: '50' });
    document = await servedDocument(t);
    await t.app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => t?.close());

  /** The operations the contract holds fully (see PENDING_CONVERSION). */
  const held = () => operationsOf(document).filter(({ key }) => !PENDING_CONVERSION.includes(key));

  it('lists every route of the router, and nothing the router lacks', () => {
    type Layer = { route?: { path: string; methods: Record<string, boolean> } };
    const router = (t.app.getHttpAdapter().getInstance() as { router: { stack: Layer[] } }).router;
    const routes = router.stack
      .filter((layer) => layer.route?.path.startsWith('/api/v1/'))
      .flatMap((layer) =>
        Object.keys(layer.route!.methods)
          .filter((method) => method !== '_all')
          .map((method) => `${method.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`),
      );
    expect(routes.length).toBeGreaterThan(40);
    // Express answers HEAD for every GET: the document promises it for the downloads (see the HEAD test).
    const heads = operationsOf(document).filter((o) => o.key.startsWith('HEAD ') && routes.includes(o.key.replace(/^HEAD/, 'GET')));
    expect(heads.map((o) => o.key).sort()).toEqual(
      ['/evidence/{id}/content', '/evidence/{id}/preview', '/evidence/{id}/thumbnail', '/exports/{id}/content'].map((p) => `HEAD /api/v1${p}`),
    );
    expect(new Set(operationsOf(document).map((o) => o.key))).toEqual(new Set([...routes, ...heads.map((o) => o.key)]));
  });

  it('describes every success answer with a schema, or names its media type, or (tus) the headers that carry it', () => {
    for (const { key, operation } of held()) {
      const success = Object.entries(operation.responses).filter(([status]) => /^2/.test(status));
      expect(success.length, key).toBeGreaterThan(0);
      for (const [status, response] of success) {
        const media = Object.entries(response.content ?? {});
        if (status === '204' || key.startsWith('HEAD ')) {
          expect(response.content, key).toBeUndefined();
          continue;
        }
        if (media.length === 0) {
          // An answer whose news is in its headers (tus creation: Location) says which.
          expect(Object.keys((response as { headers?: object }).headers ?? {}).length, `${key}: a ${status} with no content and no headers`).toBeGreaterThan(0);
          continue;
        }
        for (const [type, { schema }] of media) {
          if (type === 'application/json') expect(resolve(document, schema)?.['type'] ?? resolve(document, schema)?.['anyOf'], key).toBeDefined();
          else if (type === 'application/geo+json') expect(schema, key).toMatchObject({ type: 'object', properties: { type: { enum: ['FeatureCollection'] } } });
          else expect(schema, key).toEqual({ type: 'string', format: 'binary' });
        }
      }
    }
  });

  it('documents the refusals: 401 and 403 where a token is taken; 400, 413, 415, 431, 500 and 503 everywhere', () => {
    const problem = { content: { 'application/problem+json': { schema: { $ref: PROBLEM } } } };
    for (const { key, operation } of held()) {
      const refusals = Object.keys(operation.responses).filter((status) => /^[45]/.test(status));
      for (const status of refusals) expect(operation.responses[status], `${key} ${status}`).toMatchObject(problem);
      const secured = operation['x-custodia-access'] === undefined;
      if (secured) {
        expect(operation.security, key).toEqual([{ bearer: [] }]);
        expect(refusals, key).toEqual(expect.arrayContaining(['401', '403']));
      }
      for (const parameter of operation.parameters ?? []) {
        // Identifiers are UUIDs; an upload's says its pattern (a UUID, or 32 hex digits for uploads
        // made before they were UUIDs); a message's file is its place in a list of at most 1,000.
        if (parameter.in === 'path' && parameter.name !== 'name') {
          const expected =
            parameter.name === 'uploadId' ? { type: 'string', pattern: '^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$' }
            : parameter.name === 'attachment' ? { type: 'integer', minimum: 0, maximum: 999 }
            : { type: 'string', format: 'uuid' };
          expect(parameter.schema, `${key} {${parameter.name}}`).toEqual(expected);
        }
      }
      // What any request may meet: a query parameter not taken (400), a body too large or not JSON,
      // also where none is taken (413, 415), headers too large, a fault of the archive's, a
      // moment's conflict or a lost connection (with Retry-After).
      expect(refusals, key).toEqual(expect.arrayContaining(['400', '413', '415', '431', '500', '503']));
    }
    const createCase = operationsOf(document).find(({ key }) => key === 'POST /api/v1/cases')!.operation;
    expect(Object.keys((createCase.responses['503'] as { headers?: object }).headers ?? {})).toEqual(['Retry-After']);
  });

  it('names who may call each operation: a purpose of the policy, or public without any security', () => {
    for (const { key, operation } of held()) {
      const access = operation['x-custodia-access'];
      if (access) {
        expect(operation.security, `${key} is public`).toBeUndefined();
        expect(operation['x-custodia-purpose'], key).toBeUndefined();
      } else {
        expect(operation['x-custodia-purpose'], key).toEqual(expect.any(String));
      }
    }
    // The custody log's public face, and only it, follows CUSTODIA_PUBLIC_LOG.
    const publicLog = operationsOf(document).filter((o) => o.operation['x-custodia-access'] === 'public-log').map((o) => o.key);
    expect(publicLog.sort()).toEqual(
      ['tree-head', 'tree-heads', 'keys', 'leaves', 'proofs/inclusion', 'proofs/consistency'].map((p) => `GET /api/v1/log/${p}`).sort(),
    );
  });

  it('documents a submission as multipart (metadata + file) or as JSON naming a finished upload, each with its own schema', () => {
    const content = (document.paths['/api/v1/cases/{caseId}/evidence']!['post'] as { requestBody: { content: Record<string, { schema: Schema }> } }).requestBody.content;
    expect(Object.keys(content).sort()).toEqual(['application/json', 'multipart/form-data']);
    expect(Object.keys((content['multipart/form-data']!.schema['properties'] as object) ?? {}).sort()).toEqual(['file', 'metadata']);
    expect(resolve(document, content['application/json']!.schema)?.['properties']).toHaveProperty('uploadId');
  });

  it('lists as required the fields a body refuses to go without, though it names their absence with its other problems (422)', () => {
    for (const id of ['PatchIncidentBody', 'PatchCasualtyBody', 'PatchDamageBody', 'PatchRemnantBody', 'UpdateUserBody']) {
      expect(document.components.schemas[id]?.['required'], id).toEqual(['reason']);
    }
    // The mark that says so is read, never left in the document.
    expect(JSON.stringify(document)).not.toContain('x-custodia-required');
  });

  it('documents a figure a body takes as a number as well as a { min, max } range, nullable in each form', () => {
    const killed = document.components.schemas['CreateIncidentBody']?.['properties'] as Record<string, Schema>;
    expect(killed['killed']?.['anyOf']).toEqual([
      { type: 'integer', minimum: 0, maximum: 10_000_000, nullable: true },
      expect.objectContaining({ type: 'object', required: ['min', 'max'], nullable: true }),
    ]);
    const groupSize = (document.components.schemas['CreateCasualtyBody']?.['properties'] as Record<string, Schema>)['groupSize'];
    expect((groupSize?.['anyOf'] as Schema[] | undefined)?.map((form) => form['type'])).toEqual(['integer', 'object']);
    expect(JSON.stringify(document)).not.toContain('x-custodia-number-or-range');
  });

  it('documents the partial answers of the two downloads (206, Content-Range) and an original as its own media type', () => {
    const operations = new Map(operationsOf(document).map(({ key, operation }) => [key, operation]));
    for (const [key, type] of [['GET /api/v1/evidence/{id}/content', '*/*'], ['GET /api/v1/exports/{id}/content', 'application/zip']] as const) {
      const responses = operations.get(key)!.responses as Record<string, { content?: object; headers?: Record<string, unknown> }>;
      expect(Object.keys(responses['200']!.content!), key).toEqual([type]);
      expect(responses['206']?.content, key).toEqual(responses['200']!.content);
      // Whole or in part, the answer names its validator and digest; a 304 its validator.
      expect(Object.keys(responses['200']!.headers ?? {}).sort(), key).toEqual(['Accept-Ranges', 'Content-Disposition', 'ETag', 'Repr-Digest']);
      expect(Object.keys(responses['206']?.headers ?? {}).sort(), key).toEqual(['Accept-Ranges', 'Content-Disposition', 'Content-Range', 'ETag', 'Repr-Digest']);
      expect(Object.keys(responses['304']?.headers ?? {}), key).toEqual(['ETag']);
      // What a client sends for a part, or to ask only if it changed: headers a generated client can form.
      const headers = ((operations.get(key)!.parameters ?? []) as { in: string; name: string; required?: boolean }[]).filter((p) => p.in === 'header');
      expect(headers.map((h) => [h.name, h.required]), key).toEqual([['Range', false], ['If-Range', false], ['If-None-Match', false], ['If-Match', false]]);
    }
  });

  it("documents the downloads' HEAD as the GET without content, and a HEAD answers with the headers documented and no byte (its record: evidence-reading)", async () => {
    const operations = new Map(operationsOf(document).map(({ key, operation }) => [key, operation]));
    for (const path of ['/evidence/{id}/content', '/evidence/{id}/thumbnail', '/evidence/{id}/preview', '/exports/{id}/content']) {
      const get = operations.get(`GET /api/v1${path}`)!;
      const head = operations.get(`HEAD /api/v1${path}`)!;
      expect(head.operationId, path).toMatch(/^head[A-Z]/);
      expect(head.parameters, path).toEqual(get.parameters);
      expect(head.security, path).toEqual(get.security);
      expect(Object.keys(head.responses).sort(), path).toEqual(Object.keys(get.responses).sort());
      for (const [status, response] of Object.entries(head.responses)) {
        if (/^[45]/.test(status)) expect(response, `${path} ${status}`).toEqual(get.responses[status]);
        else expect(response, `${path} ${status}`).toEqual({ ...get.responses[status], content: undefined });
      }
    }

    // The contract kept: a HEAD of an original answers each header its GET documents and sends no byte.
    const caseId = await createCase(t, t.admin, 'HEAD of a download');
    const photo = fixture('exif-ne-offset.jpg');
    const item = (await submit(t, t.admin, caseId, photo).expect(201)).body as { id: string };
    const answer = await fetch(`${baseUrl}/api/v1/evidence/${item.id}/content`, { method: 'HEAD', headers: { Authorization: `Bearer ${t.admin.token}` } });
    expect(answer.status).toBe(200);
    expect(await answer.arrayBuffer()).toHaveProperty('byteLength', 0);
    expect(answer.headers.get('content-length')).toBe(String(photo.length));
    const documented = (operations.get('HEAD /api/v1/evidence/{id}/content')!.responses['200'] as { headers?: object }).headers ?? {};
    for (const name of Object.keys(documented)) expect(answer.headers.get(name), name).toEqual(expect.any(String));
  });

  it("declares tus's request headers, PATCH's byte body and the headers its answers carry", () => {
    const operations = new Map(operationsOf(document).map(({ key, operation }) => [key, operation]));
    const headersOf = (key: string) =>
      Object.fromEntries(((operations.get(key)!.parameters ?? []) as { in: string; name: string; required?: boolean }[]).filter((p) => p.in === 'header').map((p) => [p.name, p.required]));
    expect(headersOf('POST /api/v1/uploads')).toEqual({ 'Tus-Resumable': true, 'Upload-Length': true, 'Upload-Metadata': false, 'Content-Type': false, 'Upload-Checksum': false });
    expect(headersOf('PATCH /api/v1/uploads/{uploadId}')).toEqual({ 'Tus-Resumable': true, 'Upload-Offset': true, 'Content-Type': true, 'Upload-Checksum': false });
    expect(headersOf('HEAD /api/v1/uploads/{uploadId}')).toEqual({ 'Tus-Resumable': true });
    expect(headersOf('DELETE /api/v1/uploads/{uploadId}')).toEqual({ 'Tus-Resumable': true });
    const patch = operations.get('PATCH /api/v1/uploads/{uploadId}')!;
    expect(patch.requestBody?.content).toEqual({ 'application/offset+octet-stream': { schema: { type: 'string', format: 'binary' } } });
    const answered = (key: string, status: string) => Object.keys((operations.get(key)!.responses as Record<string, { headers?: object }>)[status]?.headers ?? {});
    expect(answered('PATCH /api/v1/uploads/{uploadId}', '204')).toEqual(expect.arrayContaining(['Tus-Resumable', 'Upload-Offset', 'Upload-Expires']));
    expect(answered('HEAD /api/v1/uploads/{uploadId}', '200')).toEqual(expect.arrayContaining(['Tus-Resumable', 'Upload-Offset', 'Upload-Length', 'Upload-Metadata']));
    expect(answered('POST /api/v1/uploads', '201')).toEqual(expect.arrayContaining(['Tus-Resumable', 'Location', 'Upload-Offset']));
  });

  it('reads the same to every OpenAPI 3.0 tool: nullable only beside a type, patterns without Unicode escapes; 429 says Retry-After', () => {
    const loose: string[] = [];
    const unicode: string[] = [];
    const walk = (value: unknown, at: string): void => {
      if (Array.isArray(value)) return value.forEach((inner, i) => walk(inner, `${at}/${i}`));
      if (typeof value !== 'object' || value === null) return;
      const node = value as Record<string, unknown>;
      if (node['nullable'] === true && node['type'] === undefined) loose.push(at);
      if (typeof node['pattern'] === 'string' && /\\p\{/.test(node['pattern'])) unicode.push(at);
      for (const [key, inner] of Object.entries(node)) walk(inner, `${at}/${key}`);
    };
    walk(document, '#');
    expect(loose).toEqual([]);
    expect(unicode).toEqual([]);
    // Such a pattern is kept aside, not lost (the login's e-mail address).
    const login = (document.components!.schemas as Record<string, { properties: Record<string, Record<string, unknown>> }>)['LoginBody']!;
    expect(login.properties['email']!['x-custodia-unicode-pattern']).toMatch(/\\p\{/);
    for (const { key, operation } of operationsOf(document)) {
      const refused = (operation.responses as Record<string, { headers?: Record<string, unknown> }>)['429'];
      if (refused) expect(Object.keys(refused.headers ?? {}), key).toEqual(['Retry-After']);
    }
    const metadata = operationsOf(document).find(({ key }) => key === 'GET /api/v1/evidence/{id}/metadata')!;
    expect(Object.keys(metadata.operation.responses)).toContain('422');
  });

  it('says the bearer tokens are opaque, not JWTs', () => {
    expect(document.components.securitySchemes).toEqual({
      bearer: { type: 'http', scheme: 'bearer', description: expect.stringMatching(/opaque token/) },
    });
    expect(JSON.stringify(document.components.securitySchemes)).not.toMatch(/jwt/i);
  });

  it('gives every operation a unique operationId that reads as a function name, and a tag', () => {
    const ids = operationsOf(document).map((o) => o.operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { key, operation } of held()) {
      expect(operation.operationId, key).toMatch(/^[a-z]+[A-Z][A-Za-z]*$|^(login|logout)$/);
      expect(operation.tags?.length, key).toBe(1);
    }
  });

  it('describes every body field: no bare object, no body without a schema', () => {
    const bare = (schema: Schema | undefined, where: string): void => {
      let resolved = resolve(document, schema);
      expect(resolved, where).toBeDefined();
      // A nullable reference ({ type, nullable, allOf: [$ref] }) is the schema it names.
      const [named] = (resolved!['allOf'] as Schema[] | undefined) ?? [];
      if (named && !resolved!['properties']) resolved = resolve(document, named);
      if (resolved!['type'] === 'object') {
        const properties = resolved!['properties'] as Record<string, Schema> | undefined;
        const map = resolved!['additionalProperties'];
        // A map of named values (serviceImpact.counts) is described by its values' schema.
        if (typeof map === 'object' && map !== null && Object.keys(map).length > 0) return;
        expect(Object.keys(properties ?? {}).length, `${where} is a bare object`).toBeGreaterThan(0);
        for (const [name, inner] of Object.entries(properties ?? {})) bare(inner, `${where}.${name}`);
      }
      if (resolved!['type'] === 'array') bare(resolved!['items'] as Schema, `${where}[]`);
    };
    for (const { key, operation } of held()) {
      if (!operation.requestBody) continue;
      const media = Object.entries(operation.requestBody.content);
      expect(media.length, key).toBeGreaterThan(0);
      for (const [type, { schema }] of media) bare(schema, `${key} ${type}`);
    }
  });

  it('builds a typed client with openapi-typescript that type-checks and drives a happy path through openapi-fetch', async () => {
    await mkdir(path.join(ROOT, 'node_modules', '.cache'), { recursive: true });
    // Inside node_modules, so the program resolves openapi-fetch as any client project would.
    const dir = await mkdtemp(path.join(ROOT, 'node_modules', '.cache', 'custodia-client-'));
    try {
      await writeFile(path.join(dir, 'schema.d.ts'), astToString(await openapiTS(document as never)));
      const incidentBody = resolve(document, document.paths['/api/v1/cases/{caseId}/incidents']?.['post']?.requestBody?.content['application/json']?.schema);
      const withIncident = incidentBody?.['properties'] !== undefined;
      const source = clientProgram(withIncident);
      await writeFile(path.join(dir, 'client.ts'), source);

      const program = ts.createProgram([path.join(dir, 'client.ts')], {
        strict: true,
        noEmit: true,
        noUncheckedIndexedAccess: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
        types: [],
        skipLibCheck: true,
      });
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(diagnostics).toEqual([]);

      const compiled = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
      await writeFile(path.join(dir, 'client.mjs'), compiled.outputText);
      const { happyPath } = (await import(pathToFileURL(path.join(dir, 'client.mjs')).href)) as {
        happyPath: (baseUrl: string, admin: { email: string; password: string }, memberEmail: string) => Promise<Record<string, unknown>>;
      };
      const member = await t.user('documenter');
      const result = await happyPath(baseUrl, ADMIN, member.email);
      expect(result).toMatchObject({
        caseTitle: 'Through the generated client',
        memberRole: 'documenter',
        listed: true,
        exportStatus: expect.stringMatching(/^(pending|running|ready)$/),
        proofVerifiesLeaf: true,
        ...(withIncident ? { incidentTitle: 'Strike reported through the client' } : {}),
      });
      expect(result['treeSize']).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * A capture-app developer's program: written against the generated types only. `incident`
 * adds the records step once the incident route documents its body.
 */
function clientProgram(incident: boolean): string {
  return `
import createClient from 'openapi-fetch';
import type { paths, components } from './schema';

type Case = components['schemas']['Case'];

function must<T>(answer: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (answer.data === undefined) throw new Error(what + ' answered ' + answer.response.status + ': ' + JSON.stringify(answer.error));
  return answer.data;
}

export async function happyPath(baseUrl: string, admin: { email: string; password: string }, memberEmail: string) {
  const client = createClient<paths>({ baseUrl });
  const login = must(await client.POST('/api/v1/auth/login', { body: { email: admin.email, password: admin.password } }), 'login');
  const role: 'admin' | 'investigator' | 'documenter' | 'auditor' = login.user.role;
  const headers = { Authorization: 'Bearer ' + login.accessToken };

  const created: Case = must(
    await client.POST('/api/v1/cases', { headers, body: { title: 'Through the generated client', description: 'made by ' + role } }),
    'createCase',
  );
  const member = must(
    await client.POST('/api/v1/cases/{caseId}/members', { headers, params: { path: { caseId: created.id } }, body: { email: memberEmail } }),
    'addCaseMember',
  );
  const cases = must(await client.GET('/api/v1/cases', { headers }), 'listCases');
  ${
    incident
      ? `const reported = must(
    await client.POST('/api/v1/cases/{caseId}/incidents', {
      headers,
      params: { path: { caseId: created.id } },
      body: { title: 'Strike reported through the client', type: 'air_drone_strike', startAt: '2026-11-20T01:40:00+02:00' },
    }),
    'createIncident',
  );
  const incidentTitle: string = reported.title;`
      : 'const incidentTitle = undefined;'
  }
  const exported = must(
    await client.POST('/api/v1/cases/{caseId}/exports', { headers, params: { path: { caseId: created.id } }, body: { purpose: 'court', note: 'for the client test' } }),
    'createExport',
  );
  const status: 'pending' | 'running' | 'ready' | 'failed' = exported.status;

  // The log's public face needs no token.
  let head = must(await client.GET('/api/v1/log/tree-head'), 'getTreeHead');
  for (let i = 0; i < 100 && head.treeSize < 2; i++) {
    await new Promise((r) => setTimeout(r, 50));
    head = must(await client.GET('/api/v1/log/tree-head'), 'getTreeHead');
  }
  const treeSize: number = head.treeSize;
  const proof = must(
    await client.GET('/api/v1/log/proofs/inclusion', { params: { query: { leafIndex: '0', treeSize: String(treeSize) } } }),
    'getInclusionProof',
  );
  const leaves = must(await client.GET('/api/v1/log/leaves', { params: { query: { start: '0', end: '0' } } }), 'listLogLeaves');
  const entries = must(await client.GET('/api/v1/log/entries', { headers, params: { query: { start: '0', end: '0' } } }), 'listLogEntries');
  const firstAction: string | undefined = entries[0]?.event?.action;

  return {
    caseTitle: created.title,
    memberRole: member.role,
    listed: cases.some((c) => c.id === created.id),
    incidentTitle,
    exportStatus: status,
    treeSize,
    proofVerifiesLeaf: proof.leafHash === leaves[0]?.leafHash && proof.auditPath.every((h) => /^[0-9a-f]{64}$/.test(h)) && firstAction === 'user.created',
  };
}
`;
}
