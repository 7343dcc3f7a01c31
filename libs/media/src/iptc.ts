// IPTC IIM (the "IPTC" block of JPEG APP13, TIFF tag 33723 and ImageMagick's PNG raw profiles):
// the capture date, time and offset news photographers' tools write. Read as ExifTool reads it
// (IPTC.pm ProcessIPTC, Photoshop.pm ProcessPhotoshop): datasets 0x1C rec tag len, extended
// lengths up to 8 bytes, stop at the first bad marker or a length past the end. Pure and bounded:
// the input is one block already in memory; nothing here throws.
import { createHash } from 'node:crypto';

/** IPTC date and time datasets as stored (IIM 4.2: "CCYYMMDD", "HHMMSS±HHMM"). */
export interface IptcDates {
  dateCreated: string | null;
  timeCreated: string | null;
  digitalCreationDate: string | null;
  digitalCreationTime: string | null;
}

export interface IptcReading extends IptcDates {
  /**
   * Photoshop's IPTCDigest (MD5 of the IPTC block when the XMP was last synchronised with it)
   * compared with the block as it is: false when the IPTC was changed afterwards (MWG), null
   * when there is no digest to compare.
   */
  digestMatches: boolean | null;
  notes: string[];
}

const LABEL = 'IPTC';
/** Photoshop resource types ExifTool accepts; '8BIM' is the one in practice. */
const IRB_TYPES = new Set(['8BIM', 'PHUT', 'DCSR', 'AgHg', 'MeSa']);
const IRB_IPTC = 0x0404;
const IRB_IPTC_DIGEST = 0x0425;
const MAX_RESOURCES = 4096;
const MAX_DATASETS = 10_000;
/** A date or time dataset is at most 11 bytes; anything longer is not one. */
const MAX_DATE_BYTES = 64;

const DATASETS: Record<number, keyof IptcDates> = {
  55: 'dateCreated',
  60: 'timeCreated',
  62: 'digitalCreationDate',
  63: 'digitalCreationTime',
};

function empty(): IptcReading {
  return { dateCreated: null, timeCreated: null, digitalCreationDate: null, digitalCreationTime: null, digestMatches: null, notes: [] };
}

/**
 * Reads an IPTC block in any of the wrappings it arrives in: a JPEG APP13 payload ("Photoshop
 * 3.0\0" + resources), bare Photoshop resources ("8BIM"...) or bare IIM datasets (0x1C...).
 * `where` names the container for the notes.
 */
export function readIptc(block: Uint8Array, where: string): IptcReading {
  const bytes = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  const out = empty();
  const note = (text: string) => {
    const line = `${LABEL} (${where}): ${text}`;
    if (out.notes.length < 16 && !out.notes.includes(line)) out.notes.push(line);
  };
  if (bytes.length === 0) return out;
  if (bytes[0] === 0x1c) {
    readDatasets(bytes, out, note);
    return out;
  }
  const resources = stripPhotoshopHeaders(bytes);
  if (!resources) {
    note('neither Photoshop resources nor IIM datasets; not read');
    return out;
  }
  let iptcBlock: Buffer | null = null;
  let digest: Buffer | null = null;
  let pos = 0;
  // Photoshop.pm: `while ($pos + 8 < $dirEnd)`.
  for (let count = 0; pos + 8 < resources.length; count++) {
    if (count >= MAX_RESOURCES) {
      note(`more than ${MAX_RESOURCES} Photoshop resources; the rest was not read`);
      break;
    }
    const type = resources.toString('latin1', pos, pos + 4);
    if (!IRB_TYPES.has(type)) {
      // Zero padding after the last resource is common; anything else is damage.
      if (resources.subarray(pos).some((b) => b !== 0)) note(`bad Photoshop resource at byte ${pos}; the rest was not read`);
      break;
    }
    const id = resources.readUInt16BE(pos + 4);
    const nameLength = resources[pos + 6];
    // The name is a Pascal string padded to an even length (length byte included).
    let at = pos + 7 + nameLength + (nameLength & 1 ? 0 : 1);
    if (at + 4 > resources.length) {
      note(`Photoshop resource 0x${id.toString(16).padStart(4, '0')} is truncated`);
      break;
    }
    const size = resources.readUInt32BE(at);
    at += 4;
    if (size > resources.length - at) {
      note(`Photoshop resource 0x${id.toString(16).padStart(4, '0')} claims ${size} bytes, only ${resources.length - at} remain; not read`);
      break;
    }
    const data = resources.subarray(at, at + size);
    if (type === '8BIM' && id === IRB_IPTC && iptcBlock === null) iptcBlock = data;
    if (type === '8BIM' && id === IRB_IPTC_DIGEST && digest === null && size === 16) digest = data;
    pos = at + size + (size & 1);
  }
  if (iptcBlock) {
    readDatasets(iptcBlock, out, note);
    if (digest) out.digestMatches = createHash('md5').update(iptcBlock).digest().equals(digest);
  }
  return out;
}

/** Photoshop's APP13 identifiers (JPEG.pm); a JPEG walker joins several APP13 bodies itself. */
export const PHOTOSHOP_HEADERS = ['Photoshop 3.0\0', 'Adobe_Photoshop2.5:'];

/** The resource list of an APP13 payload or of a bare resource list; null when it is neither. */
function stripPhotoshopHeaders(bytes: Buffer): Buffer | null {
  const header = PHOTOSHOP_HEADERS.find((h) => bytes.toString('latin1', 0, h.length) === h);
  if (header) return bytes.subarray(header.length);
  return IRB_TYPES.has(bytes.toString('latin1', 0, 4)) ? bytes : null;
}

function readDatasets(data: Buffer, out: IptcReading, note: (text: string) => void): void {
  let pos = 0;
  for (let count = 0; pos + 5 <= data.length; count++) {
    if (count >= MAX_DATASETS) {
      note(`more than ${MAX_DATASETS} datasets; the rest was not read`);
      return;
    }
    if (data[pos] !== 0x1c) {
      // iMatch pads with zeros; anything else is a broken record (ExifTool: "Bad IPTC data tag").
      if (data.subarray(pos).some((b) => b !== 0)) note(`bad dataset marker 0x${data[pos].toString(16)} at byte ${pos}; the rest was not read`);
      return;
    }
    const record = data[pos + 1];
    const dataset = data[pos + 2];
    let length = data.readUInt16BE(pos + 3);
    pos += 5;
    if (length & 0x8000) {
      // Extended dataset: the low 15 bits give how many bytes hold the real length.
      const lengthBytes = length & 0x7fff;
      if (lengthBytes > 8 || pos + lengthBytes > data.length) {
        note(`dataset ${record}:${dataset} has an impossible extended length; the rest was not read`);
        return;
      }
      length = 0;
      for (let i = 0; i < lengthBytes; i++) length = length * 256 + data[pos + i];
      pos += lengthBytes;
    }
    if (length > data.length - pos) {
      note(`dataset ${record}:${dataset} claims ${length} bytes, only ${data.length - pos} remain; the rest was not read`);
      return;
    }
    const field = record === 2 ? DATASETS[dataset] : undefined;
    // The first value wins (ExifTool lists repeats; dates are not repeatable).
    if (field && out[field] === null) {
      if (length <= MAX_DATE_BYTES) out[field] = data.toString('latin1', pos, pos + length);
      else note(`dataset 2:${dataset} is ${length} bytes long, not a date or time; not read`);
    }
    pos += length;
  }
}
