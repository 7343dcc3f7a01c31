import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readAsfMetadata } from './asf.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

describe('ASF (.WMV): duration and picture size from the header object', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());
  const wmv = readFileSync(fixture('dvr-wmv2.wmv'));
  /** The File Properties Object's body in a copy of the fixture. */
  const fileProperties = (bytes: Buffer) => bytes.indexOf(Buffer.from('a1dcab8c47a9cf118ee400c00c205365', 'hex')) + 24;

  it('reads what ffprobe reads: 320x240, 0.066 s (the play duration less the 3.1 s preroll)', async () => {
    expect(await readAsfMetadata(fixture('dvr-wmv2.wmv'))).toEqual({ width: 320, height: 240, durationS: 0.066, notes: [] });
  });

  it('gives no duration for a live broadcast, nothing for what is not ASF, and a note for a header it will not read', async () => {
    const live = Buffer.from(wmv);
    live.writeUInt32LE(live.readUInt32LE(fileProperties(live) + 64) | 1, fileProperties(live) + 64);
    expect(await readAsfMetadata(scratch.write('live.wmv', live))).toMatchObject({ durationS: null, width: 320 });
    expect(await readAsfMetadata(fixture('camera-idit.avi'))).toBeNull();
    const huge = Buffer.from(wmv);
    huge.writeBigUInt64LE(2n ** 40n, 16);
    expect(await readAsfMetadata(scratch.write('huge.wmv', huge))).toEqual({ notes: [`ASF: a header object of ${2 ** 40} bytes in a file of ${wmv.length} is not read`] });
    // Cut inside the header, in the video's Stream Properties Object (at byte 390): the objects
    // whole before it are read (the duration), the cut one is not (no size), nothing past the file.
    const cut = Buffer.from(wmv.subarray(0, 400));
    cut.writeBigUInt64LE(400n, 16);
    expect(await readAsfMetadata(scratch.write('cut.wmv', cut))).toEqual({ width: null, height: null, durationS: 0.066, notes: [] });
  });
});
