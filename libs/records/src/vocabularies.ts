import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { notFound, type FieldProblem } from '#custodia/errors';
import type { VocabularyReference } from './validation.js';

/** One controlled term as `GET /vocabularies/:name` shows it. */
export interface VocabularyTerm {
  code: string;
  parentCode: string | null;
  labels: Record<string, string>;
  attributes: Record<string, unknown>;
  version: number;
  deprecated: boolean;
}

/** The vocabularies table: terms to show, and the check of every code a write uses. */
@Injectable()
export class Vocabularies {
  constructor(private readonly db: DataSource) {}

  async terms(name: string): Promise<{ vocabulary: string; version: number; terms: VocabularyTerm[] }> {
    const rows = await this.db.query(
      `SELECT code, parent_code, labels, attributes, version, deprecated FROM vocabulary_terms WHERE vocabulary = $1 ORDER BY code`,
      [name],
    );
    if (rows.length === 0) throw notFound(`The vocabulary ${name}`);
    const terms: VocabularyTerm[] = rows.map((r: Record<string, unknown>) => ({
      code: r['code'],
      parentCode: r['parent_code'],
      labels: r['labels'],
      attributes: r['attributes'],
      version: r['version'],
      deprecated: r['deprecated'],
    }));
    return { vocabulary: name, version: Math.max(...terms.map((t) => t.version)), terms };
  }

  /** Every unknown or deprecated code, naming the field and the vocabulary (a 422 for the caller). */
  async problems(tx: EntityManager, references: VocabularyReference[]): Promise<FieldProblem[]> {
    if (references.length === 0) return [];
    const rows: { vocabulary: string; code: string; deprecated: boolean }[] = await tx.query(
      `SELECT t.vocabulary, t.code, t.deprecated FROM vocabulary_terms t
         JOIN unnest($1::text[], $2::text[]) AS r(vocabulary, code) ON r.vocabulary = t.vocabulary AND r.code = t.code`,
      [references.map((r) => r.vocabulary), references.map((r) => r.code)],
    );
    const known = new Map(rows.map((r) => [`${r.vocabulary}\u0000${r.code}`, r.deprecated]));
    return references.flatMap((ref) => {
      const deprecated = known.get(`${ref.vocabulary}\u0000${ref.code}`);
      if (deprecated === undefined) return [{ field: ref.field, message: `${ref.code} is not a code of the ${ref.vocabulary} vocabulary` }];
      if (deprecated) return [{ field: ref.field, message: `${ref.code} is deprecated in the ${ref.vocabulary} vocabulary` }];
      return [];
    });
  }

  /** The code and every code below it (a weapon type and its kinds), or null when unknown. */
  async withDescendants(vocabulary: string, code: string): Promise<string[] | null> {
    const rows: { code: string }[] = await this.db.query(
      `WITH RECURSIVE tree AS (
         SELECT code FROM vocabulary_terms WHERE vocabulary = $1 AND code = $2
         UNION SELECT t.code FROM vocabulary_terms t JOIN tree ON t.vocabulary = $1 AND t.parent_code = tree.code)
       SELECT code FROM tree`,
      [vocabulary, code],
    );
    return rows.length ? rows.map((r) => r.code) : null;
  }
}
