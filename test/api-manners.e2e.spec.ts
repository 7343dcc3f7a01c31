import { Reflector } from '@nestjs/core';
import { CONTROLLERS } from '../apps/api/src/app.module.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BLOB_STORE } from '../libs/evidence/src/index.js';
import type { BlobStore } from '../libs/storage/src/index.js';
import { accessRuleOf } from '../libs/auth/src/index.js';
import { expectProblem, startTestApp, type TestApp } from './support/app.js';

describe('the API\'s manners (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_MAX_JSON_BYTES: '4096' });
  });
  afterAll(async () => t?.close());

  it('GET /health and /health/ready answer without a token', async () => {
    expect((await t.http.get('/api/v1/health')).body).toEqual({ status: 'ok' });
    const ready = await t.http.get('/api/v1/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
  });

  it('GET /health/ready tries the blob store at most once every 2 s however often it is asked, and answers 503 once the store stops taking writes', async () => {
    const pause = () => new Promise((resolve) => setTimeout(resolve, 2100));
    const check = vi.spyOn(t.app.get<BlobStore>(BLOB_STORE), 'check');
    try {
      await pause();
      const answers = await Promise.all(Array.from({ length: 20 }, () => t.http.get('/api/v1/health/ready')));
      expect(answers.map((res) => res.status)).toEqual(Array(20).fill(200));
      expect(check).toHaveBeenCalledTimes(1);
      check.mockRejectedValue(new Error('EROFS: read-only file system'));
      await pause();
      const down = expectProblem(await t.http.get('/api/v1/health/ready'), 503);
      expect(down.detail).toMatch(/the blob store does not take writes/);
      expect(down.detail).not.toMatch(/EROFS/);
      check.mockRestore();
      await pause();
      expect((await t.http.get('/api/v1/health/ready')).status).toBe(200);
    } finally {
      check.mockRestore();
    }
  });

  it('every route of every controller declares who may call it', () => {
    const reflector = new Reflector();
    const undeclared: string[] = [];
    let routes = 0;
    for (const controller of CONTROLLERS) {
      const prototype = controller.prototype as unknown as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (name === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata('path', handler) === undefined) continue;
        routes++;
        if (!accessRuleOf(reflector, handler, controller)) undeclared.push(`${controller.name}.${name}`);
      }
    }
    expect(routes).toBeGreaterThan(10);
    expect(undeclared).toEqual([]);
  });

  it('every declared route refuses a missing, malformed, expired or revoked token with 401', async () => {
    const reflector = new Reflector();
    // Nest's RequestMethod: GET 0, POST 1, PUT 2, DELETE 3, PATCH 4, ALL 5, OPTIONS 6, HEAD 7.
    const methods = ['get', 'post', 'put', 'delete', 'patch', null, 'options', 'head'] as const;
    const expired = await t.user('investigator');
    await t.db.superuserQuery(`UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [expired.id]);
    const revoked = await t.user('investigator');
    await t.http.post('/api/v1/auth/logout').auth(revoked.token, { type: 'bearer' });
    let checked = 0;
    for (const controller of CONTROLLERS) {
      const base = String(Reflect.getMetadata('path', controller) ?? '');
      const prototype = controller.prototype as unknown as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const routePath = Reflect.getMetadata('path', handler);
        // Public routes, and the log's public face (open by default, see log.e2e), take no token.
        if (routePath === undefined || ['public', 'public-log'].includes(accessRuleOf(reflector, handler, controller)?.kind ?? '')) continue;
        const method = methods[Reflect.getMetadata('method', handler) as number];
        if (!method) throw new Error(`${controller.name}.${name}: a route for every method; name its methods`);
        const url = `/api/v1/${[base, routePath].filter((p) => p && p !== '/').join('/')}`.replace(/:[A-Za-z]+/g, '00000000-0000-4000-8000-000000000000');
        for (const token of [null, 'cst_not-a-token', expired.token, revoked.token]) {
          const req = t.http[method](url);
          const res = await (token ? req.set('Authorization', `Bearer ${token}`) : req);
          // A HEAD answer has no body to carry the problem.
          if (method === 'head') expect(res.status).toBe(401);
          else expectProblem(res, 401);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('reads the Authorization header as RFC 9110 writes it: the scheme in any case, one or more spaces', async () => {
    const token = t.admin.token;
    for (const header of [`Bearer ${token}`, `bearer ${token}`, `BEARER  ${token}`, `Bearer ${token} `]) {
      expect((await t.http.get('/api/v1/cases').set('Authorization', header)).status, header).toBe(200);
    }
    for (const header of ['Bearer', 'Bearer ', `Basic ${token}`, `Bearer ${token} extra`, `Bearer\t${token}`, token]) {
      expectProblem(await t.http.get('/api/v1/cases').set('Authorization', header), 401);
    }
  });

  it('unknown routes are 404 problems', async () => {
    expectProblem(await t.http.get('/api/v1/nothing-here'), 404);
    expectProblem(await t.http.get('/etc/passwd'), 404);
  });

  it('malformed JSON is a 400 problem and the server keeps serving', async () => {
    const res = await t.http.post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"email": "a@b.c", ');
    expectProblem(res, 400);
    expect((await t.http.get('/api/v1/health')).status).toBe(200);
  });

  it('a body that is not an object is a 400 problem', async () => {
    expectProblem(await t.http.post('/api/v1/auth/login').set('Content-Type', 'application/json').send('[1,2]'), 400);
    expectProblem(await t.http.post('/api/v1/auth/login').set('Content-Type', 'application/json').send('"x"'), 400);
  });

  it('a body over the limit is a 413 problem', async () => {
    const res = await t.http.post('/api/v1/auth/login').send({ email: 'a@b.c', password: 'x'.repeat(10_000) });
    expectProblem(res, 413);
  });

  it('a body of another media type is a 415 problem', async () => {
    const res = await t.http.post('/api/v1/auth/login').set('Content-Type', 'text/plain').send('email=a&password=b');
    expectProblem(res, 415);
    const form = await t.http.post('/api/v1/cases').auth(t.admin.token, { type: 'bearer' }).type('form').send({ title: 'x' });
    expectProblem(form, 415);
  });

  it('sends security headers and no x-powered-by', async () => {
    const res = await t.http.get('/api/v1/health');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['content-security-policy']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    // No cache keeps an answer (names, positions), and none is offered a validator to keep it by.
    const user = await t.user('investigator');
    for (const path of ['/api/v1/health', '/api/v1/cases', '/api/v1/auth/me']) {
      const answer = await t.http.get(path).set('Authorization', `Bearer ${user.token}`);
      expect(answer.headers['cache-control'], path).toBe('no-store');
      expect(answer.headers['etag'], path).toBeUndefined();
    }
  });

  it('logs one line per request with its id, method, path without the query, status, time and user, and no header', async () => {
    const created = await t.http.post('/api/v1/cases').auth(t.admin.token, { type: 'bearer' }).send({ title: 'request log' }).expect(201);
    const before = t.logText().length;
    const res = await t.http.get(`/api/v1/cases/${created.body.id}/evidence?q=Kharkiv%2050.0,36.2`).auth(t.admin.token, { type: 'bearer' });
    expect(res.status).toBe(200);
    const id = res.headers['x-request-id'];
    // The line is written when the answer's connection side closes: wait for it.
    let line: Record<string, unknown> | undefined;
    for (let tries = 0; !line && tries < 50; tries++) {
      line = t
        .logText()
        .slice(before)
        .split('\n')
        .filter(Boolean)
        .map((text) => JSON.parse(text) as Record<string, unknown>)
        .find((entry) => (entry.req as { id?: string } | undefined)?.id === id);
      if (!line) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(line).toMatchObject({
      component: 'http',
      msg: 'request completed',
      req: { id, method: 'GET', path: `/api/v1/cases/${created.body.id}/evidence` },
      res: { statusCode: 200 },
      userId: t.admin.id,
    });
    expect(typeof line!.responseTime).toBe('number');
    const text = JSON.stringify(line);
    expect(text).not.toContain('Kharkiv');
    expect(text).not.toContain(t.admin.token);
    expect(text.toLowerCase()).not.toContain('authorization');
  });

  it('serves the OpenAPI document generated from the code, with the contract\'s paths', async () => {
    const res = await t.http.get('/api/docs-json');
    expect(res.status).toBe(200);
    const paths = Object.keys(res.body.paths);
    for (const path of [
      '/api/v1/health',
      '/api/v1/health/ready',
      '/api/v1/auth/login',
      '/api/v1/auth/tokens',
      '/api/v1/auth/tokens/{id}',
      '/api/v1/users',
      '/api/v1/cases',
      '/api/v1/cases/{caseId}',
      '/api/v1/cases/{caseId}/members',
      '/api/v1/cases/{caseId}/members/{userId}',
    ]) {
      expect(paths).toContain(path);
    }
    expect(res.body.components.schemas.CreateUserBody.required).toEqual(expect.arrayContaining(['email', 'password', 'role']));
    const ui = await t.http.get('/api/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });

  it('when its database connections are cut, the app answers with problems (no internals) and recovers', async () => {
    // Another connection terminates every connection of this app's pool.
    await t.db.superuserQuery(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    const res = await t.http.get('/api/v1/cases').auth(t.admin.token, { type: 'bearer' });
    // The pool notices dead connections and reconnects: either it answers or it says to send again.
    if (res.status !== 200) {
      expectProblem(res, 503);
      expect(res.headers['retry-after']).toBe('1');
    }
    // Recovered: the pool drops each dead connection as it learns of it (the server's notice, or
    // the next use), so a request just after the cut may still meet one and be told to retry (503);
    // within a few seconds everything is answered again.
    const deadline = Date.now() + 10_000;
    let ready = await t.http.get('/api/v1/health/ready');
    while (ready.status !== 200 && Date.now() < deadline) {
      expect(ready.status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 100));
      ready = await t.http.get('/api/v1/health/ready');
    }
    expect(ready.status).toBe(200);
    expect((await t.http.get('/api/v1/cases').auth(t.admin.token, { type: 'bearer' })).status).toBe(200);
  });
});
