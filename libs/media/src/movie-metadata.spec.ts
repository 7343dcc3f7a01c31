import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { extractEmbeddedMetadata } from './metadata.js';
import { macRoman, orientationFromMatrix, parseIso6709, readMovieMetadata } from './movie-metadata.js';
import { box, data, ftyp, fullBox, hdlr, loci, lyingBox, mdtaMeta, mvhd, qtString, since1904, stsd, tkhd, videoTrak } from './test-support/boxes.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());
let counter = 0;
const write = (bytes: Buffer, ext = 'mov') => scratch.write(`movie-${counter++}.${ext}`, bytes);
const read = async (bytes: Buffer) => readMovieMetadata(write(bytes));
const mdat = box('mdat', Buffer.alloc(64));

describe('parseIso6709', () => {
  it.each([
    ['+50.0268+036.3458+112.000/', { lat: 50.0268, lon: 36.3458, altitudeM: 112 }],
    ['+50.0268+036.3458/', { lat: 50.0268, lon: 36.3458, altitudeM: null }],
    ['-33.8568+151.2153-012.5/', { lat: -33.8568, lon: 151.2153, altitudeM: -12.5 }],
    ['+5001.608+03620.748/', { lat: 50 + 1.608 / 60, lon: 36 + 20.748 / 60, altitudeM: null }],
    ['+500136.5-0362044.9/', { lat: 50 + 1 / 60 + 36.5 / 3600, lon: -(36 + 20 / 60 + 44.9 / 3600), altitudeM: null }],
    ['+35.36+138.73+3776CRSWGS_84/', { lat: 35.36, lon: 138.73, altitudeM: 3776 }],
    ['+48.4647+35.0462/', { lat: 48.4647, lon: 35.0462, altitudeM: null }],
    [' +1.5-2.25/ ', { lat: 1.5, lon: -2.25, altitudeM: null }],
  ])('%s', (text, expected) => {
    const parsed = parseIso6709(text);
    expect(parsed).not.toBeNull();
    expect(parsed).not.toBe('zero');
    const { lat, lon, altitudeM } = parsed as { lat: number; lon: number; altitudeM: number | null };
    expect(lat).toBeCloseTo(expected.lat, 9);
    expect(lon).toBeCloseTo(expected.lon, 9);
    expect(altitudeM).toBe(expected.altitudeM);
  });

  it('calls 0,0 no position and refuses what is not ISO 6709', () => {
    expect(parseIso6709('+00.0000+000.0000/')).toBe('zero');
    expect(parseIso6709('+00.0000+000.0000+000.000/')).toBe('zero');
    for (const bad of ['', '/', '50.0268,36.3458', '+91.0+000.0/', '+10.0+181.0/', '+5060.0+03600.0/', '+123+000/', '+1.0', 'x+1.0+2.0/', '+1.0+2.0/x']) {
      expect(parseIso6709(bad), bad).toBeNull();
    }
  });
});

describe('orientationFromMatrix', () => {
  it('maps rotations and mirrors to EXIF orientations, whatever the scale', () => {
    expect(orientationFromMatrix(1, 0, 0, 1)).toBe(1);
    expect(orientationFromMatrix(0, 1, -1, 0)).toBe(6); // ExifTool Rotation 90
    expect(orientationFromMatrix(-1, 0, 0, -1)).toBe(3);
    expect(orientationFromMatrix(0, -1, 1, 0)).toBe(8); // 270
    expect(orientationFromMatrix(-1, 0, 0, 1)).toBe(2);
    expect(orientationFromMatrix(1, 0, 0, -1)).toBe(4);
    expect(orientationFromMatrix(0, 1, 1, 0)).toBe(5);
    expect(orientationFromMatrix(0, -1, -1, 0)).toBe(7);
    expect(orientationFromMatrix(0, 2, -2, 0)).toBe(6);
    expect(orientationFromMatrix(0.7071, 0.7071, -0.7071, 0.7071)).toBeNull(); // 45°
    expect(orientationFromMatrix(0, 0, 0, 0)).toBeNull();
  });
});

describe('macRoman', () => {
  it('decodes the high half', () => {
    expect(macRoman(Buffer.from([0x43, 0x61, 0x66, 0x8e]))).toBe('Café');
    expect(macRoman(Buffer.from([0xa9, 0xa8]))).toBe('©®');
  });
});

describe('readMovieMetadata on the fixtures', () => {
  it('android.mp4: mvhd time, udta ©xyz as MPEG4Writer writes it, com.android keys', async () => {
    const meta = await readMovieMetadata(fixture('android.mp4'));
    expect(meta).toMatchObject({
      capturedAt: '2023-10-07T03:30:00.000Z',
      capturedAtOffset: '+00:00',
      location: { lat: 50.0268, lon: 36.3458, altitudeM: null },
      device: { make: 'samsung', model: 'SM-A536B', software: '13' },
      orientation: 1,
      width: 32,
      height: 24,
      durationS: 1,
      notes: [],
    });
  });

  it("apple.mov: Apple's creationdate with its offset wins over a local-time mvhd", async () => {
    const meta = await readMovieMetadata(fixture('apple.mov'));
    expect(meta).toMatchObject({
      capturedAt: '2024-02-24T03:12:33.000Z',
      capturedAtOffset: '+02:00',
      location: { lat: 48.4647, lon: 35.0462, altitudeM: 142.5 },
      device: { make: 'Apple', model: 'iPhone 15 Pro', software: '17.3.1' },
      notes: [],
    });
  });

  it('rotated.mov: the tkhd matrix gives orientation 6, the size stays as stored', async () => {
    expect(await readMovieMetadata(fixture('rotated.mov'))).toMatchObject({
      orientation: 6,
      width: 32,
      height: 24,
      location: { lat: 49.9935, lon: 36.2304, altitudeM: 152 },
      device: { make: 'GoPro', model: 'HERO11 Black', software: null },
      notes: [],
    });
  });

  it('clip.3gp and voice.m4a: 3GPP loci, audio without picture fields', async () => {
    expect(await readMovieMetadata(fixture('clip.3gp'))).toMatchObject({
      capturedAt: '2021-05-15T09:00:00.000Z',
      location: { lat: -1.292099, lon: 36.821899, altitudeM: 0 },
      width: 32,
      notes: [],
    });
    expect(await readMovieMetadata(fixture('voice.m4a'))).toMatchObject({
      capturedAt: '2023-01-15T08:50:05.000Z',
      location: { lat: 28.613892, lon: 77.209, altitudeM: 0 },
      orientation: null,
      width: null,
      height: null,
      durationS: 1,
      notes: [],
    });
  });

  it('is silent about files that are not movies, and about HEIF images', async () => {
    for (const name of ['exif.heic', 'scene-a.jpg', 'random.bin', 'document.pdf', 'clip.webm']) {
      expect(await readMovieMetadata(fixture(name)), name).toBeNull();
    }
  });
});

describe('readMovieMetadata on built movies', () => {
  it('reads moov before a 64-bit mdat, mvhd version 1, and wide/free boxes', async () => {
    const big = lyingBox('mdat', 16n + 32n, Buffer.alloc(32));
    const meta = await read(Buffer.concat([box('wide'), ftyp(), box('moov', mvhd({ version: 1, created: since1904('2020-01-01T00:00:00Z'), timescale: 90000, duration: 90000 * 61 })), big]));
    expect(meta).toMatchObject({ capturedAt: '2020-01-01T00:00:00.000Z', durationS: 61, notes: [] });
  });

  it('treats a zero creation time as no time, and a pre-1970 one as implausible (with a note)', async () => {
    expect(await read(Buffer.concat([ftyp(), mdat, box('moov', mvhd({ created: 0 }))]))).toMatchObject({ capturedAt: null, notes: [] });
    const old = await read(Buffer.concat([ftyp(), mdat, box('moov', mvhd({ created: 1000 }))]));
    expect(old?.capturedAt).toBeNull();
    expect(old?.notes.join()).toMatch(/creation time .* not a plausible date/);
  });

  it('prefers mvhd to an Apple date without offset, and takes a zone-less one when alone', async () => {
    const keys = mdtaMeta({ 'com.apple.quicktime.creationdate': '2024-02-24T05:12:33' });
    const withMvhd = await read(Buffer.concat([ftyp(), box('moov', mvhd({ created: since1904('2024-02-24T03:12:33Z') }), keys)]));
    expect(withMvhd).toMatchObject({ capturedAt: '2024-02-24T03:12:33.000Z', capturedAtOffset: '+00:00' });
    const alone = await read(Buffer.concat([ftyp(), box('moov', mvhd(), keys)]));
    expect(alone).toMatchObject({ capturedAt: '2024-02-24T05:12:33', capturedAtOffset: null });
  });

  it("reads the 'location' key, udta strings in data atoms, Mac Roman strings and an iTunes ilst", async () => {
    const itunes = fullBox('meta', 0, hdlr('mdir'), box('ilst', box('\xa9xyz', data('+10.5-020.25/')), box('\xa9day', data('2019-04-10T14:42:30+0300'))));
    const meta = await read(
      Buffer.concat([
        ftyp('mp42'),
        box(
          'moov',
          mvhd(),
          box('udta', box('\xa9mak', data('Sony')), qtString('\xa9mod', Buffer.from([0x43, 0x61, 0x66, 0x8e]), 0), itunes),
          mdtaMeta({ location: '+50.0+030.0/' }),
        ),
      ]),
    );
    expect(meta).toMatchObject({
      capturedAt: '2019-04-10T11:42:30.000Z',
      capturedAtOffset: '+03:00',
      location: { lat: 50, lon: 30, altitudeM: null },
      device: { make: 'Sony', model: 'Café', software: null },
      notes: [],
    });
    // Without the key, the ilst position is used.
    const ilstOnly = await read(Buffer.concat([ftyp('mp42'), box('moov', mvhd(), box('udta', itunes))]));
    expect(ilstOnly?.location).toEqual({ lat: 10.5, lon: -20.25, altitudeM: null });
  });

  it('reads loci, gives 0,0 as no position, and notes a position it cannot parse', async () => {
    expect((await read(Buffer.concat([ftyp('3gp6'), box('moov', mvhd(), box('udta', loci(-22.5, -43.25, 700)))])))?.location).toEqual({
      lat: -22.5,
      lon: -43.25,
      altitudeM: 700,
    });
    const zero = await read(Buffer.concat([ftyp(), box('moov', mvhd(), box('udta', qtString('\xa9xyz', '+00.0000+000.0000/')))]));
    expect(zero).toMatchObject({ location: null, notes: [] });
    // A position written another way is not read, and its note does not repeat it (notes travel where positions may not).
    const bad = await read(Buffer.concat([ftyp(), box('moov', mvhd(), box('udta', qtString('\xa9xyz', '50.4501N 30.5234E')))]));
    expect(bad?.location).toBeNull();
    expect(bad?.notes.join()).toMatch(/'©xyz' \(17 characters\) is not an ISO 6709 position/);
    expect(bad?.notes.join()).not.toMatch(/50\.45|30\.52/);
    const impossible = await read(Buffer.concat([ftyp('3gp6'), box('moov', mvhd(), box('udta', loci(95.25, 30.5, 0)))]));
    expect(impossible?.location).toBeNull();
    expect(impossible?.notes.join()).toMatch(/'loci' gives an impossible position/);
    expect(impossible?.notes.join()).not.toMatch(/95\.25|30\.5/);
  });

  it('takes size and rotation from the first video track, falling back to stsd', async () => {
    const sound = box('trak', box('mdia', hdlr('soun')));
    const meta = await read(Buffer.concat([ftyp(), box('moov', mvhd(), sound, videoTrak([0, -1, 1, 0], 1920, 1080))]));
    expect(meta).toMatchObject({ orientation: 8, width: 1920, height: 1080 });
    const stsdOnly = box('trak', tkhd([1, 0, 0, 1], 0, 0), box('mdia', hdlr('vide'), box('minf', box('stbl', stsd(640, 480)))));
    expect(await read(Buffer.concat([ftyp(), box('moov', mvhd(), stsdOnly)]))).toMatchObject({ orientation: 1, width: 640, height: 480 });
    const skewed = await read(Buffer.concat([ftyp(), box('moov', mvhd(), videoTrak([0.5, 0.5, -0.5, 0.5], 640, 480))]));
    expect(skewed?.orientation).toBeNull();
    expect(skewed?.notes.join()).toMatch(/not a multiple of 90 degrees/);
  });

  it('takes the duration of a fragmented movie from mehd', async () => {
    const mehd = fullBox('mehd', 0, Buffer.from([0, 0, 0x75, 0x30])); // 30000
    expect((await read(Buffer.concat([ftyp('iso6'), box('moov', mvhd({ duration: 0 }), box('mvex', mehd))])))?.durationS).toBe(30);
  });
});

describe('readMovieMetadata on hostile movies: never throws, says what it could not read', () => {
  /** Every box boundary of an ISO-BMFF file, descending into the containers this reader reads. */
  function boundaries(bytes: Buffer): number[] {
    const cuts = new Set<number>();
    const containers = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'udta', 'ilst', 'mvex', 'edts']);
    const walk = (from: number, to: number, depth: number) => {
      for (let at = from; at + 8 <= to && depth < 12; ) {
        const size = bytes.readUInt32BE(at);
        const type = bytes.toString('latin1', at + 4, at + 8);
        if (size < 8 || at + size > to) return;
        cuts.add(at);
        cuts.add(at + 8);
        if (containers.has(type)) walk(at + 8, at + size, depth + 1);
        if (type === 'meta') walk(at + 8 + (bytes.readUInt32BE(at + 8) === 0 ? 4 : 0), at + size, depth + 1);
        at += size;
        cuts.add(at);
      }
    };
    walk(0, bytes.length, 0);
    cuts.delete(bytes.length);
    return [...cuts].sort((a, b) => a - b);
  }

  it.each(['android.mp4', 'apple.mov', 'rotated.mov', 'clip.3gp', 'voice.m4a', 'movie-header.mp4'])(
    'truncated at every box boundary of %s',
    async (name) => {
      const bytes = readFileSync(fixture(name));
      const cuts = boundaries(bytes);
      expect(cuts.length).toBeGreaterThan(name === 'movie-header.mp4' ? 5 : 20);
      for (const cut of cuts) {
        const file = write(bytes.subarray(0, cut), 'mp4');
        const meta = await readMovieMetadata(file);
        if (cut < 8) {
          expect(meta, `cut at ${cut}`).toBeNull();
          continue;
        }
        expect(meta?.notes.length, `cut at ${cut}`).toBeGreaterThan(0);
        const extracted = await extractEmbeddedMetadata(file);
        expect(extracted?.notes?.length, `cut at ${cut}`).toBeGreaterThan(0);
      }
    },
  );

  it("truncated at every byte of apple.mov's movie box", async () => {
    const bytes = readFileSync(fixture('apple.mov'));
    for (let cut = bytes.indexOf('moov') - 4; cut < bytes.length; cut++) {
      const meta = await read(bytes.subarray(0, cut));
      expect(meta?.notes.length, `cut at ${cut}`).toBeGreaterThan(0);
    }
  });

  it('a box claiming 2^63 bytes', async () => {
    const meta = await read(Buffer.concat([ftyp(), lyingBox('mdat', 2n ** 63n, Buffer.alloc(64)), box('moov', mvhd())]));
    expect(meta?.durationS).toBeNull();
    expect(meta?.notes.join('\n')).toMatch(/'mdat' at byte \d+ runs past the end of the file/);
    expect(meta?.notes.join('\n')).toMatch(/no movie box/);
    // Inside moov, the liar is clamped to its container; what came before it is still read.
    const inner = await read(Buffer.concat([ftyp(), box('moov', mvhd({ created: since1904('2021-01-01T00:00:00Z') }), lyingBox('udta', 2n ** 63n - 1n, Buffer.alloc(8)))]));
    expect(inner?.capturedAt).toBe('2021-01-01T00:00:00.000Z');
  });

  it('deep nesting', async () => {
    let nested = qtString('\xa9xyz', '+10.0+010.0/');
    for (let i = 0; i < 5000; i++) nested = box(i % 2 ? 'udta' : 'meta', nested);
    let trakNest = videoTrak([1, 0, 0, 1], 10, 10);
    for (let i = 0; i < 5000; i++) trakNest = box('trak', trakNest);
    const started = performance.now();
    const meta = await read(Buffer.concat([ftyp(), box('moov', mvhd(), box('udta', nested), trakNest)]));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(meta).not.toBeNull();
    expect(meta?.location).toBeNull(); // not where a position lives
  });

  it('a 100 MB ©xyz claim, in a small file and in a sparse 100 MB one', async () => {
    const claim = Buffer.alloc(8);
    claim.writeUInt32BE(100 * 1024 * 1024, 0);
    claim.write('\xa9xyz', 4, 'latin1');
    const small = await read(Buffer.concat([ftyp(), box('moov', mvhd(), box('udta', claim, Buffer.from([0, 18, 0x15, 0xc7]), Buffer.from('+50.0268+036.3458/')))]));
    expect(small?.notes.join()).toMatch(/'©xyz' in 'udta' claims more bytes than its container holds/);

    // A real 100 MB file whose udta ends with a 100 MB ©xyz: not read (64 KiB limit), no big read.
    const file = scratch.path('huge-xyz.mov');
    const head = Buffer.concat([ftyp(), mdat]);
    const moovStart = head.length;
    const mvhdBox = mvhd();
    const total = 100 * 1024 * 1024 + 4096;
    const udtaSize = total - moovStart - 8 - mvhdBox.length;
    const moovHead = Buffer.alloc(8);
    moovHead.writeUInt32BE(total - moovStart, 0);
    moovHead.write('moov', 4, 'latin1');
    const udtaHead = Buffer.alloc(8);
    udtaHead.writeUInt32BE(udtaSize, 0);
    udtaHead.write('udta', 4, 'latin1');
    const xyzHead = Buffer.alloc(12);
    xyzHead.writeUInt32BE(udtaSize - 8, 0);
    xyzHead.write('\xa9xyz', 4, 'latin1');
    xyzHead.writeUInt16BE(0xffff, 8);
    const start = Buffer.concat([head, moovHead, mvhdBox, udtaHead, xyzHead]);
    const fd = openSync(file, 'w');
    writeSync(fd, start, 0, start.length, 0);
    writeSync(fd, Buffer.from([0]), 0, 1, total - 1);
    closeSync(fd);
    const rss = process.memoryUsage().rss;
    const meta = await readMovieMetadata(file);
    expect(process.memoryUsage().rss - rss).toBeLessThan(32 * 1024 * 1024);
    expect(meta?.durationS).toBe(1);
    expect(meta?.notes.join()).toMatch(/'©xyz' in 'udta' is \d+ bytes, over the 65536-byte limit; not read/);
  });

  it('garbage after ftyp', async () => {
    const garbage = Buffer.alloc(512);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) & 0xff;
    const meta = await read(Buffer.concat([ftyp('isom'), garbage]));
    expect(meta?.notes.join('\n')).toMatch(/unreadable box header at byte 20/);
    expect((await extractEmbeddedMetadata(write(Buffer.concat([ftyp('isom'), garbage]), 'mp4')))?.notes?.length).toBeGreaterThan(0);
  });

  it('too many boxes, too many keys, a lying QuickTime string', async () => {
    const many = Buffer.concat([ftyp(), ...Array.from({ length: 12_000 }, () => box('free'))]);
    const meta = await read(many);
    expect(meta?.notes.join()).toMatch(/reading stopped after more than 4096 reads|more than 10000 top-level boxes/);

    const keys = fullBox('keys', 0, Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from([0, 0, 0, 12]), Buffer.from('mdtaabcd', 'latin1'));
    const lots = await read(Buffer.concat([ftyp(), box('moov', mvhd(), box('meta', hdlr('mdta'), keys, box('ilst')))]));
    expect(lots?.notes.join()).toMatch(/'keys' is truncated after 1 of 4294967295 keys/);

    const liar = Buffer.from([0xff, 0xf0, 0x55, 0xc4, 0x2b]);
    const lying = await read(Buffer.concat([ftyp(), box('moov', mvhd(), box('udta', box('\xa9mak', liar)))]));
    expect(lying?.device).toBeNull();
    expect(lying?.notes.join()).toMatch(/'©mak' claims a 65520-byte string in 1 bytes/);
  });

  it('a 2 GiB sparse video with moov at the end costs a few small reads', async () => {
    const file = scratch.path('long.mov');
    const moov = box('moov', mvhd({ created: since1904('2022-02-24T03:40:00Z') }), videoTrak([0, 1, -1, 0], 3840, 2160), box('udta', qtString('\xa9xyz', '+49.9935+036.2304/')));
    const fd = openSync(file, 'w');
    const head = Buffer.concat([ftyp(), lyingBox('mdat', 16n + 2n ** 31n)]);
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, moov, 0, moov.length, head.length - 16 + 16 + 2 ** 31);
    closeSync(fd);
    const started = performance.now();
    expect(await readMovieMetadata(file)).toMatchObject({ orientation: 6, width: 3840, location: { lat: 49.9935 }, notes: [] });
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
