// Voice notes and recordings (issue 9, "Video and audio", extended): Ogg Opus and Vorbis (what
// WhatsApp and Telegram send), MP3 (call recorders), WAV and FLAC; not AMR, which music-metadata
// does not read. It reads the containers' headers: the duration comes from Ogg's last granule
// position, FLAC's STREAMINFO, WAV's data size, an MP3's Xing/VBRI header; audio is never decoded
// and never scanned, so the read is bounded on any file (300 MB of random bytes behind an MPEG
// frame header: 50 ms).
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
