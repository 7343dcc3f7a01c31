import { z } from '#custodia/schema';

/** One controlled term (data-model.md, Vocabularies): codes are stable, labels translate. */
export const VocabularyTerm = z
  .strictObject({
    code: z.string(),
    parentCode: z.string().nullable().describe('The broader term (hierarchical vocabularies: uav.owa under uav)'),
    labels: z.object({ en: z.string(), uk: z.string() }).catchall(z.string()).describe('Labels by language: en and uk always'),
    attributes: z.record(z.string(), z.string().nullable()).describe('Mappings to other codings (acledSubEventType, ohchrClass)'),
    version: z.number().int(),
    deprecated: z.boolean().describe('Kept for old records; refused in new ones (422)'),
  })
  .meta({ id: 'VocabularyTerm' });
export type VocabularyTerm = z.output<typeof VocabularyTerm>;

export const Vocabulary = z
  .strictObject({
    vocabulary: z.string(),
    version: z.number().int().describe('The highest version of its terms'),
    terms: z.array(VocabularyTerm),
  })
  .meta({ id: 'Vocabulary' });
export type Vocabulary = z.output<typeof Vocabulary>;

