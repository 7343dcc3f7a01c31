import type { FileHandle } from 'node:fs/promises';

/** A reader of untrusted files went past its budget of reads or bytes. */
export class ReadBudgetExceeded extends Error {
  constructor(limits: ReadLimits) {
    super(`more than ${limits.maxReads} reads or ${limits.maxBytes} bytes`);
  }
}

export interface ReadLimits {
  /** Most positioned reads one file may cost. */
  maxReads: number;
  /** Most bytes those reads may bring in. */
  maxBytes: number;
}

/**
 * Positioned reads of one open file within a budget (ISO-BMFF, Matroska and PDF readers): a
 * hostile file costs at most `maxReads` reads and `maxBytes` bytes, then ReadBudgetExceeded.
 */
export class BoundedReader {
  private reads = 0;
  private bytes = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private limits: ReadLimits,
  ) {}

  /** Raises the budget to `limits` (never lowers it): a reader that finds it must read more of this kind of file. */
  widen(limits: ReadLimits): void {
    this.limits = { maxReads: Math.max(this.limits.maxReads, limits.maxReads), maxBytes: Math.max(this.limits.maxBytes, limits.maxBytes) };
  }

  /** Up to `length` bytes at `offset` (fewer at the end of the file). */
  async read(offset: number, length: number): Promise<Buffer> {
    const wanted = Math.max(0, Math.min(length, this.size - offset));
    if (wanted === 0 || offset < 0) return Buffer.alloc(0);
    this.reads += 1;
    this.bytes += wanted;
    if (this.reads > this.limits.maxReads || this.bytes > this.limits.maxBytes) throw new ReadBudgetExceeded(this.limits);
    const buffer = Buffer.alloc(wanted);
    const { bytesRead } = await this.handle.read(buffer, 0, wanted, offset);
    return buffer.subarray(0, bytesRead);
  }
}
