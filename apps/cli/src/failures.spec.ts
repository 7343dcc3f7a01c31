import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileOnDisk, TUS_FILE_OPTIONS } from '#custodia/bulk-upload';
import { fileProblem, reportingFetch, UnreachableError, uploadFailure } from './failures.js';
import { closedPort } from './test-support/closed-port.js';

const listening = async <T extends http.Server | https.Server>(server: T): Promise<{ server: T; url: string }> => {
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, url: `${server instanceof https.Server ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

describe('reportingFetch: a request that got no answer, said with where and why', () => {
  const reporting = reportingFetch(fetch, 'CUSTODIA_URL');
  const failure = async (url: string, init?: RequestInit): Promise<Error> => reporting(url, init).then(() => new Error('answered'), (error: Error) => error);
  let dir: string;
  const servers: http.Server[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-cli-failures-'));
  });
  afterAll(async () => {
    for (const server of servers) server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('names the address and "connection refused" where nothing listens, with what to look at', async () => {
    const port = await closedPort();
    const error = await failure(`http://127.0.0.1:${port}/api/v1/cases/x`);
    expect(error).toBeInstanceOf(UnreachableError);
    expect(error.message).toBe(`could not reach http://127.0.0.1:${port} (connection refused): is the archive running, and is CUSTODIA_URL right?`);
    const against = await reportingFetch(fetch, 'the --against address')(new URL(`http://127.0.0.1:${port}/`)).then(() => new Error('answered'), (e: Error) => e);
    expect(against.message).toMatch(/is the --against address right\?$/);
  });

  it('says a host name that does not resolve', async () => {
    expect((await failure('http://no-such-archive.invalid/api/v1')).message).toMatch(
      /^could not reach http:\/\/no-such-archive\.invalid \((no such host|its name could not be looked up)\): .*CUSTODIA_URL right\?$/,
    );
  });

  it("says a certificate this computer does not trust, and where a private authority's goes", async () => {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const { server, url } = await listening(https.createServer({ key: await readFile(key), cert: await readFile(cert) }, (_, res) => res.end('{}')));
    servers.push(server);
    expect((await failure(`${url}/api/v1`)).message).toBe(
      `could not reach ${url} (its certificate is refused: self-signed certificate): is CUSTODIA_URL right, and does this computer trust the certificate's issuer (a private one goes in NODE_EXTRA_CA_CERTS)?`,
    );
    // https where the archive speaks http:
    const plain = await listening(http.createServer((_, res) => res.end('{}')));
    servers.push(plain.server);
    expect((await failure(`${plain.url.replace('http:', 'https:')}/api/v1`)).message).toMatch(/\(it does not speak TLS there\): does CUSTODIA_URL say https where the archive speaks http\?$/);
  });

  it('says a connection closed before an answer, no answer in time, and a redirect not followed', async () => {
    const { server, url } = await listening(
      http.createServer((req, res) => {
        if (req.url === '/hang-up') req.socket.destroy();
        else if (req.url === '/redirect') res.writeHead(302, { Location: '/elsewhere' }).end();
        // Else no answer at all.
      }),
    );
    servers.push(server);
    expect((await failure(`${url}/hang-up`)).message).toMatch(/\(the connection was closed before an answer\): is the archive running/);
    expect((await failure(`${url}/silent`, { signal: AbortSignal.timeout(200) })).message).toBe(`could not reach ${url} (no answer in time): is the archive running, and is CUSTODIA_URL right?`);
    expect((await failure(`${url}/redirect`, { redirect: 'error' })).message).toMatch(/\(it answered with a redirect, which is not followed\): is CUSTODIA_URL right\?$/);
  });

  it('passes every answer, and every failure that is not a network one, through as it is', async () => {
    const { server, url } = await listening(http.createServer((_, res) => res.writeHead(503).end('down')));
    servers.push(server);
    expect((await reporting(`${url}/`)).status).toBe(503);
    const aborted = new AbortController();
    aborted.abort(new Error('the run was stopped'));
    expect((await failure(`${url}/`, { signal: aborted.signal })).message).toBe('the run was stopped');
    expect(await failure('not a url')).not.toBeInstanceOf(UnreachableError);
  });

  it("rewords tus-js-client's failure of a request that got no answer, and leaves its other failures alone", async () => {
    const port = await closedPort();
    const file = path.join(dir, 'photo.jpg');
    await writeFile(file, 'bytes');
    const tusFailure = await new Promise<string>((resolve) => {
      const upload = new tus.Upload(fileOnDisk(file), {
        ...TUS_FILE_OPTIONS,
        endpoint: `http://127.0.0.1:${port}/api/v1/uploads`,
        uploadSize: 5,
        retryDelays: [],
        onError: (error) => resolve(error.message),
        onSuccess: () => resolve('sent'),
      });
      upload.start();
    });
    expect(tusFailure).toMatch(/ECONNREFUSED/);
    expect(uploadFailure(tusFailure, 'CUSTODIA_URL')).toBe(`could not reach http://127.0.0.1:${port} (connection refused): is the archive running, and is CUSTODIA_URL right?`);
    const answered = 'tus: unexpected response while creating upload, originated from request (method: POST, url: http://a/api/v1/uploads, response code: 413, response text: too large, request id: n/a)';
    expect(uploadFailure(answered, 'CUSTODIA_URL')).toBe(answered);
    const foreign =
      'tus: failed to upload chunk, caused by Error: the archive sent an upload address on another host (http://b): not followed, originated from request (method: PATCH, url: http://b/x, response code: n/a, response text: n/a, request id: n/a)';
    expect(uploadFailure(foreign, 'CUSTODIA_URL')).toBe(foreign);
  });
});

describe('fileProblem', () => {
  it('says why a file cannot be read in words', async () => {
    const problem = async (file: string) => fileProblem(await readFile(file).catch((error: unknown) => error));
    expect(await problem('/nonexistent')).toBe('no such file');
    expect(await problem(os.tmpdir())).toBe('it is a folder');
  });
});
