import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { notFound, type FieldProblem } from '#custodia/errors';
import type { Vocabulary, VocabularyTerm } from './vocabulary.schema.js';
import type { VocabularyReference } from './vocabulary-codes.js';

interface TermRow {
  vocabulary: string;
  code: string;
  parent_code: string | null;
  labels: VocabularyTerm['labels'];
  attributes: VocabularyTerm['attributes'];
  version: number;
  deprecated: boolean;
}

const termOf = (row: TermRow): VocabularyTerm => ({
  code: row.code,
  parentCode: row.parent_code,
  labels: row.labels,
  attributes: row.attributes,
  version: row.version,
  deprecated: row.deprecated,
});

/** The vocabulary_terms table: terms to show, and the check of every code a write uses. */
@Injectable()
export class Vocabularies {
  constructor(private readonly db: DataSource) {}

  /** Every vocabulary, or the one named, with its terms in code order. */
  private async read(name: string | null): Promise<Vocabulary[]> {
    const rows: TermRow[] = await this.db.query(
      `SELECT vocabulary, code, parent_code, labels, attributes, version, deprecated FROM vocabulary_terms
        WHERE $1::text IS NULL OR vocabulary = $1 ORDER BY vocabulary, code`,
      [name],
    );
    const byName = new Map<string, VocabularyTerm[]>();
    for (const row of rows) {
      const terms = byName.get(row.vocabulary);
      if (terms) terms.push(termOf(row));
      else byName.set(row.vocabulary, [termOf(row)]);
    }
    return [...byName].map(([vocabulary, terms]) => ({ vocabulary, version: Math.max(...terms.map((t) => t.version)), terms }));
  }

  all(): Promise<Vocabulary[]> {
    return this.read(null);
  }

  async terms(name: string): Promise<Vocabulary> {
    const [vocabulary] = await this.read(name);
    if (!vocabulary) throw notFound(`The vocabulary ${name}`);
    return vocabulary;
  }

  /** Every unknown or deprecated code, naming the field and the vocabulary (a 422 for the caller). */
  async problems(tx: EntityManager, references: readonly VocabularyReference[]): Promise<FieldProblem[]> {
    const known = await this.deprecation(tx, references);
    return references.flatMap((ref) => {
      const deprecated = known.get(`${ref.vocabulary}\u0000${ref.code}`);
      if (deprecated === undefined) return [unknownCode(ref)];
      if (deprecated) return [{ field: ref.field, message: `${ref.code} is deprecated in the ${ref.vocabulary} vocabulary` }];
      return [];
    });
  }

  /**
   * Every code a search asks for that no vocabulary term has (a 400 for the caller: a mistyped
   * filter would otherwise find nothing and look like an answer). Deprecated codes are known:
   * older records carry them.
   */
  async unknown(references: readonly VocabularyReference[]): Promise<FieldProblem[]> {
    const known = await this.deprecation(this.db, references);
    return references.filter((ref) => !known.has(`${ref.vocabulary}\u0000${ref.code}`)).map(unknownCode);
  }

  /** Whether each known code is deprecated, keyed by vocabulary and code; unknown codes are absent. */
  private async deprecation(db: DataSource | EntityManager, references: readonly VocabularyReference[]): Promise<Map<string, boolean>> {
    if (references.length === 0) return new Map();
    const rows: { vocabulary: string; code: string; deprecated: boolean }[] = await db.query(
      `SELECT t.vocabulary, t.code, t.deprecated FROM vocabulary_terms t
         JOIN unnest($1::text[], $2::text[]) AS r(vocabulary, code) ON r.vocabulary = t.vocabulary AND r.code = t.code`,
      [references.map((r) => r.vocabulary), references.map((r) => r.code)],
    );
    return new Map(rows.map((r) => [`${r.vocabulary}\u0000${r.code}`, r.deprecated]));
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

const unknownCode = (ref: VocabularyReference): FieldProblem => ({ field: ref.field, message: `${ref.code} is not a code of the ${ref.vocabulary} vocabulary` });
