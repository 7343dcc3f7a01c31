import { dateTime, email, line, requiredInDocument, timestamp, uuid, VISIBLE_EMAIL, z } from '#custodia/schema';
import { INTERFACE_LANGUAGES, ROLES } from './roles.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, passwordLength } from './secrets.js';

/**
 * The bodies and answers of the authentication and account routes (api.md, "Authentication"
 * and "Users, roles, cases"), declared once: they validate the requests and describe them in
 * the OpenAPI document.
 */

/** A new password: its length is checked here (400), so nothing is hashed for a refused one. */
const newPassword = () =>
  z
    .string()
    .max(MAX_PASSWORD_LENGTH)
    // Characters of the form it is compared in (RFC 8265: NFC), not UTF-16 units.
    .refine((password) => passwordLength(password) >= MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
    .meta({ format: 'password' });

const role = () => z.enum(ROLES);

const mustChange = () =>
  z.boolean().optional().describe('The user must change this password before doing anything else (default false)');

export const LoginBody = z
  .strictObject({
    // Any string an account could have been created with: the lookup ignores letter case.
    email: z.string().max(320).regex(VISIBLE_EMAIL, 'must not contain spaces, invisible or control characters').meta({ example: 'admin@example.org' }),
    password: z.string().max(MAX_PASSWORD_LENGTH).meta({ format: 'password' }),
  })
  .meta({ id: 'LoginBody' });

/** The caller as `GET /auth/me` and a login show them. */
export const Me = z
  .strictObject({
    id: uuid(),
    email: z.string(),
    displayName: z.string(),
    role: role(),
    mustChangePassword: z
      .boolean()
      .describe('An administrator set the password with mustChange: every route but POST /auth/password, GET /auth/me and POST /auth/logout answers 403 until it is changed'),
    language: z.enum(INTERFACE_LANGUAGES).nullable().describe("The web console's language the user chose; null until they choose one"),
  })
  .meta({ id: 'Me' });

/** The caller's own preferences (`PATCH /auth/me`). */
export const MePreferencesBody = z
  .strictObject({
    language: z.enum(INTERFACE_LANGUAGES).describe('Language of the web console, remembered for this user'),
  })
  .meta({ id: 'MePreferencesBody' });

export const LoginResult = z
  .strictObject({
    accessToken: z.string().describe('An opaque bearer token'),
    expiresAt: timestamp(),
    user: Me,
  })
  .meta({ id: 'LoginResult' });
export type LoginResult = z.output<typeof LoginResult>;

export const ChangePasswordBody = z
  .strictObject({
    currentPassword: z.string().max(MAX_PASSWORD_LENGTH).meta({ format: 'password' }),
    newPassword: newPassword(),
  })
  .meta({ id: 'ChangePasswordBody' });

export const CreateApiTokenBody = z
  .strictObject({
    name: line(200).meta({ example: 'Pixel 7, Kharkiv team' }),
    expiresAt: dateTime().optional().describe('Defaults to CUSTODIA_API_TOKEN_TTL_DAYS from now'),
  })
  .meta({ id: 'CreateApiTokenBody' });

export const ApiToken = z
  .strictObject({
    id: uuid(),
    name: z.string(),
    expiresAt: timestamp(),
    createdAt: timestamp(),
    lastUsedAt: timestamp().nullable(),
    revokedAt: timestamp().nullable(),
  })
  .meta({ id: 'ApiToken' });

export const CreatedApiToken = ApiToken.extend({
  token: z.string().describe('Shown once; only its hash is stored'),
}).meta({ id: 'CreatedApiToken' });

const LINKED_DOWNLOAD = /^\/(evidence|exports)\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/content$/;

/**
 * The download a browser may follow as a one-time link (the routes marked `@ByDownloadLink`),
 * from its path under /api/v1: an original or a package; null for any other path.
 */
export function linkedDownload(path: string): { kind: 'evidence' | 'exports'; id: string } | null {
  const match = LINKED_DOWNLOAD.exec(path);
  return match ? { kind: match[1] as 'evidence' | 'exports', id: match[2]! } : null;
}

export const CreateDownloadLinkBody = z
  .strictObject({
    path: z
      .string()
      .max(100)
      .refine((path) => linkedDownload(path) !== null, 'must be an original (/evidence/{id}/content) or a package (/exports/{id}/content), ids in lowercase')
      .describe('The download, as its path under /api/v1')
      .meta({ example: '/exports/0b6c3f9e-4c1e-4f7a-9d55-3c2f0c7e9a10/content' }),
  })
  .meta({ id: 'CreateDownloadLinkBody' });

export const DownloadLink = z
  .strictObject({
    url: z.string().describe('Where to send the browser: the download route with `?link=`; used up when followed'),
    expiresAt: timestamp(),
  })
  .meta({ id: 'DownloadLink' });

export const CreateUserBody = z
  .strictObject({
    email: email().meta({ example: 'investigator@example.org' }),
    password: newPassword(),
    displayName: line(200).meta({ example: 'Olena K.' }),
    role: role(),
    mustChange: mustChange(),
  })
  .meta({ id: 'CreateUserBody' });

export const User = z
  .strictObject({
    id: uuid(),
    email: z.string(),
    displayName: z.string(),
    role: role(),
    createdAt: timestamp(),
    disabledAt: timestamp().nullable().describe('When the account was disabled; null while active'),
    mustChangePassword: z.boolean(),
  })
  .meta({ id: 'User' });

const why = (description: string) => z.string().max(2000).describe(description);

export const UpdateUserBody = z
  .strictObject({
    displayName: line(200).optional(),
    role: role().optional(),
    disabled: z.boolean().optional().describe('true ends every session and device token of the user at once'),
    // Optional in shape so that a missing reason is named with the others (422, not 400).
    reason: requiredInDocument(why('Required (422 without): why the account changes; recorded with the custody event').optional()),
  })
  .meta({ id: 'UpdateUserBody' });

export const SetPasswordBody = z
  .strictObject({
    password: newPassword(),
    mustChange: mustChange(),
  })
  .meta({ id: 'SetPasswordBody' });

export const UserToken = z
  .strictObject({
    id: uuid(),
    kind: z.enum(['session', 'api']).describe('session: a login; api: a device token (POST /auth/tokens)'),
    name: z.string().nullable(),
    createdAt: timestamp(),
    expiresAt: timestamp(),
    lastUsedAt: timestamp().nullable(),
    revokedAt: timestamp().nullable(),
  })
  .meta({ id: 'UserToken' });

export const RevokeTokensQuery = z.strictObject({
  reason: why('Why (a phone was seized): recorded with the custody event').optional(),
});

export const RevokedTokens = z
  .strictObject({
    sessions: z.int().min(0).describe('Live sessions ended'),
    deviceTokens: z.int().min(0).describe('Live device tokens revoked'),
  })
  .meta({ id: 'RevokedTokens' });
export type RevokedTokens = z.output<typeof RevokedTokens>;
