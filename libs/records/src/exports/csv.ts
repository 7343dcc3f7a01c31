import { stringify } from 'csv-stringify/sync';

/**
 * RFC 4180 text (csv-stringify): a header row, then one CRLF-terminated line per row. Fields
 * that a spreadsheet would run as a formula (starting with = + - @ tab or CR) are escaped with
 * a leading apostrophe (OWASP CSV injection); numbers are written as they are.
 */
export function toCsv(header: string[], rows: (string | number | boolean | null | undefined)[][]): string {
  return stringify([header, ...rows], { record_delimiter: 'windows', escape_formulas: true, cast: { boolean: (b) => String(b) } });
}
