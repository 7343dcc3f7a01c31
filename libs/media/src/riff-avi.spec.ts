import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { aviFirstFrame, riffDateTime } from './riff-avi.js';
import { buildAvi } from './test-support/avi.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

describe('riffDateTime', () => {
  it('reads the spellings cameras write in IDIT and ICRD as EXIF dates', () => {
    expect(riffDateTime('THU OCT 26 16:46:04 2006')).toBe('2006:10:26 16:46:04');
    expect(riffDateTime('Mon Mar  3 09:05:00 2003\n')).toBe('2003:03:03 09:05:00');
    expect(riffDateTime('Oct 26 16:46:04 2006')).toBe('2006:10:26 16:46:04');
    expect(riffDateTime('2006:10:26 16:46:04')).toBe('2006:10:26 16:46:04');
    expect(riffDateTime('2006-10-26T16:46:04')).toBe('2006:10:26 16:46:04');
    expect(riffDateTime('2006/1/2 3:04:05')).toBe('2006:01:02 03:04:05');
  });

  it('takes no date alone, no unknown month and no garbage for a capture time', () => {
    for (const text of ['2006-10-26', 'Foo Oct 26 16:46:04', 'Thu Xyz 26 16:46:04 2006', '', 'noise']) expect(riffDateTime(text), text).toBeNull();
  });
});

describe('aviFirstFrame', () => {
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
  const audio = Buffer.from('audio');

  it("gives a compact camera's first Motion JPEG frame", async () => {
    const file = readFileSync(fixture('camera-idit.avi'));
    const frame = await aviFirstFrame(fixture('camera-idit.avi'));
    expect(frame?.codec).toBe('MJPG');
    const at = file.indexOf('movi') + 12; // the first chunk in 'movi' ('00dc', its size, the frame)
    expect(frame?.jpeg).toEqual(file.subarray(at, at + file.readUInt32LE(at - 4)));
  });

  it("finds the video stream after an audio one ('01dc'), past empty (dropped) frames and inside 'rec ' lists", async () => {
    const avi = buildAvi([{ type: 'auds' }, { type: 'vids', codec: 'mjpg' }], [
      { id: '00wb', data: audio },
      { id: '01dc', data: Buffer.alloc(0) },
      { id: '01dc', data: jpeg },
    ], { inRecList: true });
    expect(await aviFirstFrame(scratch.write('second-stream.avi', avi))).toEqual({ codec: 'mjpg', jpeg });
  });

  it('names the compression of video it does not give a frame of, and says when there is no video', async () => {
    expect(await aviFirstFrame(scratch.write('dv.avi', buildAvi([{ type: 'vids', codec: 'dvsd' }], [{ id: '00dc', data: jpeg }])))).toEqual({ codec: 'dvsd', jpeg: null });
    expect(await aviFirstFrame(scratch.write('audio.avi', buildAvi([{ type: 'auds' }], [{ id: '00wb', data: audio }])))).toEqual({ codec: null, jpeg: null });
    // A Motion JPEG stream whose frame is no JPEG, and a file that is no AVI.
    expect(await aviFirstFrame(scratch.write('not-jpeg.avi', buildAvi([{ type: 'vids', codec: 'MJPG' }], [{ id: '00dc', data: audio }])))).toEqual({ codec: 'MJPG', jpeg: null });
    expect(await aviFirstFrame(scratch.write('wave.avi', Buffer.from('RIFF\x04\x00\x00\x00WAVE', 'latin1')))).toBeNull();
  });

  it('stops at a truncated movie list or an absurd chunk size without reading past the file', async () => {
    const avi = buildAvi([{ type: 'vids', codec: 'MJPG' }], [{ id: '00dc', data: jpeg }]);
    expect(await aviFirstFrame(scratch.write('cut.avi', avi.subarray(0, avi.length - 10)))).toEqual({ codec: 'MJPG', jpeg: null });
    const absurd = Buffer.from(avi);
    absurd.writeUInt32LE(0xfffffff0, absurd.indexOf('00dc') + 4);
    expect(await aviFirstFrame(scratch.write('absurd.avi', absurd))).toEqual({ codec: 'MJPG', jpeg: null });
  });
});
