// The primary image of a HEIF/AVIF file as its own item properties describe it: the stored size
// ('ispe', before any rotation), the rotation and mirroring a viewer applies ('irot', 'imir') and
// the colour profile ('colr' of type 'prof' or 'rICC'). libvips reports the size after 'irot' and
// libheif-js hands decoded pixels over without their profile; ExifTool, and api.md's `extracted`,
// mean the stored size, and an iPhone's Display P3 pixels need their profile to become sRGB.
// Bounded like the rest of the box layer (iso-bmff.ts): a few positioned reads, at most 1 MiB of
// the top-level 'meta' box, bounded box and entry counts. Never throws on hostile bytes: null,
// or whatever could be read.
import { open, type FileHandle } from 'node:fs/promises';
import { BoxReader, memoryChildren, readBoxHeader, type MemoryBox } from './iso-bmff.js';

/** What the primary item's properties say; each part null (or false) when absent or unreadable. */
export interface HeifPrimaryItem {
  itemId: number;
  /** 'ispe': the size as stored, before irot/imir (ExifTool's ImageWidth/ImageHeight). */
  width: number | null;
  height: number | null;
  /** 'irot': anticlockwise quarter turns (0..3); null when the item has no 'irot'. */
  rotation: number | null;
  /** True when the item has an 'imir' (mirroring) property. */
  mirrored: boolean;
  /** The ICC profile of its 'colr' property ('prof' or 'rICC'), at most MAX_ICC_BYTES. */
  icc: Buffer | null;
}

/** Most bytes of the 'meta' box read (its children; phones write a few KiB, 'idat' aside). */
const MAX_META_BYTES = 1024 * 1024;
/** Largest ICC profile taken (Display P3 is 536 bytes; a camera's "large" profile tens of KiB). */
export const MAX_ICC_BYTES = 1024 * 1024;
/** Top-level boxes looked at before 'meta' ('ftyp' and 'meta' come first in HEIF). */
const MAX_TOP_LEVEL_BOXES = 32;
const MAX_META_CHILDREN = 256;
const MAX_PROPERTIES = 4096;
const MAX_IPMA_ENTRIES = 1 << 20;

/** Reads the primary item of the file's top-level 'meta' box; null when there is none or it cannot be read. */
export async function readHeifPrimaryItem(handle: FileHandle, size: number): Promise<HeifPrimaryItem | null> {
  try {
    const reader = new BoxReader(handle, size);
    let offset = 0;
    for (let i = 0; i < MAX_TOP_LEVEL_BOXES && offset + 8 <= size; i++) {
      const box = await readBoxHeader(reader, offset, size);
      if (!box) return null;
      if (box.type === 'meta') {
        // A FullBox: version and flags before its children.
        const from = box.start + box.headerSize + 4;
        const length = Math.min(box.end - from, MAX_META_BYTES);
        if (length < 8) return null;
        return parseHeifMeta(await reader.read(from, length));
      }
      offset = box.end;
    }
    return null;
  } catch {
    // ReadBudgetExceeded or an I/O error on a hostile file: nothing from this reader.
    return null;
  }
}

/** The same, given a path (opens and closes the file). */
export async function readHeifPrimaryItemOfFile(filePath: string): Promise<HeifPrimaryItem | null> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(filePath, 'r');
    return await readHeifPrimaryItem(handle, (await handle.stat()).size);
  } catch {
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Parses the children of a 'meta' box (after its version and flags); null without a primary item. */
export function parseHeifMeta(children: Buffer): HeifPrimaryItem | null {
  try {
    const meta = memoryChildren(children, MAX_META_CHILDREN).boxes;
    const itemId = primaryItemId(meta.find((b) => b.type === 'pitm'));
    if (itemId === null) return null;
    const item: HeifPrimaryItem = { itemId, width: null, height: null, rotation: null, mirrored: false, icc: null };
    const iprp = meta.find((b) => b.type === 'iprp');
    if (!iprp) return item;
    const inside = memoryChildren(iprp.body, MAX_META_CHILDREN).boxes;
    const ipco = inside.find((b) => b.type === 'ipco');
    if (!ipco) return item;
    const properties = memoryChildren(ipco.body, MAX_PROPERTIES).boxes;
    // A file may split its associations over several 'ipma' boxes.
    const indices = inside.filter((b) => b.type === 'ipma').flatMap((b) => associationsOf(b.body, itemId));
    for (const index of indices) {
      const property = properties[index - 1]; // 1-based; 0 means "no property"
      if (property) apply(item, property);
    }
    return item;
  } catch {
    return null;
  }
}

function primaryItemId(pitm: MemoryBox | undefined): number | null {
  if (!pitm || pitm.body.length < 4) return null;
  const version = pitm.body[0]!;
  if (version === 0) return pitm.body.length >= 6 ? pitm.body.readUInt16BE(4) : null;
  return pitm.body.length >= 8 ? pitm.body.readUInt32BE(4) : null;
}

/** Property indices (1-based, essential bit cleared) associated with `itemId`, in their order. */
function associationsOf(ipma: Buffer, itemId: number): number[] {
  if (ipma.length < 8) return [];
  const version = ipma[0]!;
  const wide = (ipma.readUIntBE(1, 3) & 1) === 1;
  const count = ipma.readUInt32BE(4);
  const found: number[] = [];
  let at = 8;
  for (let entry = 0; entry < count && entry < MAX_IPMA_ENTRIES; entry++) {
    const idBytes = version < 1 ? 2 : 4;
    if (at + idBytes + 1 > ipma.length) break;
    const id = version < 1 ? ipma.readUInt16BE(at) : ipma.readUInt32BE(at);
    at += idBytes;
    const associations = ipma[at]!;
    at += 1;
    for (let n = 0; n < associations; n++) {
      if (at + (wide ? 2 : 1) > ipma.length) return found;
      const index = wide ? ipma.readUInt16BE(at) & 0x7fff : ipma[at]! & 0x7f;
      at += wide ? 2 : 1;
      if (id === itemId) found.push(index);
    }
  }
  return found;
}

function apply(item: HeifPrimaryItem, property: MemoryBox): void {
  const body = property.body;
  switch (property.type) {
    case 'ispe': {
      // FullBox: version and flags, then u32 width, u32 height. The first one counts.
      if (item.width !== null || body.length < 12) return;
      const width = body.readUInt32BE(4);
      const height = body.readUInt32BE(8);
      if (width > 0 && height > 0) {
        item.width = width;
        item.height = height;
      }
      return;
    }
    case 'irot':
      if (item.rotation === null && body.length >= 1) item.rotation = body[0]! & 3;
      return;
    case 'imir':
      item.mirrored = true;
      return;
    case 'colr': {
      if (item.icc !== null || body.length < 4) return;
      const type = body.toString('latin1', 0, 4);
      const profile = body.subarray(4);
      // A copy: the profile must not keep the whole 'meta' buffer alive.
      if ((type === 'prof' || type === 'rICC') && profile.length > 0 && profile.length <= MAX_ICC_BYTES && !property.overlong) {
        item.icc = Buffer.from(profile);
      }
      return;
    }
    default:
  }
}

/** The EXIF orientation (1..8) an unmirrored 'irot' amounts to: 0 -> 1, 1 -> 8, 2 -> 3, 3 -> 6. */
export function orientationOfRotation(rotation: number | null): number {
  return [1, 8, 3, 6][rotation ?? 0]!;
}
