// PDF's standard security handler (ISO 32000-2 §7.6.4), for documents that open without a
// password: most "protected" PDFs (official reports, statements) carry only an owner password that
// restricts printing or copying, and an empty user password. Their strings and streams are
// encrypted all the same (RC4 or AES), so their Info dictionary and XMP read as noise unless
// decrypted. Only the empty user password is tried: a document that needs one is left encrypted.
// Pure: Node's crypto for MD5, SHA-2 and AES; RC4 written out (OpenSSL 3 keeps it in its legacy
// provider).
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

/** The fields of an /Encrypt dictionary this needs, read by the PDF parser. */
export interface EncryptFields {
  filter: string | null;
  v: number;
  r: number;
  /** Key length in bits (/Length; 40 when absent). */
  lengthBits: number;
  o: Buffer;
  u: Buffer;
  /** /OE and /UE (revision 6): the file key encrypted under the owner and user keys. */
  oe: Buffer | null;
  ue: Buffer | null;
  p: number;
  encryptMetadata: boolean;
  /** V4/V5: the CFM of the crypt filters /StmF and /StrF name ('V2', 'AESV2', 'AESV3', 'None'); 'Identity' when they name none. */
  streamMethod: string;
  stringMethod: string;
  /** The first element of the trailer's /ID (empty when absent). */
  id0: Buffer;
}

/** Decrypts the strings and streams of one document; null for bytes that cannot be (a bad AES block). */
export interface PdfDecryptor {
  string(data: Buffer, num: number, gen: number): Buffer | null;
  stream(data: Buffer, num: number, gen: number): Buffer | null;
  /** False when /EncryptMetadata is false: the XMP metadata stream is stored in clear. */
  encryptsMetadata: boolean;
}

const PAD = Buffer.from('28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a', 'hex');

function rc4(key: Buffer, data: Buffer): Buffer {
  const s = new Uint8Array(256);
  for (let i = 0; i < 256; i++) s[i] = i;
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = Buffer.alloc(data.length);
  for (let k = 0, i = 0, j = 0; k < data.length; k++) {
    i = (i + 1) & 0xff;
    j = (j + s[i]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out[k] = data[k]! ^ s[(s[i]! + s[j]!) & 0xff]!;
  }
  return out;
}

const md5 = (...parts: Buffer[]): Buffer => createHash('md5').update(Buffer.concat(parts)).digest();

/** AES-CBC with the IV as the data's first block and PKCS #7 padding (AESV2, AESV3); null when malformed. */
function aesCbc(key: Buffer, data: Buffer): Buffer | null {
  if (data.length < 32 || data.length % 16 !== 0) return data.length === 16 ? Buffer.alloc(0) : null;
  try {
    const decipher = createDecipheriv(key.length === 32 ? 'aes-256-cbc' : 'aes-128-cbc', key, data.subarray(0, 16));
    return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]);
  } catch {
    return null;
  }
}

/** Algorithms 2 and 6 (revisions 2 to 4): the file key of the empty user password, or null when it is not the user password. */
function rc4FileKey(f: EncryptFields): Buffer | null {
  const n = f.r === 2 ? 5 : Math.min(16, Math.max(5, Math.floor(f.lengthBits / 8)));
  const p = Buffer.alloc(4);
  p.writeInt32LE(f.p | 0);
  let hash = md5(PAD, f.o.subarray(0, 32), p, f.id0, f.r >= 4 && !f.encryptMetadata ? Buffer.from([0xff, 0xff, 0xff, 0xff]) : Buffer.alloc(0));
  if (f.r >= 3) for (let i = 0; i < 50; i++) hash = md5(hash.subarray(0, n));
  const key = hash.subarray(0, n);
  if (f.r === 2) return rc4(key, PAD).equals(f.u.subarray(0, 32)) ? key : null;
  let check = rc4(key, md5(PAD, f.id0));
  for (let i = 1; i <= 19; i++) check = rc4(Buffer.from(key.map((b) => b ^ i)), check);
  return check.equals(f.u.subarray(0, 16)) ? key : null;
}

/** Algorithm 2.B (revision 6): the hash of the empty password with `salt` (a user key's, so no /U appended). */
function hardenedHash(salt: Buffer): Buffer {
  let k = createHash('sha256').update(salt).digest();
  for (let round = 0; ; round++) {
    const k1 = Buffer.concat(Array.from({ length: 64 }, () => k));
    const cipher = createCipheriv('aes-128-cbc', k.subarray(0, 16), k.subarray(16, 32)).setAutoPadding(false);
    const e = Buffer.concat([cipher.update(k1), cipher.final()]);
    let sum = 0;
    for (let i = 0; i < 16; i++) sum += e[i]!;
    k = createHash(['sha256', 'sha384', 'sha512'][sum % 3]!).update(e).digest();
    // Rounds 0 to 63, then on until the last byte of E is at most (rounds done) - 32: at most
    // 288 rounds whatever the bytes, since a byte is at most 255.
    if (round >= 63 && e[e.length - 1]! <= round + 1 - 32) break;
  }
  return k.subarray(0, 32);
}

/** Revisions 5 and 6 (AES-256): the file key of the empty user password, or null. */
function aes256FileKey(f: EncryptFields): Buffer | null {
  if (f.u.length < 48 || !f.ue || f.ue.length < 32) return null;
  const hash = f.r === 5 ? (salt: Buffer) => createHash('sha256').update(salt).digest() : hardenedHash;
  if (!hash(f.u.subarray(32, 40)).equals(f.u.subarray(0, 32))) return null;
  try {
    const decipher = createDecipheriv('aes-256-cbc', hash(f.u.subarray(40, 48)), Buffer.alloc(16)).setAutoPadding(false);
    return Buffer.concat([decipher.update(f.ue.subarray(0, 32)), decipher.final()]);
  } catch {
    return null;
  }
}

/**
 * A decryptor for a document encrypted by the standard security handler with an empty user
 * password; otherwise why not (for a note).
 */
export function standardDecryptor(f: EncryptFields): PdfDecryptor | { problem: string } {
  if (f.filter !== 'Standard') return { problem: `it uses the ${f.filter ?? 'unnamed'} security handler, not the standard one` };
  const aes256 = f.v === 5 && (f.r === 5 || f.r === 6);
  if (!aes256 && !((f.v === 1 || f.v === 2 || f.v === 4) && f.r >= 2 && f.r <= 4)) return { problem: `its encryption (V ${f.v}, R ${f.r}) is not one this reader knows` };
  const key = aes256 ? aes256FileKey(f) : rc4FileKey(f);
  if (!key) return { problem: 'it needs a password to open' };
  const method = (cfm: string) => (f.v < 4 ? 'V2' : cfm);
  const decrypt = (cfm: string, data: Buffer, num: number, gen: number): Buffer | null => {
    if (cfm === 'Identity' || cfm === 'None') return data;
    if (cfm === 'AESV3') return aesCbc(key, data);
    const objectKey = md5(key, Buffer.from([num & 0xff, (num >> 8) & 0xff, (num >> 16) & 0xff, gen & 0xff, (gen >> 8) & 0xff]), cfm === 'AESV2' ? Buffer.from('sAlT') : Buffer.alloc(0)).subarray(
      0,
      Math.min(key.length + 5, 16),
    );
    if (cfm === 'AESV2') return aesCbc(objectKey, data);
    if (cfm === 'V2') return rc4(objectKey, data);
    return null;
  };
  return {
    string: (data, num, gen) => decrypt(method(f.stringMethod), data, num, gen),
    stream: (data, num, gen) => decrypt(method(f.streamMethod), data, num, gen),
    encryptsMetadata: f.encryptMetadata,
  };
}
