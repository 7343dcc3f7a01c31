import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { retryTransientConflicts } from '#custodia/db';
import type { Actor } from '#custodia/auth';
import { CustodyLog, type CustodyEventInput } from '#custodia/custody';
import { canonicalBytes, type CustodyAction, type JsonValue } from '#custodia/custody-core';
import { unprocessable, type FieldProblem } from '#custodia/errors';
import { Vocabularies } from './vocabularies/vocabularies.repository.js';
import type { VocabularyReference } from './vocabularies/vocabulary-codes.js';

/** SHA-256 hex of a value's RFC 8785 bytes: what the custody log holds of a record's state. */
export function recordHash(value: unknown): string {
  return createHash('sha256').update(canonicalBytes(value)).digest('hex');
}

/** The top-level fields whose values differ between two records. */
export function changedFields(before: Record<string, unknown> | null, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  // Canonical bytes: jsonb does not keep the key order of objects.
  const same = (a: unknown, b: unknown): boolean => canonicalBytes(a ?? null).equals(canonicalBytes(b ?? null));
  return [...keys].filter((k) => !same(before?.[k], after[k])).sort();
}

/** A version of a record as the custody log sees it. */
export interface RecordState {
  /** The document whose top-level fields are compared (the event's `fields`). */
  record: Record<string, unknown>;
  /** What the event's hashes are computed over: the stored record and what is stored beside it. */
  hashed: unknown;
}

/** What a change starts from, read inside its transaction once the caller may make it. */
export interface Opened<Current> {
  id: string;
  caseId: string;
  /** The current version, locked until COMMIT; null when the change creates the record. */
  current: Current | null;
}

/**
 * One aggregate's part in a change of a record: how to open, read, check and write it. The
 * recipe (`RecordChanges.apply`) is the same for incidents, casualty and damage records.
 */
export interface RecordChange<Current, Next> {
  subject: 'incident' | 'casualty' | 'damage' | 'remnant';
  action: CustodyAction;
  /** The record as a 422 names it: "The incident". */
  what: string;
  reason: string | null;
  /** Reads (and locks) what the change starts from and checks the caller may make it (404, 403). */
  open(tx: EntityManager): Promise<Opened<Current>>;
  /** The next version, read as a whole from the body and the current one (400 or 422 from its schema). */
  next(tx: EntityManager, opened: Opened<Current>): Promise<Next> | Next;
  /** The vocabulary codes the next version uses. */
  codes(next: Next): VocabularyReference[];
  /** Checks against what the database holds (links within the case): each problem a 422. */
  check?(tx: EntityManager, next: Next, opened: Opened<Current>): Promise<FieldProblem[]>;
  state(version: Current | Next): RecordState;
  /** Whether the version changes beyond its record's fields (sealed names). */
  changedBeside?(next: Next, opened: Opened<Current>): boolean;
  /** Inserts or updates the rows. */
  write(tx: EntityManager, next: Next, opened: Opened<Current>): Promise<void>;
  /** Events of the same change about other subjects (evidence links), made after the write. */
  alongside?(tx: EntityManager, next: Next, opened: Opened<Current>): Promise<CustodyEventInput[]>;
  /** The event's own details besides the hashes and fields. */
  details(next: Next, opened: Opened<Current>): { [key: string]: JsonValue };
  /** The problem a database error stands for (a taken code: 409), if it stands for one. */
  conflict?(error: unknown): Error | null;
}

/**
 * The change recipe, written once: in one transaction, open and lock the record, check the
 * caller may change it, read the next version whole, check its codes and links, compare it
 * field by field, write it, and append its custody event (with the previous and new hashes and
 * the reason) with the events of the same change, last before COMMIT. A change that alters
 * nothing records nothing; a refused one writes nothing.
 */
@Injectable()
export class RecordChanges {
  constructor(
    private readonly db: DataSource,
    private readonly custody: CustodyLog,
    private readonly vocabularies: Vocabularies,
  ) {}

  /** Applies the change; the record's id. */
  async apply<Current, Next>(actor: Actor, change: RecordChange<Current, Next>): Promise<string> {
    try {
      // Run again when PostgreSQL ends it for a deadlock (an item's derivatives job, or a link made
      // from the item's side, locking the same rows in another order).
      return await retryTransientConflicts(() => this.db.transaction(async (tx) => {
        const opened = await change.open(tx);
        const next = await change.next(tx, opened);
        const problems = [...(await this.vocabularies.problems(tx, change.codes(next))), ...((await change.check?.(tx, next, opened)) ?? [])];
        if (problems.length) throw unprocessable(`${change.what} is well-formed but not acceptable`, problems);

        const before = opened.current === null ? null : change.state(opened.current);
        const after = change.state(next);
        const fields = changedFields(before?.record ?? null, after.record);
        const events: CustodyEventInput[] = [];
        if (before === null || fields.length > 0 || change.changedBeside?.(next, opened)) {
          await change.write(tx, next, opened);
          const previousSha256 = before === null ? null : recordHash(before.hashed);
          const newSha256 = recordHash(after.hashed);
          events.push({
            action: change.action,
            actor,
            caseId: opened.caseId,
            subject: { type: change.subject, id: opened.id, sha256: newSha256 },
            details: { ...change.details(next, opened), previousSha256, newSha256, fields },
            reason: change.reason,
          });
        }
        events.push(...((await change.alongside?.(tx, next, opened)) ?? []));
        await this.custody.appendAll(tx, events);
        return opened.id;
      }));
    } catch (error) {
      throw change.conflict?.(error) ?? error;
    }
  }
}
