import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { StartupError } from '#custodia/errors';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Where the generated master key lives when CUSTODIA_MASTER_KEY is unset. */
export const masterKeyFile = (dataDir: string): string => path.join(dataDir, 'master.key');

/**
 * The 32-byte master key: the configured one, or the key file in the data folder, generated
 * (mode 0600) on first use. Losing it makes sealed secrets unreadable: operators back it up.
 * `refuseNew`, asked before a key is generated, may name why none may be (secrets sealed with a
 * key that is missing): the start then stops with that reason and writes nothing, rather than
 * put a key in place that opens nothing.
 */
export async function loadMasterKey(
  configured: Buffer | null,
  dataDir: string,
  refuseNew: () => Promise<string | null> = async () => null,
): Promise<{ key: Buffer; source: 'env' | 'file' | 'generated' }> {
  if (configured) return { key: configured, source: 'env' };
  const file = masterKeyFile(dataDir);
  const existing = await readKeyFile(file);
  if (existing) return { key: existing, source: 'file' };
  const refused = await refuseNew();
  if (refused) throw new StartupError(refused);
  // Written whole and synced under a name of its own, then linked into place, which fails if
  // another process (an API and a worker starting on a new data folder) got there first: the
  // key file is never seen half written, never replaced, and survives a power cut once a
  // signing key sealed with it may be committed.
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32);
  const staged = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(staged, 'wx', 0o600);
  try {
    await handle.writeFile(key.toString('hex') + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(staged, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const theirs = await readKeyFile(file);
    if (!theirs) throw new Error(`${file} appeared while this process was generating it, and cannot be read`);
    return { key: theirs, source: 'file' };
  } finally {
    await unlink(staged);
  }
  const directory = await open(dataDir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
  return { key, source: 'generated' };
}

/** The key in `file`, or null when there is no such file. */
async function readKeyFile(file: string): Promise<Buffer | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const key = Buffer.from(text.trim(), 'hex');
  if (key.length !== 32) throw new Error(`${file} does not hold 64 hex characters`);
  return key;
}

/**
 * AES-256-GCM: version byte, IV, tag, ciphertext. `context` is authenticated but not stored,
 * so a sealed value cannot be moved to another purpose or record.
 */
export function seal(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ciphertext]);
}

/** Opens what `seal` made; throws when the key, the context or a byte is wrong. */
export function unseal(key: Buffer, sealed: Buffer, context: string): Buffer {
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new Error('not a sealed value of a known version');
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
}
