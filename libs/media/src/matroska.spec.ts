import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readMatroskaMetadata } from './matroska.js';
import { extractEmbeddedMetadata } from './metadata.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());
let counter = 0;
const read = (bytes: Buffer) => readMatroskaMetadata(scratch.write(`mkv-${counter++}.mkv`, bytes));

// --- EBML builders -----------------------------------------------------------------------------
const UNKNOWN = -1;

function idBytes(id: number): Buffer {
  const hex = id.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

/** An 8-byte size vint (or "unknown", all ones). */
function size(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  if (n === UNKNOWN) return Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  b.writeBigUInt64BE(BigInt(n), 0);
  b[0] = 0x01;
  return b;
}

const el = (id: number, ...payload: Buffer[]) => {
  const body = Buffer.concat(payload);
  return Buffer.concat([idBytes(id), size(body.length), body]);
};
const elSized = (id: number, claimed: number | bigint, ...payload: Buffer[]) => Buffer.concat([idBytes(id), size(claimed), ...payload]);
const uintEl = (id: number, v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v), 0);
  return el(id, b);
};
const floatEl = (id: number, v: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v, 0);
  return el(id, b);
};

const EBML = el(0x1a45dfa3, el(0x4286, Buffer.from([1])), el(0x4282, Buffer.from('webm')));
const info = (durationMs: number | null, dateNs?: bigint) =>
  el(
    0x1549a966,
    uintEl(0x2ad7b1, 1_000_000),
    ...(durationMs === null ? [] : [floatEl(0x4489, durationMs)]),
    ...(dateNs === undefined ? [] : [el(0x4461, (() => { const b = Buffer.alloc(8); b.writeBigInt64BE(dateNs, 0); return b; })())]),
  );
const tracks = (w: number, h: number) =>
  el(0x1654ae6b, el(0xae, uintEl(0x83, 2)), el(0xae, uintEl(0x83, 1), el(0xe0, uintEl(0xb0, w), uintEl(0xba, h))));
const cluster = el(0x1f43b675, uintEl(0xe7, 0), el(0xa3, Buffer.alloc(32)));

describe('readMatroskaMetadata', () => {
  it('clip.webm: duration x TimecodeScale, DateUTC, the video track size', async () => {
    expect(await readMatroskaMetadata(fixture('clip.webm'))).toEqual({
      capturedAt: '2020-02-02T02:02:02.000Z',
      capturedAtOffset: '+00:00',
      width: 32,
      height: 24,
      durationS: 1.008,
      notes: [],
    });
  });

  it('clip.mkv: no DateUTC is no time (and no note)', async () => {
    expect(await readMatroskaMetadata(fixture('clip.mkv'))).toEqual({
      capturedAt: null,
      capturedAtOffset: null,
      width: 48,
      height: 32,
      durationS: 1,
      notes: [],
    });
  });

  it('is silent about files that are not EBML', async () => {
    for (const name of ['apple.mov', 'scene-a.jpg', 'document.pdf', 'random.bin']) expect(await readMatroskaMetadata(fixture(name)), name).toBeNull();
  });

  it('a live recording: unknown-size Segment and Cluster, no Duration', async () => {
    const file = Buffer.concat([EBML, idBytes(0x18538067), size(UNKNOWN), info(null), tracks(640, 360), idBytes(0x1f43b675), size(UNKNOWN), Buffer.alloc(100)]);
    const meta = await read(file);
    expect(meta).toMatchObject({ width: 640, height: 360, durationS: null });
    expect(meta?.notes).toEqual(['Matroska: Segment Info has no Duration (a live recording?)']);
  });

  it('follows the SeekHead to Info and Tracks written after the media', async () => {
    const seekHeadFor = (positions: [number, number][]) =>
      el(0x114d9b74, ...positions.map(([id, at]) => el(0x4dbb, el(0x53ab, idBytes(id)), uintEl(0x53ac, at))));
    const placeholder = seekHeadFor([[0x1549a966, 0], [0x1654ae6b, 0]]);
    const infoAt = placeholder.length + cluster.length;
    const infoEl = info(90_500, 700_000_000_000_000_000n);
    const seekHead = seekHeadFor([[0x1549a966, infoAt], [0x1654ae6b, infoAt + infoEl.length]]);
    const body = Buffer.concat([seekHead, cluster, infoEl, tracks(1920, 1080)]);
    const meta = await read(Buffer.concat([EBML, el(0x18538067, body)]));
    expect(meta).toEqual({
      capturedAt: '2023-03-08T20:26:40.000Z', // 7e17 ns after 2001-01-01
      capturedAtOffset: '+00:00',
      width: 1920,
      height: 1080,
      durationS: 90.5,
      notes: [],
    });
  });

  it('an element with an absurd size', async () => {
    const absurd = elSized(0xec, 2n ** 56n - 2n, Buffer.alloc(16)); // a Void "of 64 PiB"
    const meta = await read(Buffer.concat([EBML, el(0x18538067, info(1000), absurd, tracks(10, 10))]));
    expect(meta?.durationS).toBe(1);
    expect(meta?.notes.join('\n')).toMatch(/element 0xec at byte \d+ claims more bytes than the file holds/);
    const absurdSegment = await read(Buffer.concat([EBML, elSized(0x18538067, 2n ** 55n, info(2000), tracks(8, 8))]));
    expect(absurdSegment).toMatchObject({ durationS: 2, width: 8, height: 8 });
    expect(absurdSegment?.notes.join()).toMatch(/Segment runs past the end of the file/);
    const absurdInfo = await read(Buffer.concat([EBML, el(0x18538067, elSized(0x1549a966, 2n ** 50n, floatEl(0x4489, 5)))]));
    expect(absurdInfo?.notes.length).toBeGreaterThan(0);
  });

  it('a foreign DocType, garbage after the header, too many elements', async () => {
    const foreign = Buffer.concat([el(0x1a45dfa3, el(0x4282, Buffer.from('nope'))), el(0x18538067, info(1000))]);
    expect((await read(foreign))?.notes.join()).toMatch(/document type "nope" is not Matroska or WebM/);
    const garbage = Buffer.concat([EBML, Buffer.alloc(64)]);
    expect((await read(garbage))?.notes.join()).toMatch(/no Segment after the EBML header/);
    const voids = Array.from({ length: 400 }, () => el(0xec));
    const many = await read(Buffer.concat([EBML, el(0x18538067, ...voids, info(1000))]));
    expect(many?.notes.join()).toMatch(/more than 256 top-level elements/);
  });

  /** Every element boundary (start, after the ID, after the size, end), through the master elements. */
  function boundaries(bytes: Buffer): number[] {
    const masters = new Set([0x1a45dfa3, 0x18538067, 0x114d9b74, 0x4dbb, 0x1549a966, 0x1654ae6b, 0xae, 0xe0, 0xe1, 0x1254c367, 0x7373, 0x63c0, 0x67c8, 0x1f43b675, 0xa0, 0x1c53bb6b, 0xbb, 0xb7]);
    const cuts = new Set<number>();
    const vint = (at: number, keep: boolean) => {
      const length = Math.clz32(bytes[at]) - 23;
      let value = keep ? bytes[at] : bytes[at] & (0xff >> length);
      for (let i = 1; i < length; i++) value = value * 256 + bytes[at + i];
      return { value, length };
    };
    const walk = (from: number, to: number) => {
      for (let at = from; at < to; ) {
        const id = vint(at, true);
        const len = vint(at + id.length, false);
        const start = at + id.length + len.length;
        const end = Math.min(to, start + len.value);
        cuts.add(at).add(at + id.length).add(start);
        if (masters.has(id.value)) walk(start, end);
        cuts.add(end);
        at = end;
      }
    };
    walk(0, bytes.length);
    cuts.delete(bytes.length);
    return [...cuts].sort((a, b) => a - b);
  }

  it.each(['clip.webm', 'clip.mkv'])('truncated at every element boundary of %s: never throws, always says so', async (name) => {
    const bytes = readFileSync(fixture(name));
    const cuts = boundaries(bytes);
    expect(cuts.length).toBeGreaterThan(30);
    for (const cut of [0, 1, 2, 3, ...cuts]) {
      const meta = await read(bytes.subarray(0, cut));
      if (cut < 4) expect(meta, `cut at ${cut}`).toBeNull();
      else expect(meta?.notes.length, `cut at ${cut}`).toBeGreaterThan(0);
    }
    for (const cut of cuts.filter((_, i) => i % 8 === 0)) {
      const extracted = await extractEmbeddedMetadata(scratch.write(`cut-${cut}-${name}`, bytes.subarray(0, cut)));
      if (cut >= 4) expect(extracted?.notes?.length, `cut at ${cut}`).toBeGreaterThan(0);
    }
  });

  it('truncated at every byte of the first KiB of clip.webm (headers, Info, Tracks)', async () => {
    const bytes = readFileSync(fixture('clip.webm'));
    for (let cut = 4; cut < 1024; cut++) expect((await read(bytes.subarray(0, cut)))?.notes.length, `cut at ${cut}`).toBeGreaterThan(0);
  });
});
