import { stringify } from 'csv-stringify/sync';

type Cell = string | number | boolean | null | undefined;

// Fields that a spreadsheet would run as a formula (starting with = + - @ tab or CR) are escaped
// with a leading apostrophe (OWASP CSV injection); numbers are written as they are.
const OPTIONS = { record_delimiter: 'windows', escape_formulas: true, cast: { boolean: (b: boolean) => String(b) } } as const;

/** RFC 4180 text (csv-stringify): a header row, then one CRLF-terminated line per row. */
export function toCsv(header: string[], rows: Cell[][]): string {
  return stringify([header, ...rows], OPTIONS);
}

/** The same text a page of rows at a time, for a download that never holds it all: the header, then each page's lines. */
export async function* csvText(header: string[], pages: AsyncIterable<Cell[][]>): AsyncGenerator<string> {
  yield toCsv(header, []);
  for await (const rows of pages) if (rows.length > 0) yield stringify(rows, OPTIONS);
}
