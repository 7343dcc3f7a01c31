import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/** How much of a file is read at once: a 2 GB video never sits whole in memory. */
export const SLICE_BYTES = 8 * 1024 * 1024;

/**
 * SHA-256 of a file read slice by slice (File.slice) into an incremental hash (@noble/hashes:
 * audited, pure JavaScript, so the CSP needs no 'wasm-unsafe-eval'). Web Crypto's digest takes
 * only the whole buffer at once, which a big video cannot be.
 */
export async function sha256OfBlob(blob: Blob, onProgress?: (hashed: number) => void, sliceBytes = SLICE_BYTES): Promise<string> {
  const hash = sha256.create();
  for (let offset = 0; offset < blob.size; offset += sliceBytes) {
    hash.update(new Uint8Array(await blob.slice(offset, offset + sliceBytes).arrayBuffer()));
    onProgress?.(Math.min(blob.size, offset + sliceBytes));
  }
  return bytesToHex(hash.digest());
}
