// Positioned reads through one cached window: walking a file's segments or chunks costs one
// read per window, not one per header. Reads past the end return what exists (shorter buffers).
import type { FileHandle } from 'node:fs/promises';

const DEFAULT_WINDOW = 64 * 1024;

export class ReadWindow {
  private start = 0;
  private bytes: Buffer = Buffer.alloc(0);

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly windowSize = DEFAULT_WINDOW,
    initial?: Buffer,
  ) {
    if (initial) this.bytes = initial;
  }

  /** Up to `length` bytes at `offset`; a view into the window, valid until the next read. */
  async read(offset: number, length: number): Promise<Buffer> {
    if (offset >= this.start && offset + length <= this.start + this.bytes.length) {
      return this.bytes.subarray(offset - this.start, offset - this.start + length);
    }
    if (offset >= this.size || length <= 0) return Buffer.alloc(0);
    const want = Math.min(Math.max(length, this.windowSize), this.size - offset);
    const buffer = Buffer.alloc(want);
    const { bytesRead } = await this.handle.read(buffer, 0, want, offset);
    this.start = offset;
    this.bytes = buffer.subarray(0, bytesRead);
    return this.bytes.subarray(0, Math.min(length, bytesRead));
  }
}
