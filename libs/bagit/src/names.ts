import { HIDDEN_CHARACTERS } from '#custodia/text';

/**
 * File names inside a bag. A name comes from whoever submitted the file, so it is hostile until
 * cleaned: no path, nothing invisible, nothing a court's Windows machine refuses to unpack.
 */

/** Longest name kept, in UTF-8 bytes: well under the 255 most filesystems allow, leaving room for the path. */
export const MAX_NAME_BYTES = 150;

// Whatever hides itself or turns the text around it (libs/text: an "exe.jpg" shown as "gpj.exe"),
// and tab and line feed, which that list leaves to its callers.
const INVISIBLE = new RegExp(`${HIDDEN_CHARACTERS.source}|[\t\n]`, 'g');
// `%` too: a manifest would have to write it `%25` (RFC 8493 §2.1.3), which bagit-python and
// `sha256sum -c` do not decode, so the bag would fail their checks.
const RESERVED_CHARACTERS = /[/\\:*?"<>|%]/g;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\.|$)/i;

function cutToBytes(text: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}

/** A safe file name for `name` (see PACKAGE-FORMAT.md); `fallback` when nothing usable is left. */
export function sanitiseFileName(name: string | null | undefined, fallback = 'original'): string {
  let cleaned = (name ?? '')
    .normalize('NFC')
    .replace(INVISIBLE, '')
    .replace(RESERVED_CHARACTERS, '_')
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  if (WINDOWS_DEVICE.test(cleaned)) cleaned = `_${cleaned}`;
  if (Buffer.byteLength(cleaned) > MAX_NAME_BYTES) {
    const dot = cleaned.lastIndexOf('.');
    const extension = dot > 0 && cleaned.length - dot <= 16 ? cleaned.slice(dot) : '';
    cleaned = cutToBytes(cleaned.slice(0, cleaned.length - extension.length), MAX_NAME_BYTES - Buffer.byteLength(extension)) + extension;
  }
  return cleaned === '' ? fallback : cleaned;
}
