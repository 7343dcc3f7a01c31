import { describe, expect, it } from 'vitest';
import { parseSerial, SERIAL_SCHEMES, serialScheme } from './serial-schemes.js';

const any = { weaponType: null, component: null };

describe('parseSerial', () => {
  it('reads Geran-2 airframe serials as written and as commonly mis-read', () => {
    const parts = { scheme: 'geran2_airframe', prefix: 'Ш136', series: '02', number: 345 };
    for (const read of ['Ш136.02.345', 'ш136.02.345', ' Ш136-02-345 ', 'Ш136 02 345', 'W136.02.345', 'III136.02.345', 'Ш-136.02.345', 'Ш136.O2.345', 'Ш136/02/0345', 'Ш１３６.02.345']) {
      expect(parseSerial(read, any), read).toEqual(parts);
    }
    expect(parseSerial('Ш131.7.12', { weaponType: 'uav.owa.shahed_131', component: 'airframe' })).toEqual({ scheme: 'geran1_airframe', prefix: 'Ш131', series: '7', number: 12 });
  });

  it('parses only where the scheme applies: weapon type (or a broader or narrower one) and component', () => {
    expect(parseSerial('Ш136.02.345', { weaponType: 'uav.owa', component: 'airframe' })?.scheme).toBe('geran2_airframe');
    expect(parseSerial('Ш136.02.345', { weaponType: 'uav.owa.shahed_131', component: null })).toBeNull();
    expect(parseSerial('Ш136.02.345', { weaponType: null, component: 'navigation.gnss_receiver' })).toBeNull();
    expect(parseSerial('Ш136.02.345', { weaponType: 'missile.cruise', component: null })).toBeNull();
  });

  it('leaves what is ambiguous or unknown unparsed', () => {
    for (const read of ['Ш13602345', 'Ш136.02', 'Ш136.02.0', 'X136.02.345', 'Ш136.02.345.7', 'MD550', '', 'Ш136.0002.345']) {
      expect(parseSerial(read, any), read).toBeNull();
    }
    expect(parseSerial(null, any)).toBeNull();
  });

  it('names its source and assumption for every scheme, with unique ids', () => {
    expect(new Set(SERIAL_SCHEMES.map((s) => s.id)).size).toBe(SERIAL_SCHEMES.length);
    for (const scheme of SERIAL_SCHEMES) {
      expect(scheme.basis).toMatch(/[Aa]ssum/);
      expect(serialScheme(scheme.id)).toBe(scheme);
    }
  });
});
