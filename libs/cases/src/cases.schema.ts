import { email, line, text, timestamp, uuid, z } from '#custodia/schema';

export const CreateCaseBody = z
  .strictObject({
    title: line(500).meta({ example: 'Kharkiv, Saltivka: night strikes, November 2026' }),
    description: text(20_000).optional(),
  })
  .meta({ id: 'CreateCaseBody' });

export const Case = z
  .strictObject({
    id: uuid(),
    title: z.string(),
    description: z.string().nullable(),
    createdAt: timestamp(),
    createdBy: uuid(),
  })
  .meta({ id: 'Case' });
export type CaseView = z.output<typeof Case>;

/** `{ userId }` or `{ email }`: exactly one. */
export const AddMemberBody = z
  .strictObject({
    userId: uuid().optional(),
    email: email().optional().describe('Any letter case'),
  })
  .superRefine((body, context) => {
    if ((body.userId === undefined) === (body.email === undefined)) {
      for (const field of ['userId', 'email']) context.addIssue({ code: 'custom', message: 'send exactly one of userId and email', path: [field] });
    }
  })
  .meta({ id: 'AddMemberBody' });

export const CaseMember = z
  .strictObject({
    userId: uuid(),
    email: z.string().optional().describe('Shown to administrators and investigators only'),
    displayName: z.string(),
    role: z.enum(['admin', 'investigator', 'documenter', 'auditor']),
    addedAt: timestamp(),
    addedBy: uuid(),
  })
  .meta({ id: 'CaseMember' });
export type CaseMemberView = z.output<typeof CaseMember>;
