import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

/** A real S3 server (s3rver) in this process, on a free loopback port, over a temporary folder. */
export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** The folder s3rver keeps its buckets in. */
  directory: string;
  /** Where s3rver keeps the bytes of `key` in `bucket` on disk (its own layout). */
  objectFile(key: string): string;
  /** CUSTODIA_S3_* for an app using this server. */
  env: Record<string, string>;
  close(): Promise<void>;
}

// s3rver's own credentials; it checks request signatures against them.
const KEY = 'S3RVER';

export async function startS3(bucket = 'custodia-evidence'): Promise<TestS3> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'custodia-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    directory,
    // s3rver's filesystem store: <dir>/<bucket>/<key folders>/<name>._S3rver_object
    objectFile: (key) => {
      const parts = key.split('/');
      const name = parts.pop()!;
      return path.join(directory, bucket, ...parts, `${name}._S3rver_object`);
    },
    env: {
      CUSTODIA_S3_ENDPOINT: endpoint,
      CUSTODIA_S3_BUCKET: bucket,
      CUSTODIA_S3_ACCESS_KEY_ID: KEY,
      CUSTODIA_S3_SECRET_ACCESS_KEY: KEY,
    },
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
