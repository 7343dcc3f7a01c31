import { describe, expect, it } from 'vitest';
import type { CustodyEvent } from '#custodia/custody-core';
import { summariseEvent } from './event-summary.js';

const event = (action: string, details: Record<string, unknown>): CustodyEvent =>
  ({
    index: 1,
    action,
    at: '2026-12-08T01:00:00.000Z',
    actor: { id: 'u1', role: 'investigator' },
    caseId: 'c1',
    subject: { type: 'evidence', id: 'e1', sha256: 'ab'.repeat(32) },
    details,
  }) as CustodyEvent;

describe('summariseEvent', () => {
  it("names the message a file was taken out of, on both sides: the new item's submission and the message's read", () => {
    const from = { evidenceId: 'm1', sha256: 'cd'.repeat(32), attachment: 2 };
    expect(summariseEvent(event('evidence.submitted', { sizeBytes: 715, mediaType: 'image/jpeg', clientSha256Matched: null, extractedFrom: from }))).toBe(
      `715 bytes, image/jpeg, no device SHA-256, file 2 of message m1 (${'cd'.repeat(8)}…)`,
    );
    expect(summariseEvent(event('evidence.viewed', { part: 'attachment', attachment: 2, sha256: 'ef'.repeat(32), evidenceId: 'e2' }))).toBe(`file 2 (${'ef'.repeat(8)}…) submitted as e2`);
  });

  it('keeps the other summaries as they were', () => {
    expect(summariseEvent(event('evidence.submitted', { sizeBytes: 10, mediaType: 'text/plain', clientSha256Matched: true }))).toBe('10 bytes, text/plain, device SHA-256 matched');
    expect(summariseEvent(event('evidence.viewed', { part: 'thumbnail' }))).toBe('thumbnail');
  });
});
