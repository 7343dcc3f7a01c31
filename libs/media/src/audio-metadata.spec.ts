import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, scratchDir } from './test-support/fixtures.js';
import { extractEmbeddedMetadata } from './metadata.js';

// test/fixtures/media/generate-audio.sh: one 3.25 s recording in the formats phones send.
describe('voice notes and recordings: their duration, from the container alone', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());
  it.each([
    ['voice.opus', 'Ogg Opus (WhatsApp, Telegram)', 0.01],
    ['voice.ogg', 'Ogg Vorbis', 0.01],
    ['voice.flac', 'FLAC', 0.01],
    ['voice.wav', 'WAV', 0.001],
    // An MP3 counts whole frames of 1,152 samples, the encoder's delay and padding included.
    ['voice.mp3', 'MP3 (CBR, ID3v2, Xing header)', 0.15],
  ])('%s (%s): 3.25 s and nothing else', async (name, _format, tolerance) => {
    const meta = await extractEmbeddedMetadata(fixture(name));
    expect(meta).not.toBeNull();
    expect(Math.abs(meta!.durationS! - 3.25)).toBeLessThanOrEqual(tolerance);
    // An ID3 year or title is not a capture time, a place or a device.
    expect(meta).toMatchObject({ capturedAt: null, location: null, device: null });
    expect(meta!.notes).toBeUndefined();
  });

  it('a truncated, lying or noisy audio file gives no duration or a note, quickly, and never throws', async () => {
    const opus = await readFile(fixture('voice.opus'));
    const wav = Buffer.from(await readFile(fixture('voice.wav')));
    wav.writeUInt32LE(0, 24); // a sample rate of 0
    const files = {
      'cut.opus': opus.subarray(0, 300),
      'zero-rate.wav': wav,
      'id3-too-long.mp3': Buffer.concat([Buffer.from('ID3\x04\x00\x00\x7f\x7f\x7f\x7f', 'latin1'), randomBytes(5000)]),
      'noise.mp3': Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), randomBytes(3_000_000)]),
      'noise.ogg': Buffer.concat([Buffer.from('OggS'), randomBytes(200_000)]),
    };
    for (const [name, bytes] of Object.entries(files)) {
      const started = performance.now();
      const meta = await extractEmbeddedMetadata(scratch.write(name, bytes));
      expect(performance.now() - started, name).toBeLessThan(2000);
      const duration = meta?.durationS ?? null;
      expect(duration === null || (duration >= 0 && duration < 4), `${name}: ${duration}`).toBe(true);
    }
  });
});

/**
 * An AMR file as RFC 4867 section 5 stores it: the magic number, then frames of a header byte
 * (frame type in bits 6-3, the quality bit 2 set) and the mode's bytes (noise stands for speech).
 */
function amr(magic: '#!AMR\n' | '#!AMR-WB\n', types: number[]): Buffer {
  const sizes = magic === '#!AMR\n' ? [12, 13, 15, 17, 19, 20, 26, 31, 5, 0, 0, 0, 0, 0, 0, 0] : [17, 23, 32, 36, 40, 46, 50, 58, 60, 5, 0, 0, 0, 0, 0, 0];
  return Buffer.concat([Buffer.from(magic, 'latin1'), ...types.map((type) => Buffer.concat([Buffer.from([(type << 3) | 0x04]), randomBytes(sizes[type]!)]))]);
}
const runs = (...parts: [type: number, count: number][]): number[] => parts.flatMap(([type, count]) => Array<number>(count).fill(type));

describe('AMR voice recordings (feature phones, voice recorders): their duration, 20 ms a frame', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());

  it('counts every frame of AMR and AMR-WB, silence (SID, NO_DATA) and mode changes included', async () => {
    // 12.2 kbit/s speech, comfort noise, no data while the speaker is silent, then 7.4 kbit/s.
    const nb = await extractEmbeddedMetadata(scratch.write('voice.amr', amr('#!AMR\n', runs([7, 200], [8, 5], [15, 10], [4, 50]))));
    expect(nb).toMatchObject({ durationS: 5.3, capturedAt: null, location: null, device: null });
    expect(nb!.notes).toBeUndefined();
    // AMR-WB at 23.85 kbit/s, SID, speech lost, then 12.65 kbit/s.
    const wb = await extractEmbeddedMetadata(scratch.write('voice.awb', amr('#!AMR-WB\n', runs([8, 100], [9, 3], [14, 2], [2, 20]))));
    expect(wb?.durationS).toBe(2.5);
  });

  it('says where a file stops being AMR, counts a cut file up to its last whole frame, and stops a lie at a week', async () => {
    const good = amr('#!AMR\n', runs([7, 100]));
    const broken = Buffer.concat([good, Buffer.from([0x80]), amr('#!AMR\n', runs([7, 10])).subarray(6)]); // a padding bit set
    expect(await extractEmbeddedMetadata(scratch.write('broken.amr', broken))).toMatchObject({ durationS: 2, notes: [`AMR: frame 101 (byte ${good.length}) has no valid header: counted up to it`] });
    expect(await extractEmbeddedMetadata(scratch.write('cut.amr', good.subarray(0, good.length - 3)))).toMatchObject({ durationS: 1.98, notes: ['AMR: the last frame is cut short'] });
    // 40 MB of NO_DATA headers: more frames than a week holds, refused after reading 30 MB of them.
    const started = performance.now();
    const lie = await extractEmbeddedMetadata(scratch.write('lie.amr', Buffer.concat([Buffer.from('#!AMR\n'), Buffer.alloc(40_000_000, 0x7c)])));
    expect(lie).toMatchObject({ durationS: null, notes: ['AMR: more than 30240000 frames (604800 s) is not believable'] });
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
