import { constants, createReadStream } from 'node:fs';
import { lstat, open as openFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';

/** One file of a bag: its path relative to the bag folder and its size. */
export interface BagFile {
  path: string;
  sizeBytes: number;
}

/** A bag to check, in a ZIP or unpacked in a folder: its files and a way to read each. */
export interface BagSource {
  /** What the bag folder is called (the ZIP's top folder, or the folder's name). */
  readonly name: string;
  /** Every file of the bag, sorted by path. */
  readonly files: readonly BagFile[];
  /** Why the container itself is not sound (a link in a folder, a duplicate or unsafe name in a ZIP); empty when it is. */
  readonly problems: readonly string[];
  open(path: string): Promise<Readable>;
  close(): Promise<void>;
}

/** The container cannot be read at all (no such file, not a ZIP, a ZIP cut short). */
export class UnreadablePackageError extends Error {
  override name = 'UnreadablePackageError';
}

const byPath = (a: BagFile, b: BagFile): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** Opens a package given as a `.zip` file or as a folder (the bag itself, or a folder holding exactly one bag). */
export async function openBag(location: string): Promise<BagSource> {
  let info;
  try {
    info = await stat(location);
  } catch (error) {
    throw new UnreadablePackageError(`${location} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return info.isDirectory() ? openFolderBag(location) : openZipBag(location);
}

/** The bag folder within a list of paths: the root if it holds bagit.txt, else the one top folder that does. */
function bagRoot(paths: string[]): { root: string; problem?: string } {
  if (paths.includes('bagit.txt')) return { root: '' };
  const tops = new Set(paths.map((p) => p.split('/')[0]!));
  const candidates = [...tops].filter((top) => paths.includes(`${top}/bagit.txt`));
  if (candidates.length === 1 && tops.size === 1) return { root: `${candidates[0]}/` };
  if (candidates.length === 1) return { root: `${candidates[0]}/`, problem: `files outside the bag folder ${candidates[0]}/: ${[...tops].filter((t) => t !== candidates[0]).slice(0, 5).join(', ')}` };
  return { root: '', problem: candidates.length ? 'more than one bag in the package' : 'no bagit.txt: this is not a BagIt bag' };
}

async function openZipBag(file: string): Promise<BagSource> {
  let zip: yauzl.ZipFile;
  try {
    // strictFileNames: a backslash in a name is refused rather than silently read as a folder separator.
    zip = await yauzl.openPromise(file, { autoClose: false, strictFileNames: true, validateEntrySizes: true });
  } catch (error) {
    throw new UnreadablePackageError(`the ZIP is damaged or cut short (${(error as Error).message}); nothing in it can be trusted`);
  }
  const entries = new Map<string, yauzl.Entry>();
  const problems: string[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/')) continue;
      if (entries.has(entry.fileName)) problems.push(`the ZIP holds ${entry.fileName} twice`);
      if (entry.isEncrypted()) problems.push(`${entry.fileName} is encrypted`);
      entries.set(entry.fileName, entry);
    }
  } catch (error) {
    await new Promise<void>((resolve) => (zip.close(), resolve()));
    throw new UnreadablePackageError(`the ZIP's directory is damaged (${(error as Error).message}); nothing in it can be trusted`);
  }
  const { root, problem } = bagRoot([...entries.keys()]);
  if (problem) problems.push(problem);
  const zipSize = (await stat(file)).size;
  const files: BagFile[] = [];
  const byBagPath = new Map<string, yauzl.Entry>();
  for (const [name, entry] of entries) {
    if (!name.startsWith(root)) continue;
    const bagPath = name.slice(root.length);
    byBagPath.set(bagPath, entry);
    files.push({ path: bagPath, sizeBytes: entry.uncompressedSize });
  }
  return {
    name: root ? root.slice(0, -1) : path.basename(file, '.zip'),
    files: files.sort(byPath),
    problems,
    async open(bagPath: string): Promise<Readable> {
      const entry = byBagPath.get(bagPath);
      if (!entry) throw new Error(`${bagPath} is not in the package`);
      try {
        if (entry.compressionMethod === 0 && entry.compressedSize === entry.uncompressedSize && entry.uncompressedSize > 0) {
          // A stored entry (an original) is read straight from the file in 1 MiB reads: yauzl's own
          // stream reads 16 KiB at a time, which makes a multi-gigabyte original I/O-bound.
          const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
          if (fileDataStart + entry.compressedSize > zipSize) throw new Error('the entry runs past the end of the ZIP');
          return createReadStream(file, { start: fileDataStart, end: fileDataStart + entry.compressedSize - 1, highWaterMark: 1024 * 1024 });
        }
        return await zip.openReadStreamPromise(entry);
      } catch (error) {
        throw new Error(`${bagPath} cannot be read from the ZIP: ${(error as Error).message}`);
      }
    },
    async close(): Promise<void> {
      zip.close();
    },
  };
}

async function openFolderBag(folder: string): Promise<BagSource> {
  const problems: string[] = [];
  const all: BagFile[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const relative = `${prefix}${entry.name}`;
      if (entry.isDirectory()) await walk(path.join(dir, entry.name), `${relative}/`);
      else if (entry.isFile()) all.push({ path: relative, sizeBytes: (await lstat(path.join(dir, entry.name))).size });
      // A link could point anywhere: what it shows is not part of the bag.
      else problems.push(`${relative} is not a regular file (a link or a device)`);
    }
  };
  await walk(folder, '');
  const { root, problem } = bagRoot(all.map((f) => f.path));
  if (problem) problems.push(problem);
  const base = path.join(folder, root);
  return {
    name: root ? root.slice(0, -1) : path.basename(path.resolve(folder)),
    files: all.filter((f) => f.path.startsWith(root)).map((f) => ({ path: f.path.slice(root.length), sizeBytes: f.sizeBytes })).sort(byPath),
    problems,
    async open(bagPath: string): Promise<Readable> {
      // O_NOFOLLOW: a link swapped in after the listing is refused, not followed.
      const handle = await openFile(path.join(base, bagPath), constants.O_RDONLY | constants.O_NOFOLLOW);
      return handle.createReadStream({ highWaterMark: 1024 * 1024 });
    },
    async close(): Promise<void> {},
  };
}
