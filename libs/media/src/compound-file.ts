// Microsoft's Compound File Binary format (MS-CFB, "OLE2" storage): the container of Word 97-2003,
// Excel and PowerPoint files (.doc, .xls, .ppt), and of password-protected OOXML files. Only what
// the metadata readers need: a storage's streams and storages by name, and positioned reads inside a
// stream through its FAT or mini FAT chain. Nothing is read whole: a stream's sectors are found
// one FAT lookup at a time (FAT sectors cached), and every read goes through a budget, so a
// 2 GB presentation with a film inside costs a few small reads. Chains that loop or run past
// the file end with an error, never an endless walk.
import type { FileHandle } from 'node:fs/promises';
import { BoundedReader, type ReadLimits } from './bounded-reader.js';
import { captureTimeFromTags, type CaptureTime } from './exif-values.js';

export const CFB_SIGNATURE = Buffer.from('d0cf11e0a1b11ae1', 'hex');
const LIMITS = { maxReads: 4096, maxBytes: 16 * 1024 * 1024 };
const HEADER_DIFAT_ENTRIES = 109;
/** A sector number at or above this is not a sector (DIFSECT, FATSECT, ENDOFCHAIN, FREESECT). */
const MAX_REGULAR_SECTOR = 0xfffffffa;
const NO_STREAM = 0xffffffff;
const ENTRY_BYTES = 128;
/** Most directory entries walked: a document with thousands of embedded objects stays well under. */
const MAX_ENTRIES = 65_536;
/** 100 ns ticks from 1601-01-01 to 1970-01-01, and in a year (less is a duration, as ExifTool takes it). */
const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;
const FILETIME_YEAR = 315_360_000_000_000n;

export class CompoundFileError extends Error {}

export interface StreamEntry {
  name: string;
  start: number;
  size: number;
}

/** A storage (a folder of streams and storages) inside the file; `child` is its tree of entries. */
export interface StorageEntry {
  name: string;
  child: number;
}

/** Reads inside one stream: up to `length` bytes at `offset` (fewer at the stream's end). */
export interface StreamReader {
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

export class CompoundFile {
  private readonly fatSectors = new Map<number, Buffer>();
  private miniStream: StreamReader | null = null;
  /** The mini FAT, one reader for every small stream: its chain is walked once. */
  private miniFat: StreamReader | null = null;
  private directory: StreamReader | null = null;
  /** Entries walked in all storages so far: MAX_ENTRIES bounds them all together. */
  private walked = 0;

  private constructor(
    private readonly file: BoundedReader,
    private readonly header: Buffer,
    readonly sectorSize: number,
    private readonly maxSector: number,
  ) {}

  /**
   * Opens the compound file in `handle` (which stays the caller's to close); throws
   * CompoundFileError when the header is not one. `limits`: what all its reads together may cost.
   */
  static async open(handle: FileHandle, size: number, limits: ReadLimits = LIMITS): Promise<CompoundFile> {
    const file = new BoundedReader(handle, size, limits);
    const header = await file.read(0, 512);
    if (header.length < 512 || !header.subarray(0, 8).equals(CFB_SIGNATURE)) throw new CompoundFileError('not a compound file');
    const major = header.readUInt16LE(0x1a);
    const shift = header.readUInt16LE(0x1e);
    if (header.readUInt16LE(0x1c) !== 0xfffe || !((major === 3 && shift === 9) || (major === 4 && shift === 12)) || header.readUInt16LE(0x20) !== 6) {
      throw new CompoundFileError(`an unknown header (version ${major}, sectors of 2^${shift} bytes)`);
    }
    const sectorSize = 1 << shift;
    return new CompoundFile(file, header, sectorSize, Math.ceil(Math.max(0, size - sectorSize) / sectorSize));
  }

  /** Raises the budget of all reads of this file to `limits` (an Outlook message's attachments are hashed whole). */
  widenBudget(limits: ReadLimits): void {
    this.file.widen(limits);
  }

  /** The streams directly in the root storage (not those of embedded objects' storages). */
  async rootStreams(): Promise<StreamEntry[]> {
    return (await this.entries()).streams;
  }

  /** The streams and storages directly in `storage` (the root storage when not given). */
  async entries(storage?: StorageEntry): Promise<{ streams: StreamEntry[]; storages: StorageEntry[] }> {
    if (!this.directory) {
      this.directory = this.chainReader(this.header.readUInt32LE(0x30), Number.MAX_SAFE_INTEGER);
      const root = await this.entry(0);
      if (root[0x42] !== 5) throw new CompoundFileError('the first directory entry is not the root storage');
      this.miniStream = this.chainReader(root.readUInt32LE(0x74), root.readUInt32LE(0x78));
    }
    // A storage's children are a tree through left and right siblings; a loop is a damaged file.
    const streams: StreamEntry[] = [];
    const storages: StorageEntry[] = [];
    const seen = new Set<number>();
    const pending = [storage ? storage.child : (await this.entry(0)).readUInt32LE(0x4c)];
    while (pending.length > 0) {
      const id = pending.pop()!;
      if (id === NO_STREAM) continue;
      if (seen.has(id) || ++this.walked > MAX_ENTRIES) throw new CompoundFileError('the directory loops or is too large');
      seen.add(id);
      const bytes = await this.entry(id);
      pending.push(bytes.readUInt32LE(0x44), bytes.readUInt32LE(0x48));
      const nameBytes = Math.min(64, bytes.readUInt16LE(0x40));
      const name = bytes.toString('utf16le', 0, Math.max(0, nameBytes - 2));
      // A version 3 file's stream sizes are 32 bits; the high half may hold garbage (MS-CFB 2.6.3).
      const size = this.sectorSize === 512 ? bytes.readUInt32LE(0x78) : Number(bytes.readBigUInt64LE(0x78));
      if (bytes[0x42] === 2) streams.push({ name, start: bytes.readUInt32LE(0x74), size });
      else if (bytes[0x42] === 1) storages.push({ name, child: bytes.readUInt32LE(0x4c) });
    }
    return { streams, storages };
  }

  private async entry(id: number): Promise<Buffer> {
    const bytes = await this.directory!.read(id * ENTRY_BYTES, ENTRY_BYTES);
    if (bytes.length < ENTRY_BYTES) throw new CompoundFileError(`directory entry ${id} is past the directory's end`);
    return bytes;
  }

  /** Reads inside a stream found by entries(): small streams live in the mini stream. */
  stream(entry: StreamEntry): StreamReader {
    if (entry.size >= this.header.readUInt32LE(0x38) || !this.miniStream) return this.chainReader(entry.start, entry.size);
    const miniFat = (this.miniFat ??= this.chainReader(this.header.readUInt32LE(0x3c), this.header.readUInt32LE(0x40) * this.sectorSize));
    return sectorChain(entry.start, entry.size, 64, Math.floor(this.miniStream.size / 64), async (sector) => {
      const next = await miniFat.read(sector * 4, 4);
      return next.length === 4 ? next.readUInt32LE(0) : NO_STREAM;
    }, (sector, offset, length) => this.miniStream!.read(sector * 64 + offset, length));
  }

  private chainReader(start: number, size: number): StreamReader {
    const bounded = Math.min(size, (this.maxSector + 1) * this.sectorSize);
    return sectorChain(start, bounded, this.sectorSize, this.maxSector, (sector) => this.nextSector(sector), (sector, offset, length) =>
      this.file.read((sector + 1) * this.sectorSize + offset, length),
    );
  }

  /** The FAT's entry for `sector`: the next sector of its chain. */
  private async nextSector(sector: number): Promise<number> {
    const perSector = this.sectorSize / 4;
    const index = Math.floor(sector / perSector);
    let fat = this.fatSectors.get(index);
    if (!fat) {
      fat = await this.file.read((1 + (await this.fatSectorAt(index))) * this.sectorSize, this.sectorSize);
      if (fat.length < this.sectorSize) throw new CompoundFileError(`FAT sector ${index} is past the file's end`);
      this.fatSectors.set(index, fat);
    }
    return fat.readUInt32LE((sector % perSector) * 4);
  }

  /** Where the index-th FAT sector is: in the header's DIFAT, then in the DIFAT sectors' chain. */
  private async fatSectorAt(index: number): Promise<number> {
    if (index >= this.header.readUInt32LE(0x2c)) throw new CompoundFileError(`a chain points past the FAT (FAT sector ${index})`);
    if (index < HEADER_DIFAT_ENTRIES) return this.header.readUInt32LE(0x4c + index * 4);
    const perSector = this.sectorSize / 4 - 1;
    let difat = this.header.readUInt32LE(0x44);
    for (let hop = Math.floor((index - HEADER_DIFAT_ENTRIES) / perSector); ; hop -= 1) {
      if (difat > this.maxSector) throw new CompoundFileError('the DIFAT chain ends early');
      const bytes = await this.file.read((difat + 1) * this.sectorSize, this.sectorSize);
      if (bytes.length < this.sectorSize) throw new CompoundFileError('the DIFAT chain is past the file end');
      if (hop === 0) return bytes.readUInt32LE(((index - HEADER_DIFAT_ENTRIES) % perSector) * 4);
      difat = bytes.readUInt32LE(perSector * 4);
    }
  }
}

/**
 * A stream laid in a chain of sectors of `unit` bytes: sectors are found as reads need them (each
 * one lookup of `next`); a sector met twice is a loop.
 */
function sectorChain(
  start: number,
  size: number,
  unit: number,
  maxSector: number,
  next: (sector: number) => Promise<number>,
  readSector: (sector: number, offset: number, length: number) => Promise<Buffer>,
): StreamReader {
  const sectors: number[] = [];
  const seen = new Set<number>();
  const sectorOf = async (index: number): Promise<number | null> => {
    while (sectors.length <= index) {
      const sector = sectors.length === 0 ? start : await next(sectors[sectors.length - 1]!);
      if (sector >= MAX_REGULAR_SECTOR) return null;
      if (sector > maxSector || seen.has(sector)) throw new CompoundFileError('a sector chain loops or points past the file end');
      seen.add(sector);
      sectors.push(sector);
    }
    return sectors[index]!;
  };
  return {
    size,
    async read(offset, length) {
      const parts: Buffer[] = [];
      let at = Math.max(0, offset);
      const end = Math.min(size, offset + length);
      while (at < end) {
        const index = Math.floor(at / unit);
        const sector = await sectorOf(index);
        if (sector === null) throw new CompoundFileError('a stream ends before its stated size');
        const within = at % unit;
        // Sectors that follow each other in the file are read at once (writers mostly lay a stream out so).
        const needed = Math.ceil((within + end - at) / unit);
        let run = 1;
        while (run < needed && (await sectorOf(index + run)) === sector + run) run += 1;
        const bytes = await readSector(sector, within, Math.min(run * unit - within, end - at));
        if (bytes.length === 0) throw new CompoundFileError('a stream runs past the file end');
        parts.push(bytes);
        at += bytes.length;
      }
      return Buffer.concat(parts);
    },
  };
}

/** A FILETIME (MS-DTYP: 100 ns ticks since 1601, UTC) as a UTC instant; null for 0 and for durations (Total Edit Time shares the type). */
export function fileTime(ticks: bigint): CaptureTime | null {
  if (ticks < FILETIME_YEAR) return null;
  const ms = Number((ticks - FILETIME_UNIX_EPOCH) / 10_000n);
  if (Math.abs(ms) > 8.64e15) return null;
  return captureTimeFromTags({ xmpDates: [new Date(ms).toISOString()] });
}
