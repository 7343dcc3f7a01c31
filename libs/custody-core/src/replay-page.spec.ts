import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCanonicalEncoding } from './canonical.js';
import { SYSTEM_ACTOR, eventBytes, type CustodyEvent } from './event.js';
import { leafHash } from './hash.js';
import { checkReplayPage, type ReplayPage } from './replay-page.js';
import { MemoryTree } from './tree.js';

const tools = { hash, Buffer, isCanonical: isCanonicalEncoding, systemActorId: SYSTEM_ACTOR.id };
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

function pageOf(first: number, count: number): ReplayPage {
  const events = Array.from({ length: count }, (_, i) => event(first + i));
  return {
    expected: first,
    leafIndexes: events.map((e) => e.index),
    texts: events.map((e) => eventBytes(e).toString('utf8')),
    raws: null,
    leafHashes: events.map((e) => leafHash(eventBytes(e)).toString('hex')),
    actions: events.map((e) => e.action),
    caseIds: events.map((e) => e.caseId),
    subjectTypes: events.map((e) => e.subject.type),
    subjectIds: events.map((e) => e.subject.id),
    actorIds: events.map((e) => (e.actor.id === SYSTEM_ACTOR.id ? null : e.actor.id)),
    atMs: events.map((e) => Date.parse(e.at)),
  };
}

describe('a replay page', () => {
  it('hashes its leaves, and its levels where it is a perfect subtree of the log', () => {
    const one = new MemoryTree();
    const paged = new MemoryTree();
    // Perfect subtrees (2^k events at a multiple of 2^k) and pages that are not (5 events; 2 at 29).
    for (const [first, count] of [[0, 8], [8, 8], [16, 4], [20, 4], [24, 5], [29, 2], [31, 1], [32, 16]] as const) {
      const page = pageOf(first, count);
      const verdict = checkReplayPage(page, tools);
      expect(verdict.divergence).toBeNull();
      page.texts.forEach((text) => one.append(Buffer.from(text)));
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
    const verdict = checkReplayPage(pageOf(0, 2), tools);
    expect(() => tree.appendPerfectSubtree([verdict.hashes, ...verdict.levels!])).toThrow(/cannot be appended at size 1/);
  });

  it('stops at its first divergent event, with the hashes of those before it', () => {
    const page = pageOf(8, 8);
    page.subjectIds[5] = 'another';
    page.leafHashes[6] = '00'.repeat(32);
    const verdict = checkReplayPage(page, tools);
    expect(verdict).toMatchObject({ divergence: { leafIndex: 13, problem: 'the indexed columns disagree with the event bytes' } });
    expect(verdict.levels).toBeUndefined();
    expect(Buffer.from(verdict.hashes).equals(Buffer.concat(pageOf(8, 5).leafHashes.map((h) => Buffer.from(h, 'hex'))))).toBe(true);
    const gap = pageOf(8, 4);
    gap.expected = 7;
    expect(checkReplayPage(gap, tools).divergence).toEqual({ leafIndex: 8, problem: 'expected leaf 7 next, found 8 (a gap)' });
  });
});
