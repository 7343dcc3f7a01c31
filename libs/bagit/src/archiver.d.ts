// archiver 8 ships no type declarations; this covers the part libs/bagit uses.
declare module 'archiver' {
  import type { Transform } from 'node:stream';

  export interface EntryData {
    name: string;
    date?: Date;
    mode?: number;
    /** Store (method 0) instead of deflate. */
    store?: boolean;
  }

  export interface ZipOptions {
    zlib?: { level?: number };
    forceZip64?: boolean;
    store?: boolean;
    highWaterMark?: number;
  }

  export class ZipArchive extends Transform {
    constructor(options?: ZipOptions);
    append(source: NodeJS.ReadableStream | Buffer | string, data: EntryData): this;
    finalize(): Promise<void>;
    abort(): this;
    pointer(): number;
  }
}
