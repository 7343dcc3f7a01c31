/** The four global roles of api.md. */
export const ROLES = ['admin', 'investigator', 'documenter', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** The languages of the web console (issue 13). */
export const INTERFACE_LANGUAGES = ['uk', 'en'] as const;
export type InterfaceLanguage = (typeof INTERFACE_LANGUAGES)[number];

/** Who is calling: resolved from a bearer token by the access guard. */
export interface Actor {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  tokenId: string;
  /** An administrator set the password with `mustChange`: only changing it is allowed. */
  mustChangePassword?: boolean;
  /** The console language the user chose; null until they choose. */
  language?: InterfaceLanguage | null;
}
