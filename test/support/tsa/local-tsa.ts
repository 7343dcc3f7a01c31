import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's OpenSSL configuration for the test authority (paths come from the environment). */
export const TSA_CONFIG = fileURLToPath(new URL('./tsa.cnf', import.meta.url));

/** Caps what the test server accepts, so a runaway client cannot fill the disk. */
const MAX_QUERY_BYTES = 64 * 1024;

export interface OpensslResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs `openssl` with `dir` as the authority's folder; rejects with stderr when it exits non-zero. */
export function openssl(args: string[], dir?: string): Promise<OpensslResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'openssl',
      args,
      {
        encoding: 'buffer',
        maxBuffer: 16 * 1024 * 1024,
        timeout: 30_000,
        env: { ...process.env, ...(dir ? { CUSTODIA_TEST_TSA_DIR: dir } : {}) },
      },
      (error, stdout, stderr) => {
        const err = stderr.toString('utf8');
        if (error) reject(new Error(`openssl ${args.join(' ')} failed: ${error.message}\n${err}`));
        else resolve({ stdout, stderr: err });
      },
    );
  });
}

/**
 * A test handler: takes over the reply to one query. Return true when it has answered `res`
 * itself, false to let OpenSSL answer as usual.
 */
export type Intercept = (query: Buffer, res: ServerResponse, tsa: LocalTsa) => Promise<boolean> | boolean;

export interface LocalTsa {
  /** http://127.0.0.1:<port>/tsr */
  url: string;
  /** The temporary folder with keys, certificates and the serial counter. */
  dir: string;
  /** The self-signed root, for `openssl ts -verify -CAfile`. */
  caPem: string;
  /** The authority's certificate (EKU critical timeStamping), for `-untrusted`. */
  tsaPem: string;
  /** Every query received, with its Content-Type and Authorization, oldest first. */
  received: { contentType: string | undefined; authorization: string | undefined; body: Buffer }[];
  /** Set by a test to answer differently; reset to undefined after it. */
  intercept: Intercept | undefined;
  /** What `openssl ts -reply` answers to `query` (a TimeStampResp, DER). */
  reply(query: Buffer): Promise<Buffer>;
  /** Writes `data` to a fresh file in `dir` and returns its path. */
  writeTemp(name: string, data: Buffer): Promise<string>;
  close(): Promise<void>;
}

/** The authority's key: OpenSSL 3.0's `ts -reply` signs through the PKCS#7 code, which cannot sign with Ed25519. */
export type TsaKey = 'P-256' | 'P-384' | 'RSA';

/** Makes a throw-away CA and an EKU-critical timeStamping certificate signed by it, in `dir`. */
async function makeCertificates(dir: string, key: TsaKey): Promise<void> {
  const cfg = ['-config', TSA_CONFIG];
  const ec = [...(key === 'RSA' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${key}`]), '-nodes'];
  const at = (name: string) => path.join(dir, name);
  await openssl(['req', '-x509', '-new', ...ec, '-keyout', at('ca.key'), '-out', at('ca.pem'), '-subj', '/CN=Custodia Test Root', '-days', '2', ...cfg, '-extensions', 'ca_ext'], dir);
  await openssl(['req', '-new', ...ec, '-keyout', at('tsa.key'), '-out', at('tsa.csr'), '-subj', '/CN=Custodia Test TSA', ...cfg], dir);
  await openssl(
    ['x509', '-req', '-in', at('tsa.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-set_serial', '0x' + randomBytes(8).toString('hex'), '-days', '2', '-extfile', TSA_CONFIG, '-extensions', 'tsa_ext', '-out', at('tsa.pem')],
    dir,
  );
  await writeFile(at('serial'), '01\n');
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > MAX_QUERY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Starts an RFC 3161 authority on 127.0.0.1 (random port) backed by `openssl ts -reply`,
 * with its own throw-away CA. Call close() to stop it and delete its folder.
 */
export async function startLocalTsa(key: TsaKey = 'P-256'): Promise<LocalTsa> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-tsa-'));
  await makeCertificates(dir, key);
  let fileCounter = 0;
  // `openssl ts -reply` reads and rewrites the serial file; two at once could issue one serial twice.
  let queue: Promise<unknown> = Promise.resolve();

  const writeTemp = async (name: string, data: Buffer): Promise<string> => {
    const file = path.join(dir, `${++fileCounter}-${name}`);
    await writeFile(file, data);
    return file;
  };

  const reply = (query: Buffer): Promise<Buffer> => {
    const run = queue.then(async () => {
      const queryFile = await writeTemp('query.tsq', query);
      const replyFile = queryFile.replace(/query\.tsq$/, 'reply.tsr');
      await openssl(['ts', '-reply', '-config', TSA_CONFIG, '-section', 'tsa_config', '-queryfile', queryFile, '-out', replyFile], dir);
      return readFile(replyFile);
    });
    queue = run.catch(() => undefined);
    return run;
  };

  const tsa: LocalTsa = {
    url: '',
    dir,
    caPem: path.join(dir, 'ca.pem'),
    tsaPem: path.join(dir, 'tsa.pem'),
    received: [],
    intercept: undefined,
    reply,
    writeTemp,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };

  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST') {
        res.writeHead(405, { Allow: 'POST' }).end();
        return;
      }
      const body = await readBody(req);
      if (body === null) {
        res.writeHead(413).end();
        return;
      }
      const contentType = req.headers['content-type'];
      tsa.received.push({ contentType, authorization: req.headers.authorization, body });
      if (tsa.intercept && (await tsa.intercept(body, res, tsa))) return;
      if (contentType !== 'application/timestamp-query') {
        res.writeHead(415).end();
        return;
      }
      const answer = await reply(body);
      res.writeHead(200, { 'Content-Type': 'application/timestamp-reply', 'Content-Length': answer.length }).end(answer);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  tsa.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsr`;
  return tsa;
}
