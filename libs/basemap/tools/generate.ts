// Makes a basemap asset from world-atlas (Natural Earth 4.1.0 admin-0 countries as TopoJSON):
// the Crimean peninsula, Sevastopol included, moves from Russia's geometry to Ukraine's, as
// UN General Assembly resolution 68/262 has it, with the line across the Perekop isthmus
// dissolved; the result is checked place by place, simplified, quantised and named in en and uk.
// Pure (no Node APIs): tools/build.ts reads and writes the files, the tests call it directly.
import countryCodes from 'i18n-iso-countries';
import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { feature, mergeArcs, quantize } from 'topojson-client';
import { topology } from 'topojson-server';
import { presimplify, quantile, simplify } from 'topojson-simplify';
import type { GeometryCollection, MultiPolygon as TopoMultiPolygon, Topology } from 'topojson-specification';
import { countryFeatures, countryLookup, type CountryFeature, type CountryProperties } from '../src/countries.js';
import { RUSSIA, UKRAINE } from './places.js';

export interface BasemapOptions {
  /** Share of the source's vertices that simplification keeps, the most significant first (1 keeps all). */
  keepShare: number;
  /** Grid of the written coordinates: this many steps across each axis of the bounding box. */
  quantization: number;
}

// 50m: 40% of the vertices on a 20,000-step grid (about 1 km) is 340 KB (100 KB gzipped) against
// 740 KB; at 30% coastal towns (Berdiansk) fall into the sea. 110m is small as it is.
export const RESOLUTIONS = {
  '50m': { keepShare: 0.4, quantization: 20_000 },
  '110m': { keepShare: 1, quantization: 100_000 },
} satisfies Record<string, BasemapOptions>;

const UKRAINE_ID = '804';
const RUSSIA_ID = '643';

/** The Crimean peninsula with the Arabat Spit: a polygon of Russia's entirely inside this box is Crimea. */
const CRIMEA_BOX = { west: 32.2, south: 44.2, east: 36.7, north: 46.4 };

/** Ukrainian names of Natural Earth's areas that have no ISO 3166-1 code, hence none in i18n-iso-countries. */
const UK_WITHOUT_ISO_CODE: Record<string, string> = {
  Kosovo: 'Косово',
  Somaliland: 'Сомаліленд',
  'N. Cyprus': 'Північний Кіпр',
  'Indian Ocean Ter.': 'Австралійські території в Індійському океані',
  'Siachen Glacier': 'Льодовик Сіачен',
};

/** Where the ISO short name is not the name a map shows. */
const UK_OVERRIDES: Record<string, string> = { TW: 'Тайвань' };

type SourceProperties = { name: string };
type SourceTopology = Topology<{ countries: GeometryCollection<SourceProperties> }>;

function inCrimeaBox(polygon: Polygon): boolean {
  return polygon.coordinates.every((ring) =>
    ring.every(([lon, lat]) => lon >= CRIMEA_BOX.west && lon <= CRIMEA_BOX.east && lat >= CRIMEA_BOX.south && lat <= CRIMEA_BOX.north),
  );
}

function names(id: string | undefined, sourceName: string): CountryProperties {
  const alpha2 = id === undefined ? undefined : countryCodes.numericToAlpha2(id);
  const uk = alpha2 && (UK_OVERRIDES[alpha2] ?? countryCodes.getName(alpha2, 'uk'));
  const ukName = uk || UK_WITHOUT_ISO_CODE[sourceName];
  if (!ukName) throw new Error(`no Ukrainian name for ${sourceName} (${id ?? 'no id'})`);
  return { iso_a2: alpha2 ?? null, name_en: sourceName, name_uk: ukName };
}

/** Throws unless every listed place lies in exactly the expected country and in no other. */
export function checkPlaces(countries: CountryFeature[]): void {
  const lookup = countryLookup(countries);
  const expect = (places: typeof UKRAINE, id: string) => {
    for (const [name, lon, lat] of places) {
      const found = lookup.countriesAt(lon, lat).map((c) => `${c.properties.name_en} (${String(c.id)})`);
      if (found.length !== 1 || !found[0].endsWith(`(${id})`)) {
        throw new Error(`${name} (${lon}, ${lat}) is in [${found.join(', ')}], not only in ${id}`);
      }
    }
  };
  expect(UKRAINE, UKRAINE_ID);
  expect(RUSSIA, RUSSIA_ID);
}

/** The asset's text for one world-atlas countries topology (countries-50m.json or -110m.json). */
export function generateBasemap(source: unknown, options: BasemapOptions): string {
  const src = source as SourceTopology;
  const geometries = src.objects.countries.geometries;
  const ukraine = geometries.find((g) => g.id === UKRAINE_ID);
  const russia = geometries.find((g) => g.id === RUSSIA_ID);
  if (russia?.type !== 'MultiPolygon' || !ukraine || ukraine.type === 'GeometryCollection' || ukraine.type === null) {
    throw new Error('world-atlas no longer has Russia as a MultiPolygon and Ukraine as a polygon');
  }

  // Russia's polygons that lie in Crimea: exactly one (the peninsula with Sevastopol) at 50m and 110m.
  const crimean = russia.arcs.filter((arcs) => inCrimeaBox(feature(src, { type: 'Polygon', arcs }).geometry as Polygon));
  if (crimean.length !== 1) throw new Error(`expected one Crimean polygon in Russia's geometry, found ${crimean.length}`);
  const russiaWithoutCrimea: TopoMultiPolygon = { ...russia, arcs: russia.arcs.filter((arcs) => !crimean.includes(arcs)) };
  // mergeArcs drops the arcs Ukraine and Crimea share: the Perekop isthmus and the Syvash/Arabat lines.
  const ukraineWithCrimea = mergeArcs(src, [ukraine, { type: 'Polygon', arcs: crimean[0] }] as never);

  const features: Feature<Polygon | MultiPolygon, CountryProperties>[] = geometries.map((g) => {
    const geometry = g.id === UKRAINE_ID ? ukraineWithCrimea : g.id === RUSSIA_ID ? russiaWithoutCrimea : g;
    const f = feature(src, geometry as never) as unknown as Feature<Polygon | MultiPolygon>;
    const out: Feature<Polygon | MultiPolygon, CountryProperties> = {
      type: 'Feature',
      properties: names(g.id === undefined ? undefined : String(g.id), (g.properties as SourceProperties).name),
      geometry: f.geometry,
    };
    if (g.id !== undefined) out.id = String(g.id);
    return out;
  });
  const collection: FeatureCollection<Polygon | MultiPolygon, CountryProperties> = { type: 'FeatureCollection', features };

  let topo = topology({ countries: collection }) as Topology<{ countries: GeometryCollection<CountryProperties> }>;
  if (options.keepShare < 1) {
    topo = presimplify(topo);
    topo = simplify(topo, quantile(topo, options.keepShare));
  }
  topo = quantize(topo, options.quantization);
  const text = JSON.stringify(topo);

  // What is written is what is checked: the places, read back from the text.
  const written = countryFeatures(JSON.parse(text));
  checkPlaces(written);
  const writtenUkraine = written.find((c) => c.id === UKRAINE_ID);
  const polygons = writtenUkraine?.geometry.type === 'Polygon' ? [writtenUkraine.geometry.coordinates] : (writtenUkraine?.geometry.coordinates ?? []);
  if (polygons.some((rings) => rings.length > 1)) throw new Error('Ukraine has a hole: the border with Crimea was not dissolved');
  return `${text}\n`;
}
