/**
 * Words for PostgreSQL full-text search (`simple` configuration): lower-cased by Unicode rules in
 * the application, because a server in the C locale (the embedded one) does not fold Cyrillic.
 * The stored text and every query go through this same function.
 */
export function searchText(...parts: (string | null | undefined)[]): string {
  return parts.filter((p): p is string => Boolean(p)).join(' ').normalize('NFC').toLowerCase();
}
