import { dateTime, sha256Hex, timestamp, uuid, wrong, z } from '#custodia/schema';

/** The body and answers of the export routes (api.md, "Exports"), declared once. */

const MAX_IDS = 10_000;
const PURPOSE = z
  .enum(['court', 'partner'])
  .describe('court: originals; partner: working copies (previews without metadata, positions rounded, no names)');

export const CreateExportBody = z
  .strictObject({
    purpose: PURPOSE,
    evidenceIds: z.array(uuid()).max(MAX_IDS).optional().describe('Evidence items of the case'),
    incidentIds: z
      .array(uuid())
      .max(MAX_IDS)
      .optional()
      .describe('Incidents of the case, with their casualty and damage records and the evidence they cite'),
    from: dateTime().optional().describe('Evidence captured (else received) and incidents starting at or after this instant'),
    to: dateTime().optional().describe('And at or before this instant'),
    includeNames: z.boolean().optional().describe("Victims' names in records/names.json: investigators only, court packages only"),
    note: z.string().min(1).max(2000).optional().describe('Why, and for whom; recorded in the custody log'),
  })
  .superRefine((body, context) => {
    if (body.from !== undefined && body.to !== undefined && Date.parse(body.from) > Date.parse(body.to)) {
      context.addIssue({ code: 'custom', path: ['to'], ...wrong('must not be before from') });
    }
    // An empty list chooses nothing; taken as "not given" it exported the whole case (outside audit).
    for (const field of ['evidenceIds', 'incidentIds'] as const) {
      if (body[field]?.length === 0) context.addIssue({ code: 'custom', path: [field], ...wrong('is empty: name at least one, or leave it out (no selection exports the whole case)') });
    }
  })
  .meta({ id: 'CreateExportBody' });
export type CreateExportRequest = z.output<typeof CreateExportBody>;

const ExportSelectionSchema = z
  .strictObject({
    evidenceIds: z.array(uuid()).optional(),
    incidentIds: z.array(uuid()).optional(),
    from: timestamp().optional(),
    to: timestamp().optional(),
  })
  .meta({ id: 'ExportSelection', description: 'What the export holds; empty: the whole case' });

export const Export = z
  .strictObject({
    id: uuid(),
    caseId: uuid(),
    purpose: PURPOSE,
    includeNames: z.boolean(),
    selection: ExportSelectionSchema,
    note: z.string().nullable(),
    status: z.enum(['pending', 'running', 'ready', 'failed']),
    progress: z.strictObject({
      items: z.int().min(0),
      itemsDone: z.int().min(0),
      bytes: z.int().min(0),
      bytesDone: z.int().min(0),
    }),
    sha256: sha256Hex().nullable().describe('SHA-256 of the ZIP, once ready'),
    sizeBytes: z.int().min(0).nullable(),
    fileName: z.string().nullable().meta({ example: 'custodia-0a1b2c3d-20261201T120000Z.zip' }),
    treeSize: z.int().min(0).nullable().describe('Size of the signed tree head the proofs lead to'),
    createdAt: timestamp(),
    createdBy: uuid(),
    startedAt: timestamp().nullable(),
    finishedAt: timestamp().nullable(),
    error: z.string().optional().describe('Why a failed export failed'),
    contentUrl: z.string().nullable().describe('Where the ready package is fetched (GET /exports/{id}/content)'),
  })
  .meta({ id: 'Export' });

export const ExportList = z.strictObject({ items: z.array(Export) }).meta({ id: 'ExportList' });
