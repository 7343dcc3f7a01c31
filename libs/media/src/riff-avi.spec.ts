import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { aviVideoFrames, riffDateTime } from './riff-avi.js';
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

describe('aviVideoFrames', () => {
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
  const audio = Buffer.from('audio');
  const LIMIT = { h264Frames: 5, bytes: 1024 * 1024 };

  it("gives a compact camera's first Motion JPEG frame", async () => {
    const file = readFileSync(fixture('camera-idit.avi'));
    const at = file.indexOf('movi') + 12; // the first chunk in 'movi' ('00dc', its size, the frame)
    expect(await aviVideoFrames(fixture('camera-idit.avi'), LIMIT)).toEqual({ codec: 'MJPG', frames: [file.subarray(at, at + file.readUInt32LE(at - 4))] });
  });

  it("gives a dashcam's first H.264 frames, up to the limit, as the Annex B stream they are", async () => {
    const video = await aviVideoFrames(fixture('dashcam-h264.avi'), LIMIT);
    expect(video?.codec).toBe('H264');
    expect(video?.frames).toHaveLength(5);
    expect(video?.frames[0]!.subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 1, 0x67])); // a sequence parameter set first
    expect((await aviVideoFrames(fixture('dashcam-h264.avi'), { h264Frames: 60, bytes: 2000 }))?.frames.length).toBeLessThan(3);
  });

  it("finds the video stream after an audio one ('01dc'), past empty (dropped) frames and inside 'rec ' lists", async () => {
    const avi = buildAvi([{ type: 'auds' }, { type: 'vids', codec: 'mjpg' }], [
      { id: '00wb', data: audio },
      { id: '01dc', data: Buffer.alloc(0) },
      { id: '01dc', data: jpeg },
      { id: '01dc', data: jpeg },
    ], { inRecList: true });
    expect(await aviVideoFrames(scratch.write('second-stream.avi', avi), LIMIT)).toEqual({ codec: 'mjpg', frames: [jpeg] });
  });

  it('names the compression of video it gives no frames of, and says when there is no video', async () => {
    expect(await aviVideoFrames(scratch.write('dv.avi', buildAvi([{ type: 'vids', codec: 'dvsd' }], [{ id: '00dc', data: jpeg }])), LIMIT)).toEqual({ codec: 'dvsd', frames: [] });
    expect(await aviVideoFrames(scratch.write('audio.avi', buildAvi([{ type: 'auds' }], [{ id: '00wb', data: audio }])), LIMIT)).toEqual({ codec: null, frames: [] });
    expect(await aviVideoFrames(scratch.write('wave.avi', Buffer.from('RIFF\x04\x00\x00\x00WAVE', 'latin1')), LIMIT)).toBeNull();
  });

  it('stops at a truncated movie list or an absurd chunk size without reading past the file', async () => {
    const avi = buildAvi([{ type: 'vids', codec: 'MJPG' }], [{ id: '00dc', data: jpeg }]);
    expect(await aviVideoFrames(scratch.write('cut.avi', avi.subarray(0, avi.length - 10)), LIMIT)).toEqual({ codec: 'MJPG', frames: [] });
    const absurd = Buffer.from(avi);
    absurd.writeUInt32LE(0xfffffff0, absurd.indexOf('00dc') + 4);
    expect(await aviVideoFrames(scratch.write('absurd.avi', absurd), LIMIT)).toEqual({ codec: 'MJPG', frames: [] });
  });
});
