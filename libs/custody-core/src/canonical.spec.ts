import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalBytesOfParsed, isCanonicalEncoding, type JsonValue } from './canonical.js';
import { fromHex, isHashHex, parseHash, toHex } from './hash.js';

const text = (value: unknown) => canonicalBytes(value).toString('utf8');

describe('canonicalBytes (RFC 8785)', () => {
  it('serialises the §3.2.2 sample exactly, to the §3.2.4 UTF-8 bytes', () => {
    const input = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`);
    expect(text(input)).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
    const rfcBytes = `
      7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
      75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
      5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
      65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
      5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
      30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`;
    expect(toHex(canonicalBytes(input))).toBe(rfcBytes.replace(/\s+/g, ''));
  });

  it('sorts keys by UTF-16 code units (§3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(text(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('formats numbers as ECMAScript does (Appendix B)', () => {
    const cases: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [ieee, expected] of cases) expect(text(Buffer.from(ieee, 'hex').readDoubleBE(0)), ieee).toBe(expected);
  });

  it('writes no white space and escapes only what JSON requires', () => {
    expect(text({ b: [1, { d: 'x', c: null }], a: '\u001f\u007f\u2028é"' })).toBe('{"a":"\\u001f\u007f\u2028é\\"","b":[1,{"c":null,"d":"x"}]}');
  });

  it('leaves out undefined members, as absent', () => {
    expect(text({ a: 1, reason: undefined })).toBe('{"a":1}');
    expect(text(Object.assign(Object.create(null), { z: true }))).toBe('{"z":true}');
  });

  it.each([
    ['undefined', undefined],
    ['NaN', { n: NaN }],
    ['Infinity', [Infinity]],
    ['-Infinity', { n: -Infinity }],
    ['a BigInt', { n: 1n }],
    ['a function', { f: () => 1 }],
    ['a symbol value', { s: Symbol('s') }],
    ['a symbol key', { [Symbol('s')]: 1 }],
    ['a Date', { at: new Date(0) }],
    ['a Buffer', { b: Buffer.from('x') }],
    ['a Map', new Map([['a', 1]])],
    ['a class instance', new (class Event {})()],
    ['an undefined array element', [1, undefined]],
    ['an array hole', [1, , 3]],
    ['a lone surrogate', { s: '\ud800' }],
    ['a lone surrogate key', { '\udc00': 1 }],
  ])('refuses %s', (_, value) => {
    expect(() => canonicalBytes(value)).toThrow(/canonicalBytes: .*pass plain JSON only/);
  });

  it('refuses circular structures but accepts shared ones', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => canonicalBytes(loop)).toThrow(/circular/);
    const shared = { x: 1 };
    expect(text({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });
});

describe('hex helpers', () => {
  it('parse only lowercase hex of the right length', () => {
    const hash = 'ab'.repeat(32);
    expect(toHex(parseHash(hash))).toBe(hash);
    expect(isHashHex(hash)).toBe(true);
    for (const bad of ['AB'.repeat(32), 'ab'.repeat(31), 'ab'.repeat(33), `${'ab'.repeat(31)}zz`, `${'ab'.repeat(31)}a`, ` ${'ab'.repeat(32)}`]) {
      expect(() => parseHash(bad), bad).toThrow();
      expect(isHashHex(bad)).toBe(false);
    }
    expect(() => fromHex('abc')).toThrow();
    expect(fromHex('')).toEqual(Buffer.alloc(0));
    expect(isHashHex(42)).toBe(false);
  });
});

describe('isCanonicalEncoding (the replay check of stored events)', () => {
  const check = (text: string) => isCanonicalEncoding(text, JSON.parse(text));
  it.each([
    ['sorted keys, nested', '{"a":1,"b":{"c":[1,"x",{"d":null}],"e":true}}'],
    ['integer-like keys in UTF-16 order (JavaScript iterates them numerically)', '{"10":1,"9":2,"a":3}'],
    ['non-ASCII text as is', '{"note":"Харків"}'],
    ['a backslash before text that looks like an escape', String.raw`{"a":"\\ud800"}`],
    ['numbers as ECMAScript writes them', '{"k":-5,"m":0.1,"n":1e+21}'],
  ])('accepts %s', (_, text) => expect(check(text)).toBe(true));
  it.each([
    ['unsorted keys', '{"b":1,"a":2}'],
    ['integer-like keys in numeric order', '{"9":2,"10":1}'],
    ['whitespace', '{"a": 1}'],
    ['a number not in shortest form', '{"a":1.0}'],
    ['an escaped character RFC 8785 writes as is', '{"a":"\\u0041"}'],
    ['a lone surrogate escape', '{"a":"\\ud800"}'],
    ['a surrogate pair escaped (RFC 8785 writes the character)', '{"a":"\\ud83d\\ude00"}'],
    ['a duplicate key', '{"a":1,"a":1}'],
  ])('refuses %s', (_, text) => expect(check(text)).toBe(false));
  it('agrees with canonicalBytes on what it accepts', () => {
    const value = { z: [3, { y: 'é', x: -0.5 }], a: { '2': 'b', '10': 'c' } };
    expect(check(canonicalBytes(value).toString('utf8'))).toBe(true);
  });
});

describe('canonicalBytesOfParsed (events integrated from their queue entries)', () => {
  /** The text a serialiser gives, or 'refused'. */
  const outcome = (serialise: (value: JsonValue) => Buffer, value: JsonValue): string => {
    try {
      return serialise(value).toString('utf8');
    } catch {
      return 'refused';
    }
  };
  const same = (value: JsonValue): void => {
    expect(outcome(canonicalBytesOfParsed, value)).toBe(outcome(canonicalBytes, value));
  };

  it('gives canonicalBytes\' bytes for any JSON value, with any strings and keys (lone surrogates refused by both)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (value) => same(value as JsonValue)),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['keys out of order, nested', { b: 1, a: { d: [{ f: 1, e: 2 }], c: null } }],
    ['integer-like keys, which JavaScript enumerates first', { b: 1, '10': 2, '9': 3, a: { '2': 0, '1': 1 } }],
    ['a "__proto__" key as JSON.parse makes it', JSON.parse('{"b":1,"__proto__":{"x":1},"a":2}') as JsonValue],
    ['a lone surrogate', { a: 'x\ud800' }],
    ['a surrogate pair and text that looks like an escape', { a: '😀', b: '\\ud800' }],
    ['an event as integration builds it: its index first', { index: 7, action: 'evidence.viewed', actor: { role: 'admin', id: 'u' }, at: 't', details: {} }],
  ])('%s', (_, value) => same(value as JsonValue));
});
