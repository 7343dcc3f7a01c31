/** The four global roles of api.md. */
export const ROLES = ['admin', 'investigator', 'documenter', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from a bearer token by the access guard. */
export interface Actor {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  tokenId: string;
  /** An administrator set the password with `mustChange`: only changing it is allowed. */
  mustChangePassword?: boolean;
}
