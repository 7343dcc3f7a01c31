// Voice notes and recordings (issue 9, "Video and audio", extended): Ogg Opus and Vorbis (what
// WhatsApp and Telegram send), MP3 (call recorders), WAV and FLAC through music-metadata, which
// reads the containers' headers: the duration comes from Ogg's last granule position, FLAC's
// STREAMINFO, WAV's data size, an MP3's Xing/VBRI header; audio is never decoded and never
// scanned, so the read is bounded on any file (300 MB of random bytes behind an MPEG frame
// header: 50 ms). AMR (feature phones' and voice recorders' .amr and .awb), which music-metadata
// does not read and whose file has no header to say it, is counted here frame by frame.
import { open } from 'node:fs/promises';
import type { MovieMetadata } from './movie-metadata.js';

const LABEL = 'audio';
/** A duration past this is not believed (a week; a hostile header can claim anything). */
const MAX_DURATION_S = 7 * 24 * 3600;

/**
 * The duration of an audio file, in seconds (ms precision); nothing else is taken from it: an ID3
 * or Vorbis comment date names a song's release, not when a recording was made.
 */
export async function readAudioMetadata(filePath: string): Promise<Pick<MovieMetadata, 'durationS' | 'notes'>> {
  try {
    // Loaded on the first audio file, not at start (as the other heavy readers).
    const { parseFile } = await import('music-metadata');
    const { format } = await parseFile(filePath, { duration: false, skipCovers: true, skipPostHeaders: true });
    const duration = format.duration;
    if (duration === undefined) return { durationS: null, notes: [] };
    if (!Number.isFinite(duration) || duration < 0 || duration > MAX_DURATION_S) {
      return { durationS: null, notes: [`${LABEL}: the header's duration (${duration} s) is not believable`] };
    }
    return { durationS: Math.round(duration * 1000) / 1000, notes: [] };
  } catch (error) {
    return { durationS: null, notes: [`${LABEL}: reading failed: ${error instanceof Error ? error.message.replace(/: \/\S*$/, '') : String(error)}`] };
  }
}

/**
 * Bytes of a frame, its header byte included, by frame type (the header's bits 6-3), in the AMR
 * and AMR-WB storage format (RFC 4867 section 5): speech modes and SID (3GPP TS 26.101 table 1a,
 * TS 26.201 table 1a), NO_DATA (and AMR-WB's SPEECH_LOST) a header alone; 0 where the type is
 * reserved or not used in a file.
 */
const AMR_FRAME_BYTES: Record<string, readonly number[]> = {
  '#!AMR\n': [13, 14, 16, 18, 20, 21, 27, 32, 6, 0, 0, 0, 0, 0, 0, 1],
  '#!AMR-WB\n': [18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 0, 0, 0, 0, 1, 1],
};
/** The magic number of a single-channel AMR file `head` starts with (multi-channel "#!AMR_MC1.0" is not read), or undefined. */
const amrMagic = (head: Buffer): string | undefined => Object.keys(AMR_FRAME_BYTES).find((m) => head.toString('latin1', 0, m.length) === m);
/** Whether bytes start as a single-channel AMR or AMR-WB file. */
export const isAmr = (head: Buffer): boolean => amrMagic(head) !== undefined;
const AMR_LABEL = 'AMR';

/**
 * The duration of an AMR or AMR-WB file: its frames counted (each stands for 20 ms, silence
 * too), read 1 MiB at a time and never past a week's worth of frames.
 */
export async function readAmrMetadata(filePath: string): Promise<Pick<MovieMetadata, 'durationS' | 'notes'>> {
  const handle = await open(filePath, 'r');
  try {
    const size = (await handle.stat()).size;
    const head = Buffer.alloc(9);
    await handle.read(head, 0, 9, 0);
    const magic = amrMagic(head);
    if (!magic) return { durationS: null, notes: [] };
    const sizes = AMR_FRAME_BYTES[magic]!;
    const maxFrames = MAX_DURATION_S * 50;
    const chunk = Buffer.alloc(1 << 20);
    let frames = 0;
    let at = magic.length;
    while (at < size) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, at);
      if (bytesRead === 0) break;
      let i = 0;
      for (; i < bytesRead; frames++) {
        const header = chunk[i]!;
        // Bit 7 and bits 1-0 are padding, zero in a valid header.
        const bytes = header & 0x83 ? 0 : sizes[(header >> 3) & 0x0f]!;
        if (bytes === 0) return counted(frames, [`${AMR_LABEL}: frame ${frames + 1} (byte ${at + i}) has no valid header: counted up to it`]);
        if (at + i + bytes > size) return counted(frames, [`${AMR_LABEL}: the last frame is cut short`]);
        if (frames >= maxFrames) return { durationS: null, notes: [`${AMR_LABEL}: more than ${maxFrames} frames (${MAX_DURATION_S} s) is not believable`] };
        i += bytes;
      }
      at += i;
    }
    return counted(frames, []);
  } catch (error) {
    return { durationS: null, notes: [`${AMR_LABEL}: reading failed: ${error instanceof Error ? error.message : String(error)}`] };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

const counted = (frames: number, notes: string[]): Pick<MovieMetadata, 'durationS' | 'notes'> => ({ durationS: frames / 50, notes });
