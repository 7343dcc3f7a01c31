// Builders for ISO-BMFF/QuickTime boxes, so specs can state hostile and unusual movies exactly.

export function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

/** A box whose header claims `claimed` bytes whatever follows (64-bit size when over 32 bits). */
export function lyingBox(type: string, claimed: bigint, ...payload: Buffer[]): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(1, 0);
  head.write(type, 4, 'latin1');
  head.writeBigUInt64BE(claimed, 8);
  return Buffer.concat([head, ...payload]);
}

export function fullBox(type: string, version: number, ...payload: Buffer[]): Buffer {
  return box(type, Buffer.from([version, 0, 0, 0]), ...payload);
}

export const ftyp = (major = 'qt  ', ...compatible: string[]) =>
  box('ftyp', Buffer.from(major, 'latin1'), Buffer.alloc(4), Buffer.from([major, ...compatible].join(''), 'latin1'));

/** Seconds since 1904-01-01 for an ISO date. */
export function since1904(iso: string): number {
  return Date.parse(iso) / 1000 + 2_082_844_800;
}

export function mvhd({ created = 0, timescale = 1000, duration = 1000, version = 0 } = {}): Buffer {
  if (version === 1) {
    const body = Buffer.alloc(108);
    body.writeBigUInt64BE(BigInt(created), 0);
    body.writeBigUInt64BE(BigInt(created), 8);
    body.writeUInt32BE(timescale, 16);
    body.writeBigUInt64BE(BigInt(duration), 20);
    return fullBox('mvhd', 1, body);
  }
  const body = Buffer.alloc(96);
  body.writeUInt32BE(created, 0);
  body.writeUInt32BE(created, 4);
  body.writeUInt32BE(timescale, 8);
  body.writeUInt32BE(duration, 12);
  return fullBox('mvhd', 0, body);
}

/** A version-0 tkhd with the linear part [a b c d] of its matrix and a size in pixels. */
export function tkhd(matrix: [number, number, number, number], width: number, height: number): Buffer {
  const body = Buffer.alloc(80);
  const [a, b, c, d] = matrix;
  const at = 36; // matrix, after version/flags (in fullBox), times, id, duration, layer...
  body.writeInt32BE(Math.round(a * 65536), at);
  body.writeInt32BE(Math.round(b * 65536), at + 4);
  body.writeInt32BE(Math.round(c * 65536), at + 12);
  body.writeInt32BE(Math.round(d * 65536), at + 16);
  body.writeInt32BE(0x40000000, at + 32);
  body.writeUInt32BE(width * 65536, at + 36);
  body.writeUInt32BE(height * 65536, at + 40);
  return fullBox('tkhd', 0, body);
}

export function hdlr(handler: string): Buffer {
  return fullBox('hdlr', 0, Buffer.alloc(4), Buffer.from(handler, 'latin1'), Buffer.alloc(13));
}

/** A video sample description with a stored size. */
export function stsd(width: number, height: number): Buffer {
  const entry = Buffer.alloc(78);
  entry.writeUInt32BE(entry.length, 0);
  entry.write('avc1', 4, 'latin1');
  entry.writeUInt16BE(width, 32);
  entry.writeUInt16BE(height, 34);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1, 0);
  return fullBox('stsd', 0, count, entry);
}

export function videoTrak(matrix: [number, number, number, number], width: number, height: number): Buffer {
  return box('trak', tkhd(matrix, width, height), box('mdia', hdlr('vide'), box('minf', box('stbl', stsd(width, height)))));
}

/** A QuickTime user-data string: 16-bit length, 16-bit language, the bytes. */
export function qtString(type: string, text: string | Buffer, language = 0x55c4): Buffer {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt16BE(bytes.length, 0);
  head.writeUInt16BE(language, 2);
  return box(type, head, bytes);
}

/** An iTunes-style 'data' atom: type code, locale, value. */
export function data(value: string | Buffer, typeCode = 1): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(typeCode, 0);
  return box('data', head, Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'));
}

/** QuickTime 'meta' (not a full box) with 'mdta' keys and their values. */
export function mdtaMeta(entries: Record<string, string>): Buffer {
  const names = Object.keys(entries);
  const keyBoxes = names.map((name) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(8 + Buffer.byteLength(name), 0);
    head.write('mdta', 4, 'latin1');
    return Buffer.concat([head, Buffer.from(name, 'utf8')]);
  });
  const count = Buffer.alloc(4);
  count.writeUInt32BE(names.length, 0);
  const items = names.map((name, i) => {
    const index = Buffer.alloc(4);
    index.writeUInt32BE(i + 1, 0);
    return box(index.toString('latin1'), data(entries[name]));
  });
  return box('meta', hdlr('mdta'), fullBox('keys', 0, count, ...keyBoxes), box('ilst', ...items));
}

/** 3GPP 'loci': language, empty name, role, longitude, latitude, altitude (16.16). */
export function loci(lat: number, lon: number, altitudeM: number): Buffer {
  const fixed = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(Math.round(v * 65536), 0);
    return b;
  };
  return fullBox('loci', 0, Buffer.from([0x55, 0xc4, 0x00, 0x00]), fixed(lon), fixed(lat), fixed(altitudeM), Buffer.from('earth\0\0', 'latin1'));
}
