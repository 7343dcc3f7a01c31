// Compound files (MS-CFB) written by SheetJS's cfb, an implementation other than the reader's, and
// the property set streams (MS-OLEPS) Word, Excel and PowerPoint keep in them, laid out here.
import CFB from 'cfb';

export const SUMMARY_FMTID = 'F29F85E0-4FF9-1068-AB91-08002B27B3D9';
export const DOCUMENT_SUMMARY_FMTID = 'D5CDD502-2E9C-101B-9397-08002B2CF9AE';

export type PropertyValue =
  | { i2: number }
  | { i4: number }
  /** VT_LPSTR: bytes in the set's code page, without the terminating NUL (two bytes in UTF-16, code page 1200). */
  | { lpstr: Buffer; wide?: true }
  | { lpwstr: string }
  | { filetime: Date | bigint };

/** A property set stream holding one set (`fmtid`, a GUID as written) of these properties, in this order. */
export function propertySetStream(fmtid: string, properties: [number, PropertyValue][]): Buffer {
  const values = properties.map(([, value]) => pad4(encode(value)));
  const tableBytes = properties.length * 8;
  const setSize = 8 + tableBytes + values.reduce((sum, v) => sum + v.length, 0);
  const set = Buffer.alloc(setSize);
  set.writeUInt32LE(setSize, 0);
  set.writeUInt32LE(properties.length, 4);
  let at = 8 + tableBytes;
  properties.forEach(([pid], i) => {
    set.writeUInt32LE(pid, 8 + i * 8);
    set.writeUInt32LE(at, 12 + i * 8);
    values[i]!.copy(set, at);
    at += values[i]!.length;
  });
  const header = Buffer.alloc(48);
  header.writeUInt16LE(0xfffe, 0);
  header.writeUInt32LE(0x00020006, 4); // Windows NT 6.0, as Word writes it
  header.writeUInt32LE(1, 24);
  guid(fmtid).copy(header, 28);
  header.writeUInt32LE(48, 44);
  return Buffer.concat([header, set]);
}

/** A compound file of these root streams (name → bytes; a name with '/' goes into a storage). */
export function compoundFile(streams: Record<string, Buffer>): Buffer {
  const container = CFB.utils.cfb_new();
  for (const [name, bytes] of Object.entries(streams)) CFB.utils.cfb_add(container, `/${name}`, bytes);
  return Buffer.from(CFB.write(container, { type: 'buffer' }) as Uint8Array);
}

/** Cyrillic and ASCII text in Windows-1251, as a Ukrainian Windows' Word writes its properties. */
export function windows1251(text: string): Buffer {
  const special: Record<string, number> = { і: 0xb3, І: 0xb2, ї: 0xbf, Ї: 0xaf, є: 0xba, Є: 0xaa, ґ: 0xb4, Ґ: 0xa5, '’': 0x92, '«': 0xab, '»': 0xbb, '№': 0xb9 };
  return Buffer.from(
    [...text].map((c) => {
      const code = c.codePointAt(0)!;
      if (code < 0x80) return code;
      if (code >= 0x410 && code <= 0x44f) return 0xc0 + code - 0x410;
      if (special[c] === undefined) throw new Error(`no Windows-1251 byte for ${c}`);
      return special[c];
    }),
  );
}

function encode(value: PropertyValue): Buffer {
  const typed = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type, 0, 0, 0]), body]);
  if ('i2' in value) return typed(2, int(value.i2, 2));
  if ('i4' in value) return typed(3, int(value.i4, 4));
  if ('lpstr' in value) {
    const nul = Buffer.alloc(value.wide ? 2 : 1);
    return typed(30, Buffer.concat([int(value.lpstr.length + nul.length, 4), value.lpstr, nul]));
  }
  if ('lpwstr' in value) return typed(31, Buffer.concat([int(value.lpwstr.length + 1, 4), Buffer.from(`${value.lpwstr}\0`, 'utf16le')]));
  const ticks = typeof value.filetime === 'bigint' ? value.filetime : BigInt(value.filetime.getTime()) * 10_000n + 116_444_736_000_000_000n;
  const body = Buffer.alloc(8);
  body.writeBigUInt64LE(ticks);
  return typed(64, body);
}

function int(n: number, bytes: 2 | 4): Buffer {
  const b = Buffer.alloc(bytes);
  if (bytes === 2) b.writeInt16LE(n > 0x7fff ? n - 0x10000 : n);
  else b.writeInt32LE(n);
  return b;
}

function pad4(b: Buffer): Buffer {
  return b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]);
}

/** A GUID's bytes as Windows stores it: the first three groups little-endian. */
function guid(text: string): Buffer {
  const hex = text.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}
