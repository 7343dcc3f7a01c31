import { isUtf8 } from 'node:buffer';
import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCanonicalEncoding } from './canonical.js';
import { SYSTEM_ACTOR, eventBytes, type CustodyEvent } from './event.js';
import { leafHash } from './hash.js';
import { checkReplayPage, scanReplayCopy, type ReplayPage } from './replay-page.js';
import { MemoryTree } from './tree.js';

const tools = { hash, Buffer, isUtf8, isCanonical: isCanonicalEncoding, systemActorId: SYSTEM_ACTOR.id };
const caseId = '0b7e4c1a-3a4e-4b8e-9a51-2f0d7d1e6c11';

function event(index: number): CustodyEvent {
  return {
    index,
    action: 'evidence.viewed',
    at: '2026-12-02T09:00:00.123Z',
    actor: { id: index % 3 === 0 ? SYSTEM_ACTOR.id : '5f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f', role: index % 3 === 0 ? SYSTEM_ACTOR.role : 'investigator' },
    caseId,
    subject: { type: 'evidence', id: `item-${index}` },
    details: { part: 'record' },
  } as CustodyEvent;
}

/** One stored event as the replay's COPY sends it. */
interface Row {
  leafIndex: number;
  bytes: Buffer;
  leafHash: Buffer;
  action: string;
  caseId: string | null;
  subjectType: string;
  subjectId: string;
  actorId: string | null;
  atMs: number;
}

function rowsOf(first: number, count: number): Row[] {
  return Array.from({ length: count }, (_, i) => {
    const e = event(first + i);
    const bytes = eventBytes(e);
    return {
      leafIndex: e.index,
      bytes,
      leafHash: leafHash(bytes),
      action: e.action,
      caseId: e.caseId,
      subjectType: e.subject.type,
      subjectId: e.subject.id,
      actorId: e.actor.id === SYSTEM_ACTOR.id ? null : e.actor.id,
      atMs: Date.parse(e.at),
    };
  });
}

/** PostgreSQL's binary COPY output of the rows (signature, flags, no header extension, tuples, trailer), as the server writes it. */
function copyOf(rows: Row[]): Buffer {
  const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
  const field = (value: Buffer | null) => {
    const length = Buffer.alloc(4);
    length.writeInt32BE(value ? value.length : -1);
    return value ? [length, value] : [length];
  };
  const int8 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    return b;
  };
  const timestamptz = (ms: number) => int8((ms - 946_684_800_000) * 1000);
  const text = (s: string | null) => (s === null ? null : Buffer.from(s, 'utf8'));
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)];
  for (const r of rows) {
    parts.push(int16(9));
    for (const value of [int8(r.leafIndex), r.bytes, r.leafHash, text(r.action), text(r.caseId), text(r.subjectType), text(r.subjectId), text(r.actorId), timestamptz(r.atMs)]) {
      parts.push(...field(value));
    }
  }
  parts.push(int16(-1));
  return Buffer.concat(parts);
}

function pageOf(rows: Row[], expected = rows[0]?.leafIndex ?? 0): ReplayPage {
  const bytes = new Uint8Array(copyOf(rows));
  const { start, count } = scanReplayCopy(bytes);
  return { expected, bytes, start, count };
}

describe('a replay page', () => {
  it('hashes its leaves, and its levels where it is a perfect subtree of the log', () => {
    const one = new MemoryTree();
    const paged = new MemoryTree();
    // Perfect subtrees (2^k events at a multiple of 2^k) and pages that are not (5 events; 2 at 29).
    for (const [first, count] of [[0, 8], [8, 8], [16, 4], [20, 4], [24, 5], [29, 2], [31, 1], [32, 16]] as const) {
      const rows = rowsOf(first, count);
      const verdict = checkReplayPage(pageOf(rows), tools);
      expect(verdict.divergence).toBeNull();
      rows.forEach((row) => one.append(row.bytes));
      const perfect = (count & (count - 1)) === 0 && first % count === 0;
      expect(verdict.levels !== undefined).toBe(perfect);
      if (verdict.levels) paged.appendPerfectSubtree([verdict.hashes, ...verdict.levels]);
      else for (let at = 0; at < verdict.hashes.length; at += 32) paged.appendLeafHash(verdict.hashes.subarray(at, at + 32));
      expect(paged.size).toBe(one.size);
      for (let n = 1; n <= one.size; n++) expect(paged.root(n).toString('hex')).toBe(one.root(n).toString('hex'));
    }
    for (let level = 0; 2 ** level <= one.size; level++) {
      const width = Math.floor(one.size / 2 ** level);
      expect(paged.nodeSpan(level, 0, width).equals(one.nodeSpan(level, 0, width))).toBe(true);
    }
  });

  it('refuses a perfect subtree at a size it does not fit', () => {
    const tree = new MemoryTree();
    tree.appendLeafHash(Buffer.alloc(32, 1));
    const verdict = checkReplayPage(pageOf(rowsOf(0, 2)), tools);
    expect(() => tree.appendPerfectSubtree([verdict.hashes, ...verdict.levels!])).toThrow(/cannot be appended at size 1/);
  });

  it('stops at its first divergent event, with the hashes of those before it', () => {
    const rows = rowsOf(8, 8);
    rows[5]!.subjectId = 'another';
    rows[6]!.leafHash = Buffer.alloc(32);
    const verdict = checkReplayPage(pageOf(rows), tools);
    expect(verdict).toMatchObject({ divergence: { leafIndex: 13, problem: 'the indexed columns disagree with the event bytes' } });
    expect(verdict.levels).toBeUndefined();
    expect(Buffer.from(verdict.hashes).equals(Buffer.concat(rowsOf(8, 5).map((row) => row.leafHash)))).toBe(true);
    expect(checkReplayPage(pageOf(rowsOf(8, 4), 7), tools).divergence).toEqual({ leafIndex: 8, problem: 'expected leaf 7 next, found 8 (a gap)' });
  });

  it('compares every indexed column with the event exactly: ASCII, other scripts, NULL both ways', () => {
    const disagree = { divergence: { leafIndex: 8, problem: 'the indexed columns disagree with the event bytes' } };
    const withEvent = (change: (e: CustodyEvent) => CustodyEvent, columns: Partial<Row> = {}): ReplayPage => {
      const e = change(event(8));
      const bytes = eventBytes(e);
      const row: Row = {
        ...rowsOf(8, 1)[0]!,
        bytes,
        leafHash: leafHash(bytes),
        caseId: e.caseId,
        subjectId: e.subject.id,
        actorId: e.actor.id === SYSTEM_ACTOR.id ? null : e.actor.id,
        ...columns,
      };
      return pageOf([row]);
    };
    const named = (id: string) => (e: CustodyEvent) => ({ ...e, subject: { ...e.subject, id } });
    // Agreeing columns pass, whatever the script or the length of UTF-8 against UTF-16.
    for (const id of ['item-8', 'фото-8', '写真', '📷-8', '']) expect(checkReplayPage(withEvent(named(id)), tools).divergence).toBeNull();
    expect(checkReplayPage(withEvent((e) => ({ ...e, caseId: null })), tools).divergence).toBeNull();
    // Each column that differs, by one character, in another script, in length, or NULL against a value.
    const differing: [(e: CustodyEvent) => CustodyEvent, Partial<Row>][] = [
      [named('item-8'), { subjectId: 'item-9' }],
      [named('item-8'), { subjectId: 'item-8 ' }],
      [named('фото-8'), { subjectId: 'фото-9' }],
      [named('фото'), { subjectId: 'фотоo' }],
      [named('é'), { subjectId: '\u00e9'.normalize('NFD') }],
      // Mojibake: as many UTF-16 units as the column has bytes, each unit equal to a byte.
      [named('\u00c3\u00a9'), { subjectId: 'é' }],
      [(e) => e, { action: 'evidence.viewed ' }],
      [(e) => e, { action: 'Evidence.viewed' }],
      [(e) => e, { subjectType: 'incident' }],
      [(e) => e, { caseId: null }],
      [(e) => ({ ...e, caseId: null }), { caseId: caseId }],
      [(e) => e, { caseId: caseId.toUpperCase() }],
      [(e) => e, { actorId: null }],
      [(e) => ({ ...e, actor: SYSTEM_ACTOR }), { actorId: SYSTEM_ACTOR.id }],
    ];
    for (const [change, columns] of differing) expect(checkReplayPage(withEvent(change, columns), tools), JSON.stringify(columns)).toMatchObject(disagree);
  });

  it('names what is wrong with stored bytes whose leaf hash matches them', () => {
    const stored = (bytes: Buffer): Row => ({ ...rowsOf(8, 1)[0]!, bytes, leafHash: leafHash(bytes) });
    const text = eventBytes(event(8)).toString('utf8');
    const cases: [Buffer, string][] = [
      [Buffer.from(text.replace('"record"', '"rec\xffrd"'), 'latin1'), 'the event bytes are not UTF-8'],
      [Buffer.from(text.slice(0, 40)), 'the event bytes are not JSON'],
      [Buffer.from(JSON.stringify(JSON.parse(text), null, 1)), 'the event bytes are not in RFC 8785 canonical form'],
      [eventBytes({ ...event(8), index: 9 }), 'the event says index 9'],
    ];
    for (const [bytes, problem] of cases) {
      expect(checkReplayPage(pageOf([...rowsOf(0, 8), stored(bytes)]), tools)).toMatchObject({ divergence: { leafIndex: 8, problem } });
    }
  });

  it('reads only a whole binary COPY output', () => {
    const bytes = new Uint8Array(copyOf(rowsOf(0, 3)));
    expect(scanReplayCopy(bytes)).toEqual({ start: 19, count: 3, lastLeafIndex: 2 });
    expect(() => scanReplayCopy(bytes.subarray(1))).toThrow(/not a binary COPY/);
    expect(() => scanReplayCopy(new Uint8Array([...bytes, 0]))).toThrow(/after the end/);
  });
});
