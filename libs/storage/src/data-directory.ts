import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StartupError } from '#custodia/errors';

/**
 * `mkdir -p`, one level at a time: Node's own recursive mkdir loops forever where a parent
 * exists but mkdir answers ENOENT (under /proc, say), and a start must fail, not hang.
 */
async function makeFolders(dir: string, mode: number): Promise<void> {
  try {
    await mkdir(dir, { mode });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || path.dirname(dir) === dir) throw error;
  }
  await makeFolders(path.dirname(dir), mode);
  await mkdir(dir, { mode }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}

const who = (): string => {
  try {
    return `the user ${os.userInfo().username}`;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
};

/**
 * Makes sure the data folder (blobs, keys, the embedded database) exists and this process can
 * write it, before anything is started: created with mode 0700 when missing (it is never opened
 * to others); a folder that cannot be made or written stops the start with a StartupError
 * naming the variable and the fix. An existing folder's mode is left as it is.
 */
export async function prepareDataDirectory(dir: string, variable = 'CUSTODIA_DATA_DIR'): Promise<void> {
  try {
    await makeFolders(path.resolve(dir), 0o700);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StartupError(
      `${variable} is ${dir}, which ${who()} cannot create (${code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : code}): ` +
        `create that folder for this user, or set ${variable} to a folder it can write.`,
    );
  }
  const info = await stat(dir);
  if (!info.isDirectory()) throw new StartupError(`${variable} is ${dir}, which is not a folder: set ${variable} to a folder.`);
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new StartupError(
      `${variable} is ${dir}, which ${who()} cannot write (${(error as NodeJS.ErrnoException).code}): ` +
        `give it to this user (chown), or set ${variable} to a folder it can write.`,
    );
  }
}
