import { describe, expect, it } from 'vitest';
import { jsonShapeProblem } from './strict-input.js';

const shape = (text: string, limit?: number) => jsonShapeProblem(Buffer.from(text, 'utf8'), limit);

describe('jsonShapeProblem', () => {
  it('accepts well-formed JSON with every name once per object', () => {
    for (const text of [
      '{}',
      '[]',
      '{"title":"a","description":"b","tags":["title","title"]}',
      '{"a":{"x":1},"b":{"x":2}}',
      '[{"x":1},{"x":2}]',
      '{"a":"{\\"a\\":1, \\"a\\":2}","b":"a"}',
      '{"a,b":1,"a":{"b":1}}',
      '{ "location" : { "lat" : 50.0, "lon" : 36.2 } , "title" : "x" }',
      '"just a string"',
      '12',
    ]) {
      expect(shape(text), text).toBeNull();
    }
  });

  it('names a field given twice, wherever it is, also when one of them is escaped', () => {
    expect(shape('{"title":"a","title":"b"}')).toEqual({ kind: 'duplicate', field: 'title', message: 'is given more than once' });
    expect(shape('{"sha256":"aa","title":"x","\\u0073ha256":"bb"}')).toEqual({ kind: 'duplicate', field: 'sha256', message: 'is given more than once' });
    expect(shape('{"location":{"lat":1,"lon":2,"lat":3}}')).toEqual({ kind: 'duplicate', field: 'location.lat', message: 'is given more than once' });
    expect(shape('{"tags":["a"],"items":[{"x":1},{"x":2,"y":{"z":1,"z":2}}]}')).toEqual({ kind: 'duplicate', field: 'items[1].y.z', message: 'is given more than once' });
    expect(shape('[[1],[2,{"a":1,"a":1}]]')).toEqual({ kind: 'duplicate', field: '[1][1].a', message: 'is given more than once' });
  });

  it('refuses nesting deeper than the limit, and no deeper than that', () => {
    const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(shape(nested(32))).toBeNull();
    expect(shape(nested(33))).toEqual({ kind: 'depth', field: '[0]'.repeat(32), message: 'nests deeper than 32 levels' });
    expect(shape(nested(50_000))).toEqual({ kind: 'depth', field: '[0]'.repeat(32), message: 'nests deeper than 32 levels' });
    expect(shape('{"a":' + nested(3) + '}', 3)).toEqual({ kind: 'depth', field: 'a[0][0]', message: 'nests deeper than 3 levels' });
    expect(shape('{"a":1,"b":{"c":[1,{"d":{}}]}}', 4)).toEqual({ kind: 'depth', field: 'b.c[1].d', message: 'nests deeper than 4 levels' });
  });

  it('leaves text that is not JSON to the parser', () => {
    expect(shape('{"a":1,"\\x":2}')).toBeNull();
    expect(shape('{"a":1')).toBeNull();
  });
});
