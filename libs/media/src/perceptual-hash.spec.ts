import { describe, expect, it } from 'vitest';
import { HASH_INPUT_SIDE, hammingDistance, MIN_HASH_DETAIL, perceptualHashFromGreyscale } from './perceptual-hash.js';

const N = HASH_INPUT_SIDE;
const image = (f: (x: number, y: number) => number) => {
  const pixels = new Uint8Array(N * N);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) pixels[y * N + x] = Math.round(f(x, y));
  return pixels;
};
// A structured scene: a bright disc and a diagonal band on a gradient.
const scene = (x: number, y: number) =>
  60 + x * 2 + ((x - 10) ** 2 + (y - 12) ** 2 < 40 ? 80 : 0) + (Math.abs(x - y - 8) < 3 ? 50 : 0);
/** The hash of a picture that has one (fails the test otherwise). */
const hashOf = (pixels: Uint8Array): string => {
  const hash = perceptualHashFromGreyscale(pixels);
  if (hash === null) throw new Error('expected a perceptual hash, got none');
  return hash;
};

describe('perceptualHashFromGreyscale', () => {
  it('is 16 lowercase hex digits', () => {
    expect(hashOf(image(scene))).toMatch(/^[0-9a-f]{16}$/);
  });

  it('ignores overall brightness and contrast (the DC term is excluded)', () => {
    const base = hashOf(image(scene));
    expect(hashOf(image((x, y) => scene(x, y) + 20))).toBe(base);
    expect(hashOf(image((x, y) => scene(x, y) * 0.5))).toBe(base);
  });

  it('tells different structures apart', () => {
    const horizontal = hashOf(image((x) => x * 8));
    const vertical = hashOf(image((_, y) => y * 8));
    const sceneHash = hashOf(image(scene));
    expect(hammingDistance(horizontal, vertical)).toBeGreaterThan(10);
    expect(hammingDistance(sceneHash, vertical)).toBeGreaterThan(10);
  });

  it('changes little under mild noise', () => {
    let seed = 7;
    const noise = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 6;
    const clean = hashOf(image(scene));
    const noisy = hashOf(image((x, y) => scene(x, y) + noise()));
    expect(hammingDistance(clean, noisy)).toBeLessThanOrEqual(6);
  });

  it('gives no hash to a picture without detail, whatever its brightness (else every flat picture is a near duplicate of every other)', () => {
    for (const grey of [0, 13, 128, 255]) expect(perceptualHashFromGreyscale(image(() => grey))).toBeNull();
    // Two halves one grey level apart: a standard deviation of 0.5.
    expect(perceptualHashFromGreyscale(image((x) => (x < N / 2 ? 100 : 101)))).toBeNull();
  });

  it(`hashes a faint scene from ${MIN_HASH_DETAIL} grey level of standard deviation, as it hashes the scene`, () => {
    // The scene at 1/30 of its contrast: a standard deviation of 1.15 once rounded to whole levels.
    const faint = hashOf(image((x, y) => 100 + (scene(x, y) - 60) / 30));
    expect(hammingDistance(faint, hashOf(image(scene)))).toBeLessThanOrEqual(6);
    // At 1/40 (0.91) it has too little detail.
    expect(perceptualHashFromGreyscale(image((x, y) => 100 + (scene(x, y) - 60) / 40))).toBeNull();
  });

  it('rejects input of the wrong size', () => {
    expect(() => perceptualHashFromGreyscale(new Uint8Array(N * N - 1))).toThrow(RangeError);
  });
});

describe('hammingDistance', () => {
  it('counts differing bits', () => {
    expect(hammingDistance('0123456789abcdef', '0123456789abcdef')).toBe(0);
    expect(hammingDistance('0000000000000000', 'ffffffffffffffff')).toBe(64);
    expect(hammingDistance('8000000000000000', '0000000000000000')).toBe(1);
    expect(hammingDistance('0000000000000001', '0000000000000003')).toBe(1);
    expect(hammingDistance('00000000000000ff', 'ff00000000000000')).toBe(16);
    expect(hammingDistance('ABCDEF0000000000', 'abcdef0000000000')).toBe(0);
  });

  it('rejects anything but two 64-bit hex hashes', () => {
    expect(() => hammingDistance('abc', '0000000000000000')).toThrow(RangeError);
    expect(() => hammingDistance('000000000000000g', '0000000000000000')).toThrow(RangeError);
    expect(() => hammingDistance('0000000000000000', '00000000000000000')).toThrow(RangeError);
  });
});
