// A RIFF AVI built in memory for specs: streams described in 'hdrl' ('strh' type and handler,
// 'strf' with the video's biCompression) and chunks in 'movi'.

const chunk = (id: string, body: Buffer): Buffer => {
  const header = Buffer.alloc(8);
  header.write(id, 0, 'latin1');
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body, Buffer.alloc(body.length & 1)]);
};
const list = (type: string, ...children: Buffer[]): Buffer => chunk('LIST', Buffer.concat([Buffer.from(type, 'latin1'), ...children]));

export interface AviStream {
  type: 'vids' | 'auds';
  /** A video's compression (strf biCompression, also strh's handler): 'MJPG', 'dvsd', 'XVID'. */
  codec?: string;
}

export function buildAvi(streams: AviStream[], frames: { id: string; data: Buffer }[]): Buffer {
  const avih = Buffer.alloc(56);
  avih.writeUInt32LE(100_000, 0); // 10 frames/s
  avih.writeUInt32LE(frames.length, 16);
  avih.writeUInt32LE(streams.length, 24);
  const strls = streams.map(({ type, codec = '' }) => {
    const strh = Buffer.alloc(56);
    strh.write(type, 0, 'latin1');
    strh.write(codec.padEnd(4, ' '), 4, 'latin1');
    const strf = Buffer.alloc(type === 'vids' ? 40 : 18);
    if (type === 'vids') {
      strf.writeUInt32LE(40, 0);
      strf.write(codec.padEnd(4, ' '), 16, 'latin1');
    }
    return list('strl', chunk('strh', strh), chunk('strf', strf));
  });
  const movi = list('movi', ...frames.map(({ id, data }) => chunk(id, data)));
  const body = Buffer.concat([Buffer.from('AVI ', 'latin1'), list('hdrl', chunk('avih', avih), ...strls), movi]);
  return chunk('RIFF', body);
}

/** A JPEG without its Huffman tables (DHT segments), as Motion JPEG cameras store frames. */
export function withoutHuffmanTables(jpeg: Buffer): Buffer {
  const parts: Buffer[] = [jpeg.subarray(0, 2)];
  let at = 2;
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff) {
    const marker = jpeg[at + 1]!;
    if (marker === 0xda) break; // start of scan: the rest is entropy-coded data
    const length = jpeg.readUInt16BE(at + 2);
    if (marker !== 0xc4) parts.push(jpeg.subarray(at, at + 2 + length));
    at += 2 + length;
  }
  parts.push(jpeg.subarray(at));
  return Buffer.concat(parts);
}
