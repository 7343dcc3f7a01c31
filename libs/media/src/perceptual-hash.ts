// DCT perceptual hash (pHash): 32x32 greyscale -> 2-D DCT -> the 8x8 lowest frequencies after
// the DC term (rows and columns 1..8, as pHash.org does) -> one bit per coefficient above their
// median. Chosen over dHash because it survives resizing and recompression better.
// A picture with no detail at that size (a black pocket shot, a blank page, a lens cap) gets no
// hash: its coefficients are rounding noise, the same for every such picture (every black one
// hashes to 0), so it would be a "near duplicate" of every other unrelated flat picture.

/** Side of the greyscale square the hash is computed from. */
export const HASH_INPUT_SIDE = 32;
const BLOCK = 8;
/**
 * Standard deviation of the 32x32 greyscale, in grey levels of 255, below which a picture has no
 * detail to hash. Real scenes have tens (the fixtures' photos 34 to 40); a flat picture has 0, and
 * a dark frame of pure sensor noise under 0.5 once averaged down to 32x32 (its hash would be noise).
 */
export const MIN_HASH_DETAIL = 1;

// cos((2x + 1) * u * pi / 64) for u = 1..8, x = 0..31; normalisation cancels in the median test.
const COSINES: Float64Array[] = Array.from({ length: BLOCK }, (_, i) => {
  const u = i + 1;
  const row = new Float64Array(HASH_INPUT_SIDE);
  for (let x = 0; x < HASH_INPUT_SIDE; x++) row[x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * HASH_INPUT_SIDE));
  return row;
});

/**
 * 64-bit pHash, as 16 lowercase hex digits, of 32x32 one-byte greyscale pixels in row-major order;
 * null when the picture has too little detail to hash (see MIN_HASH_DETAIL).
 */
export function perceptualHashFromGreyscale(pixels: Uint8Array): string | null {
  const n = HASH_INPUT_SIDE;
  if (pixels.length !== n * n) {
    throw new RangeError(`perceptual hash needs ${n}x${n} = ${n * n} greyscale bytes, got ${pixels.length}`);
  }
  if (standardDeviation(pixels) < MIN_HASH_DETAIL) return null;
  // Separable DCT: first along x for each row, then along y, only for the 8 frequencies kept.
  const rows: Float64Array[] = [];
  for (let y = 0; y < n; y++) {
    const out = new Float64Array(BLOCK);
    for (let u = 0; u < BLOCK; u++) {
      let sum = 0;
      for (let x = 0; x < n; x++) sum += pixels[y * n + x] * COSINES[u][x];
      out[u] = sum;
    }
    rows.push(out);
  }
  const coefficients: number[] = [];
  for (let v = 0; v < BLOCK; v++) {
    for (let u = 0; u < BLOCK; u++) {
      let sum = 0;
      for (let y = 0; y < n; y++) sum += rows[y][u] * COSINES[v][y];
      coefficients.push(sum);
    }
  }
  const sorted = [...coefficients].sort((a, b) => a - b);
  const median = (sorted[31] + sorted[32]) / 2;
  let bits = 0n;
  for (const c of coefficients) bits = (bits << 1n) | (c > median ? 1n : 0n);
  return bits.toString(16).padStart(16, '0');
}

function standardDeviation(pixels: Uint8Array): number {
  let sum = 0;
  let squares = 0;
  for (const p of pixels) {
    sum += p;
    squares += p * p;
  }
  const mean = sum / pixels.length;
  return Math.sqrt(Math.max(0, squares / pixels.length - mean * mean));
}

const HASH_PATTERN = /^[0-9a-f]{16}$/i;

/** Number of differing bits between two 64-bit hex perceptual hashes (0 = same picture, 64 = opposite). */
export function hammingDistance(a: string, b: string): number {
  if (!HASH_PATTERN.test(a) || !HASH_PATTERN.test(b)) {
    throw new RangeError('hammingDistance expects two 16-hex-digit perceptual hashes');
  }
  let diff = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let count = 0;
  while (diff > 0n) {
    diff &= diff - 1n;
    count++;
  }
  return count;
}
