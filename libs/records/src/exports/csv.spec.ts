import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toCsv } from './csv.js';

describe('toCsv', () => {
  it('writes RFC 4180 with CRLF, quoting what needs it and defusing spreadsheet formulas', () => {
    expect(toCsv(['a', 'b'], [['Харків', 1]])).toBe('a,b\r\nХарків,1\r\n');
    expect(toCsv(['a'], [['a,b'], ['say "hi"'], ['line\r\nbreak'], [null], [-3], [true]])).toBe(
      'a\r\n"a,b"\r\n"say ""hi"""\r\n"line\r\nbreak"\r\n\r\n-3\r\ntrue\r\n',
    );
    const [, [formula]] = parse(toCsv(['a'], [['=HYPERLINK("http://evil")']])) as string[][];
    expect(formula).toBe("'=HYPERLINK(\"http://evil\")");
  });

  it('round-trips any text through a CSV library (csv-parse)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 20 }), (rows) => {
        const safe = rows.map((row) => row.map((cell) => cell.replace(/^[=+\-@\t\r]/, 'x')));
        expect(parse(toCsv(['x', 'y'], safe), { relax_column_count: false })).toEqual([['x', 'y'], ...safe]);
      }),
    );
  });
});
