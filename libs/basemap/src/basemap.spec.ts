import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { MultiPolygon, Polygon, Position } from 'geojson';
import { describe, expect, it } from 'vitest';
import { generateBasemap, RESOLUTIONS } from '../tools/generate.js';
import { RUSSIA, UKRAINE } from '../tools/places.js';
import { containsPoint, countryFeatures, countryLookup, countryName, type CountryFeature } from './countries.js';

const require = createRequire(import.meta.url);
const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
const assetPath = (resolution: string) => new URL(`../assets/countries-${resolution}.json`, import.meta.url);
const sourcePath = (resolution: string) => require.resolve(`world-atlas/countries-${resolution}.json`);

const polygonsOf = (geometry: Polygon | MultiPolygon): Position[][][] =>
  geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;

const cross = (o: Position, a: Position, b: Position) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
/** Whether segments ab and cd cross at a point inside both (touching ends do not count). */
const segmentsCross = (a: Position, b: Position, c: Position, d: Position) =>
  cross(a, b, c) * cross(a, b, d) < 0 && cross(c, d, a) * cross(c, d, b) < 0;

/** The problems of a ring: open, too short, repeated points, zero area, or crossing itself. */
function ringProblems(ring: Position[]): string[] {
  const problems: string[] = [];
  const [first, last] = [ring[0], ring[ring.length - 1]];
  if (first[0] !== last[0] || first[1] !== last[1]) problems.push('not closed');
  if (ring.length < 4) problems.push(`only ${ring.length} positions`);
  let area = 0;
  for (let i = 1; i < ring.length; i++) {
    area += cross([0, 0], ring[i - 1], ring[i]);
    if (ring[i][0] === ring[i - 1][0] && ring[i][1] === ring[i - 1][1]) problems.push(`repeated point ${i}`);
  }
  if (area === 0) problems.push('zero area');
  const n = ring.length - 1;
  for (let i = 0; i < n; i++) {
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue;
      if (segmentsCross(ring[i], ring[i + 1], ring[j], ring[j + 1])) problems.push(`segments ${i} and ${j} cross`);
    }
  }
  return problems;
}

describe.each(Object.keys(RESOLUTIONS))('the %s basemap', (resolution) => {
  const countries = countryFeatures(readJson(assetPath(resolution).pathname));
  const lookup = countryLookup(countries);
  const ukraine = countries.find((c) => c.properties.iso_a2 === 'UA')!;
  const russia = countries.find((c) => c.properties.iso_a2 === 'RU')!;
  const where = (lon: number, lat: number) => lookup.countriesAt(lon, lat).map((c) => c.properties.name_en);

  it.each(UKRAINE)('%s is in Ukraine and in no other country', (_name, lon, lat) => {
    expect(where(lon, lat)).toEqual(['Ukraine']);
    expect(countryName(lookup.countryAt(lon, lat)!, 'uk')).toBe('Україна');
  });

  it.each(RUSSIA)('%s is in Russia', (_name, lon, lat) => {
    expect(where(lon, lat)).toEqual(['Russia']);
  });

  it('answers as a plain test of every country does, over the globe and finely around Ukraine', () => {
    const grid = (west: number, east: number, dLon: number, south: number, north: number, dLat: number) =>
      Array.from({ length: Math.ceil((east - west) / dLon) }, (_, i) =>
        Array.from({ length: Math.ceil((north - south) / dLat) }, (_, j) => [west + i * dLon, south + j * dLat]),
      ).flat();
    const boxes = new Map(
      countries.map((c) => {
        const all = polygonsOf(c.geometry).flat(2);
        const [lons, lats] = [all.map((p) => p[0]), all.map((p) => p[1])];
        return [c, [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)]];
      }),
    );
    const near = (c: CountryFeature, lon: number, lat: number) => {
      const [w, s, e, n] = boxes.get(c)!;
      return lon >= w && lon <= e && lat >= s && lat <= n;
    };
    let onLand = 0;
    for (const [lon, lat] of [...grid(-179.7, 180, 4.9, -89.3, 84, 2.9), ...grid(20.05, 42, 0.3, 43.05, 53, 0.3)]) {
      const plain = countries.filter((c) => near(c, lon, lat) && containsPoint(c.geometry, lon, lat));
      expect(where(lon, lat), `${lon}, ${lat}`).toEqual(plain.map((c) => c.properties.name_en));
      if (plain.length > 0) onLand++;
    }
    expect(onLand).toBeGreaterThan(2_500);
  });

  it('has no country at sea (Black Sea, Sea of Azov)', () => {
    expect(where(34, 43.5)).toEqual([]);
    expect(where(36.5, 46.2)).toEqual([]);
  });

  it('names the nearest country off a generalised coast, and none far at sea', () => {
    // In the sea about 8 km off Yalta and 6 km off Taganrog: nearer the generalised coast than 10 km.
    for (const [lon, lat, country] of [[34.17, 44.42, 'Ukraine'], [38.9, 47.15, 'Russia']] as const) {
      expect(where(lon, lat)).toEqual([]);
      expect(lookup.countryNear(lon, lat, 10)?.properties.name_en).toBe(country);
      expect(lookup.countryNear(lon, lat, 0.1)).toBeUndefined();
    }
    expect(lookup.countryNear(34, 43.5, 10)).toBeUndefined();
    expect(lookup.countryNear(30.5234, 50.4501, 10)?.properties.name_en).toBe('Ukraine');
  });

  it("joins Crimea to the mainland: Simferopol and Kyiv in one polygon, no hole at Perekop", () => {
    const polygons = polygonsOf(ukraine.geometry);
    const holding = (lon: number, lat: number) =>
      polygons.findIndex((rings) => containsPoint({ type: 'Polygon', coordinates: rings }, lon, lat));
    expect(holding(34.1024, 44.9521)).toBeGreaterThanOrEqual(0);
    expect(holding(34.1024, 44.9521)).toBe(holding(30.5234, 50.4501));
    expect(polygons.map((rings) => rings.length - 1)).toEqual(polygons.map(() => 0));
  });

  it("has a valid Ukraine geometry: closed rings that do not cross themselves", () => {
    const problems = polygonsOf(ukraine.geometry).flatMap((rings, p) =>
      rings.flatMap((ring, r) => ringProblems(ring).map((problem) => `polygon ${p} ring ${r}: ${problem}`)),
    );
    expect(problems).toEqual([]);
  });

  it('has closed rings of at least four positions in every country', () => {
    const open = countries.flatMap((c) =>
      polygonsOf(c.geometry)
        .flat()
        .filter((ring) => ring.length < 4 || ring[0].join() !== ring[ring.length - 1].join())
        .map(() => c.properties.name_en),
    );
    expect(open).toEqual([]);
  });

  it("gives Russia no point of Crimea", () => {
    // Every point of a 0.02-degree grid over the peninsula that is in Ukraine is not in Russia,
    // and no vertex of Russia lies inside Ukraine (the vertices of their common border aside).
    let inUkraine = 0;
    for (let lon = 32.4; lon <= 36.7; lon += 0.02) {
      for (let lat = 44.3; lat <= 46.3; lat += 0.02) {
        if (!containsPoint(ukraine.geometry, lon, lat)) continue;
        inUkraine++;
        expect(containsPoint(russia.geometry, lon, lat), `${lon}, ${lat}`).toBe(false);
      }
    }
    expect(inUkraine).toBeGreaterThan(4000); // Crimea is about 27,000 km², 2.5 km² a grid point
    const border = new Set(polygonsOf(ukraine.geometry).flat(2).map((p) => p.join()));
    const russianVerticesInUkraine = polygonsOf(russia.geometry)
      .flat(2)
      .filter(([lon, lat]) => !border.has(`${lon},${lat}`) && containsPoint(ukraine.geometry, lon, lat));
    expect(russianVerticesInUkraine).toEqual([]);
  });

  it('names every country in English and Ukrainian, Ukraine and its neighbours as a Ukrainian reader expects', () => {
    expect(countries.filter((c) => !c.properties.name_en || !c.properties.name_uk)).toEqual([]);
    const uk = (iso: string) => countryName(countries.find((c) => c.properties.iso_a2 === iso)!, 'uk');
    expect(['UA', 'PL', 'SK', 'HU', 'RO', 'MD', 'BY', 'RU'].map(uk)).toEqual([
      'Україна', 'Польща', 'Словаччина', 'Угорщина', 'Румунія', 'Молдова', 'Білорусь', 'Росія',
    ]);
    expect(countryName(ukraine, 'en')).toBe('Ukraine');
  });

  it('is exactly what the generator makes from world-atlas (nobody edits it by hand)', () => {
    const regenerated = generateBasemap(readJson(sourcePath(resolution)), RESOLUTIONS[resolution as keyof typeof RESOLUTIONS]);
    expect(readFileSync(assetPath(resolution), 'utf8') === regenerated).toBe(true);
  });

  it('is small enough to bundle', () => {
    expect(readFileSync(assetPath(resolution)).length).toBeLessThan(400_000);
  });
});

describe('world-atlas as published', () => {
  it('puts Crimea in Russia, which is why the basemap is generated rather than shipped as it is', () => {
    const source = readJson(sourcePath('50m')) as { objects: Record<string, unknown> };
    const countries = countryFeatures({ ...source, objects: { countries: source.objects.countries } });
    const at = (lon: number, lat: number) =>
      countryLookup(countries)
        .countriesAt(lon, lat)
        .map((c: CountryFeature) => (c.properties as unknown as { name: string }).name);
    expect(at(34.1024, 44.9521)).toEqual(['Russia']); // Simferopol
    expect(at(30.5234, 50.4501)).toEqual(['Ukraine']); // Kyiv
  });
});

describe('containsPoint', () => {
  it('counts a hole as outside', () => {
    const square = (w: number, e: number) => [[w, w], [e, w], [e, e], [w, e], [w, w]];
    const withHole: Polygon = { type: 'Polygon', coordinates: [square(0, 10), square(4, 6)] };
    expect(containsPoint(withHole, 2, 2)).toBe(true);
    expect(containsPoint(withHole, 5, 5)).toBe(false);
    expect(containsPoint(withHole, 11, 5)).toBe(false);
    expect(containsPoint({ type: 'MultiPolygon', coordinates: [[square(0, 1)], [square(4, 6)]] }, 5, 5)).toBe(true);
  });
});

describe('countryFeatures', () => {
  it('refuses what is not a basemap topology', () => {
    expect(() => countryFeatures({ type: 'FeatureCollection', features: [] })).toThrow(/not a basemap topology/);
    expect(() => countryFeatures({ type: 'Topology', objects: {}, arcs: [] })).toThrow(/"countries"/);
  });
});
