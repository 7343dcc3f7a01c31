import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY, type Purpose, type Role } from '../libs/auth/src/index.js';
import { SYSTEM_ACTOR } from '../libs/custody-core/src/index.js';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { multipart, quietState, submissionParts } from './support/evidence.js';
import { operationsOf, resolve, servedDocument, type DocumentedOperation, type OpenApiDocument, type Schema } from './support/openapi.js';
import { BODIES, buildWorld, fillPath, QUERIES, type World } from './support/world.js';

/**
 * Hostile input on every operation of the OpenAPI document, by a caller the policy lets through
 * (so the input reaches the handler, not only the guard): each path parameter, each documented
 * query parameter and each top-level field of each JSON body in turn replaced by values a
 * careless or malicious client sends. Every answer must be below 500, every refusal a problem
 * (api.md, "Errors") that stored nothing, and the server must go on serving. Written from the
 * document, so a new operation or field is covered without being listed here.
 */

/** Path segments, as sent (already percent-encoded where needed). */
const SEGMENTS = [
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  '%ZZ', // a malformed percent-escape
  '%C0%AF', // an overlong UTF-8 slash
  '%ED%A0%80', // a UTF-16 surrogate in UTF-8
  "'%20OR%201%3D1--",
  '-1',
  '1e309',
  '9'.repeat(40),
  'x'.repeat(3000),
  '00000000-0000-0000-0000-000000000000',
  '%F0%9F%92%A5',
];

/** A page cursor's shape (base64url JSON of an instant in microseconds and an id) around an instant PostgreSQL cannot hold. */
const cursorAt = (us: string): string => Buffer.from(JSON.stringify([us, '00000000-0000-0000-0000-000000000000'])).toString('base64url');

/** Query values, as sent. */
const QUERY_VALUES = [
  '',
  '-1',
  'NaN',
  '1e309',
  '9'.repeat(40),
  'x'.repeat(5000),
  '%00',
  '%ZZ',
  '%ED%A0%80',
  "'--",
  '[]',
  '{}',
  '2026-13-45T99:99:99Z',
  // An outside audit: cursors like these answered 500 (bigint, interval and timestamp out of range).
  cursorAt('9223372036854775807'),
  cursorAt('-9223372036854775808'),
  cursorAt('9999999999999999999'),
  cursorAt('999999999999999999'),
];

/** JSON values for a body's field, as JSON text (some are not what JSON.stringify would write). */
const FIELD_VALUES = [
  'null',
  'true',
  '0',
  '-1',
  '1e400', // Infinity once parsed
  '123456789012345678901234567890',
  '""',
  '" "',
  JSON.stringify('x'.repeat(20_000)),
  '"\\u0000"',
  '"\\ud800"', // a lone surrogate
  '"\\u202e\\u0000<script>"',
  '[]',
  '[null]',
  '{}',
  '{"__proto__":{"admin":true}}',
  '"2026-02-30T25:61:00Z"',
  '"00000000-0000-0000-0000-000000000000"',
  `${'['.repeat(2000)}${']'.repeat(2000)}`,
];

/** Whole bodies, as sent. */
const BODY_TEXTS = ['[]', '"text"', 'null', '{"__proto__":{"admin":true}}', `${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`, '\ufeff{}'];

/** Tables whose rows a refusal must leave as they were (heads, nodes and login failures change on their own). */
const COUNTED = [
  'access_tokens',
  'case_members',
  'cases',
  'casualties',
  'damage_records',
  'evidence_items',
  'exports',
  'incidents',
  'remnant_transfers',
  'remnants',
  'uploads',
  'users',
  'vocabulary_terms',
];

/** The roles tried, in order, for the caller of an operation: the first the policy lets through. */
const PREFERRED: Role[] = ['investigator', 'admin', 'documenter', 'auditor'];

interface Attempt {
  what: string;
  method: string;
  url: string;
  /** A JSON body, or a multipart one with its content type. */
  body?: string | { body: Buffer; contentType: string };
  user: TestUser | null;
}

describe('hostile input on every operation, from the OpenAPI document (e2e)', () => {
  let t: TestApp;
  let document: OpenApiDocument;
  let world: World;
  /** One connection for the counts taken around every attempt (a connection each would cost more than the attempts). */
  let counter: pg.Client;

  beforeAll(async () => {
    t = await startTestApp();
    counter = new pg.Client({ connectionString: t.db.url });
    await counter.connect();
    document = await servedDocument(t);
    world = await buildWorld(t);
    // Derivative jobs write custody events of their own: done before anything is counted.
    await quietState(t);
  });
  afterAll(async () => {
    await counter?.end();
    await t?.close();
  });

  /**
   * Every row of the counted tables and every custody event an attempt may have caused, queued or
   * integrated: not the archive's own (derivatives) nor those of export packages that earlier
   * attempts asked for, which the worker records while it packs (the seal) and when a package is done.
   */
  const stored = async (): Promise<string> => {
    const later = `('export.sealed', 'export.created', 'evidence.exported')`;
    const counts = [
      ...COUNTED.map((table) => `(SELECT count(*) FROM ${table})`),
      `(SELECT count(*) FROM custody_queue WHERE entry::jsonb -> 'actor' ->> 'id' <> '${SYSTEM_ACTOR.id}' AND entry::jsonb ->> 'action' NOT IN ${later})
       + (SELECT count(*) FROM custody_events WHERE actor_id IS NOT NULL AND action NOT IN ${later})`,
    ];
    const { rows } = await counter.query<{ counts: string }>(`SELECT concat_ws(',', ${counts.join(', ')}) AS counts`);
    return rows[0]!.counts;
  };

  const callerOf = (operation: DocumentedOperation['operation']): TestUser | null => {
    const purpose = operation['x-custodia-purpose'] as Purpose | undefined;
    if (!purpose) return world.members.investigator;
    const role = PREFERRED.find((r) => POLICY[r][purpose] !== 'none');
    return role ? world.members[role] : null;
  };

  /** The top-level fields of a body's schema, through `$ref`s and `allOf`. */
  const fieldsOf = (schema: Schema | undefined): string[] => {
    const resolved = resolve(document, schema) as { properties?: Record<string, Schema>; allOf?: Schema[] } | undefined;
    return [...Object.keys(resolved?.properties ?? {}), ...(resolved?.allOf ?? []).flatMap(fieldsOf)];
  };

  /** The attempts on one operation: each hostile value in each place, one place at a time. */
  const attemptsOn = ({ key, method, path, operation }: DocumentedOperation): Attempt[] => {
    const id = operation.operationId!;
    const user = callerOf(operation);
    const url = fillPath(world.fixtures, path);
    const query = QUERIES[id] ? `?${QUERIES[id]}` : '';
    const attempts: Attempt[] = [];
    const base = BODIES[id]?.(world.fixtures) ?? {};
    const json = operation.requestBody?.content['application/json'] !== undefined;
    const validBody = json ? JSON.stringify(base) : undefined;
    // Each path parameter: the filled path with one of its id segments replaced.
    const filled = url.split('/');
    path.split('/').forEach((segment, at) => {
      if (!segment.startsWith('{')) return;
      for (const value of SEGMENTS) {
        const hostile = [...filled];
        hostile[at] = value;
        attempts.push({ what: `${key} with ${segment} = ${value.slice(0, 40)}`, method, url: hostile.join('/') + query, body: validBody, user });
      }
    });
    // Each documented query parameter.
    for (const parameter of operation.parameters ?? []) {
      if (parameter.in !== 'query') continue;
      for (const value of QUERY_VALUES) {
        const params = new URLSearchParams(QUERIES[id] ?? '');
        params.delete(parameter.name);
        const rest = params.toString();
        const sent = `${encodeURIComponent(parameter.name)}=${value}`;
        attempts.push({ what: `${key} with ?${parameter.name}=${value.slice(0, 40)}`, method, url: `${url}?${rest ? `${rest}&` : ''}${sent}`, body: validBody, user });
      }
      // Repeated: an array where one value is expected.
      attempts.push({ what: `${key} with ?${parameter.name} twice`, method, url: `${url}?${QUERIES[id] ? `${QUERIES[id]}&` : ''}${parameter.name}=1&${parameter.name}=2`, body: validBody, user });
    }
    // Each top-level field of a JSON body, and whole bodies of the wrong shape.
    if (json) {
      const fields = new Set([...fieldsOf(operation.requestBody!.content['application/json']!.schema), ...Object.keys(base)]);
      for (const field of fields) {
        for (const value of FIELD_VALUES) {
          const rest = Object.entries(base).filter(([name]) => name !== field);
          const text = `{${[...rest.map(([name, v]) => `${JSON.stringify(name)}:${JSON.stringify(v)}`), `${JSON.stringify(field)}:${value}`].join(',')}}`;
          attempts.push({ what: `${key} with ${field} = ${value.slice(0, 40)}`, method, url: url + query, body: text, user });
        }
      }
      for (const text of BODY_TEXTS) attempts.push({ what: `${key} with the body ${text.slice(0, 40)}`, method, url: url + query, body: text, user });
    }
    // A multipart submission: each field of its metadata part, with a real file beside it.
    const form = operation.requestBody?.content['multipart/form-data'];
    if (form) {
      const parts = resolve(document, form.schema) as { properties?: Record<string, Schema> } | undefined;
      for (const field of fieldsOf(parts?.properties?.['metadata'])) {
        for (const value of FIELD_VALUES) {
          const body = multipart(submissionParts(randomBytes(64), { metadata: `{${JSON.stringify(field)}:${value}}` }));
          attempts.push({ what: `${key} (multipart) with metadata.${field} = ${value.slice(0, 40)}`, method, url: url + query, body, user });
        }
      }
      for (const text of BODY_TEXTS) {
        attempts.push({ what: `${key} (multipart) with the metadata ${text.slice(0, 40)}`, method, url: url + query, body: multipart(submissionParts(randomBytes(64), { metadata: text })), user });
      }
    }
    return attempts;
  };

  it('serves nothing from outside the console for hostile paths, and answers them below 500', async () => {
    const paths = [
      '/%ZZ',
      '/%00',
      '/..%2F..%2Fpackage.json',
      '/assets/..%2F..%2F..%2Fpackage.json',
      '/assets/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/cases/%ED%A0%80',
      '/.env',
      '/index.html%00.js',
      `/${'a/'.repeat(2000)}`,
      '/api/v1/%ZZ',
      '/api/v1/cases/%2e%2e%2fusers',
    ];
    for (const path of paths) {
      const res = await t.http.get(path);
      expect(res.status, path).toBeLessThan(500);
      expect(res.text ?? '', path).not.toContain('"name": "custodia"');
    }
  });

  it('answers every attempt below 500, each refusal a problem that stored nothing, and goes on serving', async () => {
    const wrong: string[] = [];
    let refused = 0;
    let sent = 0;
    let forms = 0;
    for (const operation of operationsOf(document)) {
      // Logging out ends the caller's own session: the role matrix calls it; here it would
      // take the caller's token away from the operations after it.
      if (operation.operation.operationId === 'logout') continue;
      // What is stored before each attempt: after a refusal it must be what it was before it.
      let before = await stored();
      for (const attempt of attemptsOn(operation)) {
        let req = t.http[attempt.method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete' | 'head' | 'options'](attempt.url).set('Tus-Resumable', '1.0.0');
        if (attempt.user) req = req.auth(attempt.user.token, { type: 'bearer' });
        const { body } = attempt;
        if (body !== undefined) req = req.set('Content-Type', typeof body === 'string' ? 'application/json' : body.contentType);
        const res = await (body === undefined ? req : req.send(typeof body === 'string' ? body : body.body));
        sent++;
        if (body !== undefined && typeof body !== 'string') forms++;
        const where = `${attempt.what}: ${res.status} ${JSON.stringify(res.body ?? res.text).slice(0, 200)}`;
        if (res.status >= 500) wrong.push(where);
        if (res.status < 400 || res.status >= 500) {
          before = await stored();
          continue;
        }
        refused++;
        // A HEAD answer has no body to hold a problem.
        if (attempt.method !== 'HEAD') {
          if (!String(res.headers['content-type']).startsWith('application/problem+json')) wrong.push(`${where} (not a problem)`);
          else if (res.body.status !== res.status || typeof res.body.detail !== 'string' || !res.body.detail) wrong.push(`${where} (a problem without its status or detail)`);
        }
        const after = await stored();
        if (after !== before) wrong.push(`${where} (refused, yet stored: ${before} -> ${after})`);
        before = after;
      }
    }
    expect(wrong).toEqual([]);
    // The sweep reached the handlers: most attempts are refusals, and there were many.
    expect(sent).toBeGreaterThan(1000);
    expect(forms).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(sent / 2);
    expect((await t.http.get('/api/v1/health')).status).toBe(200);
    expect((await t.http.get(`/api/v1/cases/${world.fixtures.caseId}`).auth(world.members.investigator.token, { type: 'bearer' })).status).toBe(200);
  }, 900_000);
});
