// Helpers for the evidence end-to-end specs: hand-built multipart bodies (so that every byte of
// a hostile upload is the test's choice), fixture files, the store's state on disk, and waiting
// for the background derivative job.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type request from 'supertest';
import { expect } from 'vitest';
import type { TestApp, TestUser } from './app.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/media/', import.meta.url));

/** The bytes of a committed media fixture (see test/fixtures/media/README.md). */
export function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

/**
 * An Ogg Theora video as a sniffer sees it (its first page's packet starts "\x80theora"), then
 * noise: a video format the archive stores and does not draw.
 */
export const oggTheora = (): Buffer =>
  Buffer.concat([Buffer.from('OggS\x00\x02', 'latin1'), Buffer.alloc(20), Buffer.from([1, 0x2a]), Buffer.from('\x80theora', 'latin1'), randomBytes(192)]);

export const sha256hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
export const sha256base64 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64');

export interface Part {
  name: string;
  value: string | Buffer;
  filename?: string;
  contentType?: string;
  /** Replaces the whole Content-Disposition value (for hand-written filename* parameters). */
  disposition?: string;
}

/** A multipart/form-data body written byte by byte; filenames go in as given (no escaping). */
export function multipart(parts: Part[], boundary = `----custodia-test-${randomBytes(8).toString('hex')}`): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: `;
    if (part.disposition !== undefined) head += part.disposition;
    else {
      head += `form-data; name="${part.name}"`;
      if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    }
    head += '\r\n';
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    head += '\r\n';
    chunks.push(Buffer.from(head, 'utf8'), Buffer.isBuffer(part.value) ? part.value : Buffer.from(part.value, 'utf8'), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface SubmitOptions {
  /** An object is sent as JSON; a string as is; null leaves the part out. */
  metadata?: Record<string, unknown> | string | null;
  filename?: string;
  contentType?: string;
  /** Send the metadata part after the file part. */
  metadataLast?: boolean;
}

/** The parts of a submission: `metadata` (JSON) and `file`. */
export function submissionParts(file: Buffer, opts: SubmitOptions = {}): Part[] {
  const parts: Part[] = [];
  const meta = opts.metadata === undefined ? {} : opts.metadata;
  const metaPart: Part | null = meta === null ? null : { name: 'metadata', value: typeof meta === 'string' ? meta : JSON.stringify(meta) };
  if (metaPart && !opts.metadataLast) parts.push(metaPart);
  parts.push({ name: 'file', value: file, filename: opts.filename ?? 'upload.bin', contentType: opts.contentType ?? 'application/octet-stream' });
  if (metaPart && opts.metadataLast) parts.push(metaPart);
  return parts;
}

export const bearer = (user: TestUser): string => `Bearer ${user.token}`;

/** POST /cases/:caseId/evidence with a hand-built multipart body. */
export function submit(t: TestApp, user: TestUser | null, caseId: string, file: Buffer, opts: SubmitOptions = {}): request.Test {
  const { body, contentType } = multipart(submissionParts(file, opts));
  const req = t.http.post(`/api/v1/cases/${caseId}/evidence`).set('Content-Type', contentType);
  if (user) req.set('Authorization', bearer(user));
  return req.send(body);
}

/** Collects a response body as a Buffer whatever its type (for downloads and images): `.buffer(true).parse(binary)`. */
export const binary = ((res: NodeJS.ReadableStream, done: (error: Error | null, body: Buffer) => void): void => {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => done(null, Buffer.concat(chunks)));
  res.on('error', (error: Error) => done(error, Buffer.alloc(0)));
}) as unknown as (res: request.Response, callback: (err: Error | null, body: unknown) => void) => void;

/** Creates a case as `owner` and adds `members` to it; returns its id. */
export async function createCase(t: TestApp, owner: TestUser, title: string, members: TestUser[] = []): Promise<string> {
  const res = await t.http.post('/api/v1/cases').set('Authorization', bearer(owner)).send({ title });
  expect(res.status).toBe(201);
  for (const member of members) {
    const added = await t.http.post(`/api/v1/cases/${res.body.id}/members`).set('Authorization', bearer(owner)).send({ userId: member.id });
    expect(added.status).toBe(201);
  }
  return res.body.id;
}

/** Polls GET /evidence/:id until the derivative job has finished (done or failed). */
export async function waitProcessed(t: TestApp, user: TestUser, id: string, timeoutMs = 30_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.http.get(`/api/v1/evidence/${id}`).set('Authorization', bearer(user));
    expect(res.status).toBe(200);
    if (res.body.processing === 'done' || res.body.processing === 'failed') return res.body;
    if (Date.now() > deadline) throw new Error(`evidence ${id} still "${res.body.processing}" after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** What the archive holds: evidence rows, custody leaves, stored blobs and temporary uploads. */
export interface StoreState {
  rows: number;
  leaves: number;
  blobs: string[];
  temporary: string[];
  /** Every file anywhere in the data folder, relative to it. */
  dataFiles: string[];
}

/** Waits until no derivative job is pending (they write blobs and custody events), then takes the store's state. */
export async function quietState(t: TestApp, timeoutMs = 30_000): Promise<StoreState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ pending }] = await t.db.superuserQuery<{ pending: string }>(
      `SELECT count(*)::text AS pending FROM evidence_items WHERE processing = 'pending'`,
    );
    if (pending === '0') return storeState(t);
    if (Date.now() > deadline) throw new Error(`${pending} evidence items still pending after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export async function storeState(t: TestApp): Promise<StoreState> {
  // The log as it stands once every committed event is integrated.
  await t.logged();
  const [{ count }] = await t.db.superuserQuery<{ count: string }>(`SELECT count(*)::text AS count FROM evidence_items`);
  const [{ leaves }] = await t.db.superuserQuery<{ leaves: string }>(`SELECT count(*)::text AS leaves FROM custody_events`);
  const blobsDir = path.join(t.config.dataDir, 'blobs');
  const blobs = (await filesUnder(blobsDir)).filter((f) => !f.startsWith(`tmp${path.sep}`));
  return {
    rows: Number(count),
    leaves: Number(leaves),
    blobs,
    temporary: await filesUnder(path.join(blobsDir, 'tmp')),
    dataFiles: await filesUnder(t.config.dataDir),
  };
}

/**
 * Nothing of a refused upload remains: no evidence row, no custody event, no new blob, no
 * temporary file. Polls for up to `waitMs` (a disconnect is noticed asynchronously).
 */
export async function expectNothingStored(t: TestApp, before: StoreState, waitMs = 0): Promise<void> {
  const deadline = Date.now() + waitMs;
  let now = await storeState(t);
  while (Date.now() < deadline && (now.rows !== before.rows || now.temporary.length > 0 || now.blobs.length !== before.blobs.length)) {
    await sleep(50);
    now = await storeState(t);
  }
  expect({ rows: now.rows, leaves: now.leaves, blobs: now.blobs, temporary: now.temporary }).toEqual({
    rows: before.rows,
    leaves: before.leaves,
    blobs: before.blobs,
    temporary: [],
  });
}

/** Makes the app's HTTP server listen on a loopback port (supertest then reuses it) and returns the port. */
export async function listen(t: TestApp): Promise<number> {
  const server = t.app.getHttpServer() as http.Server;
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The request body could not be written in full (the server stopped reading). */
  writeError: string | null;
}

/**
 * A POST over node:http that resolves with the answer even when the server answers before the
 * body is sent and then closes the connection (supertest would report the EPIPE instead).
 */
export function rawPost(port: number, pathname: string, headers: Record<string, string>, body: Buffer, timeoutMs = 20_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let writeError: string | null = null;
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: pathname, headers: { ...headers, 'Content-Length': String(body.length) }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), writeError });
        });
        res.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      // EPIPE/ECONNRESET while writing are expected when the server refuses early; the answer may
      // still arrive. Give it a moment before giving up.
      writeError = error.code ?? error.message;
    });
    req.end(body);
  });
}

/** Pixel (r, g, b) at x, y of an encoded image, and its size. */
export async function pixels(image: Buffer): Promise<{ width: number; height: number; at(x: number, y: number): [number, number, number] }> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    at(x, y) {
      const i = (y * info.width + x) * info.channels;
      return [data[i]!, data[i + 1]!, data[i + 2]!];
    },
  };
}
