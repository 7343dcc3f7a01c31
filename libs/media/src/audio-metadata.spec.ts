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
