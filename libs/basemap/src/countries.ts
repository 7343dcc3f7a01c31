// The basemap's countries as GeoJSON, and which country a position lies in.
// Pure: no DOM, no Node APIs, so the console and the tests use the same code.
import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';

export interface CountryProperties {
  /** ISO 3166-1 alpha-2 code, or null for Natural Earth's few areas without one (e.g. Kosovo). */
  iso_a2: string | null;
  name_en: string;
  name_uk: string;
}

/** A country; its id is the ISO 3166-1 numeric code (as world-atlas has it), absent where none. */
export type CountryFeature = Feature<Polygon | MultiPolygon, CountryProperties>;

export type BasemapLanguage = 'en' | 'uk';

/** The features of one object of a basemap asset (libs/basemap/assets/*.json), as GeoJSON. */
export function countryFeatures(topology: unknown, objectName = 'countries'): CountryFeature[] {
  const topo = topology as Topology;
  const object = topo?.type === 'Topology' ? topo.objects?.[objectName] : undefined;
  if (object?.type !== 'GeometryCollection') {
    throw new Error(`not a basemap topology with a "${objectName}" collection`);
  }
  const collection = feature(topo, object as GeometryCollection<CountryProperties>);
  return collection.features.filter(
    (f): f is CountryFeature => f.geometry?.type === 'Polygon' || f.geometry?.type === 'MultiPolygon',
  );
}

export function countryName(country: CountryFeature, language: BasemapLanguage): string {
  return language === 'uk' ? country.properties.name_uk : country.properties.name_en;
}

const polygonsOf = (geometry: Polygon | MultiPolygon): Position[][][] =>
  geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;

/** Even-odd test over a polygon's rings (outer ring and holes): inside the outer ring, in no hole. */
function inPolygon(rings: Position[][], lon: number, lat: number): boolean {
  let inside = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

/** Whether a (longitude, latitude) position lies inside a polygon or multipolygon. */
export function containsPoint(geometry: Polygon | MultiPolygon, lon: number, lat: number): boolean {
  return polygonsOf(geometry).some((rings) => inPolygon(rings, lon, lat));
}

type Box = [west: number, south: number, east: number, north: number];

function boxOf(geometry: Polygon | MultiPolygon): Box {
  const box: Box = [Infinity, Infinity, -Infinity, -Infinity];
  for (const ring of polygonsOf(geometry).flat()) {
    for (const [lon, lat] of ring) {
      box[0] = Math.min(box[0], lon);
      box[1] = Math.min(box[1], lat);
      box[2] = Math.max(box[2], lon);
      box[3] = Math.max(box[3], lat);
    }
  }
  return box;
}

/** Degrees of latitude per band of the edge index. */
const BAND = 0.25;

/**
 * A country's edges by band of latitude (x1, y1, x2, y2 flat), each in every band it spans: a ray
 * along a parallel meets only the edges of its band. Russia's bounding box is the whole width of
 * the globe, and testing its 2,000-vertex mainland ring on every lookup cost 0.2 ms a position.
 */
function edgeBands(geometry: Polygon | MultiPolygon): Map<number, number[]> {
  const bands = new Map<number, number[]>();
  for (const ring of polygonsOf(geometry).flat()) {
    for (let i = 1; i < ring.length; i++) {
      const [x1, y1] = ring[i - 1];
      const [x2, y2] = ring[i];
      for (let b = Math.floor(Math.min(y1, y2) / BAND); b <= Math.floor(Math.max(y1, y2) / BAND); b++) {
        const edges = bands.get(b) ?? [];
        if (edges.length === 0) bands.set(b, edges);
        edges.push(x1, y1, x2, y2);
      }
    }
  }
  return bands;
}

/** Even-odd over the edges of the position's band: the same answer as containsPoint. */
function inBands(bands: Map<number, number[]>, lon: number, lat: number): boolean {
  const edges = bands.get(Math.floor(lat / BAND));
  let inside = false;
  for (let k = 0; edges && k < edges.length; k += 4) {
    const [x1, y1, x2, y2] = [edges[k], edges[k + 1], edges[k + 2], edges[k + 3]];
    if (y1 > lat !== y2 > lat && lon < ((x2 - x1) * (lat - y1)) / (y2 - y1) + x1) inside = !inside;
  }
  return inside;
}

export interface CountryLookup {
  /** Every country containing the position: one on land, none at sea (or off a generalised coast). */
  countriesAt(lon: number, lat: number): CountryFeature[];
  /** The country containing the position, if any. */
  countryAt(lon: number, lat: number): CountryFeature | undefined;
  /**
   * The country containing the position or, failing that, the one whose boundary is nearest
   * within maxKm: a photo taken on a beach can fall just outside a coast generalised at 1:50m.
   */
  countryNear(lon: number, lat: number, maxKm: number): CountryFeature | undefined;
}

const KM_PER_DEGREE = 111.2;

/** Distance in km from a position to a geometry's rings, on a plane tangent at the position. */
function kmToRings(geometry: Polygon | MultiPolygon, lon: number, lat: number): number {
  const kx = KM_PER_DEGREE * Math.cos((lat * Math.PI) / 180);
  let best = Infinity;
  for (const ring of polygonsOf(geometry).flat()) {
    for (let i = 1; i < ring.length; i++) {
      const ax = (ring[i - 1][0] - lon) * kx;
      const ay = (ring[i - 1][1] - lat) * KM_PER_DEGREE;
      const dx = (ring[i][0] - lon) * kx - ax;
      const dy = (ring[i][1] - lat) * KM_PER_DEGREE - ay;
      const t = dx === 0 && dy === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / (dx * dx + dy * dy)));
      best = Math.min(best, Math.hypot(ax + t * dx, ay + t * dy));
    }
  }
  return best;
}

/** A point-in-country lookup over the features (bounding boxes first, then the rings). */
export function countryLookup(countries: CountryFeature[]): CountryLookup {
  const boxed = countries.map((country) => ({ country, box: boxOf(country.geometry), bands: edgeBands(country.geometry) }));
  const countriesAt = (lon: number, lat: number): CountryFeature[] =>
    boxed
      .filter(({ box }) => lon >= box[0] && lon <= box[2] && lat >= box[1] && lat <= box[3])
      .filter(({ bands }) => inBands(bands, lon, lat))
      .map(({ country }) => country);
  const countryNear = (lon: number, lat: number, maxKm: number): CountryFeature | undefined => {
    const inside = countriesAt(lon, lat)[0];
    if (inside) return inside;
    const dLat = maxKm / KM_PER_DEGREE;
    const dLon = dLat / Math.max(Math.cos((Math.min(Math.abs(lat) + dLat, 89.9) * Math.PI) / 180), 1e-6);
    let nearest: { country: CountryFeature; km: number } | undefined;
    for (const { country, box } of boxed) {
      if (lon < box[0] - dLon || lon > box[2] + dLon || lat < box[1] - dLat || lat > box[3] + dLat) continue;
      const km = kmToRings(country.geometry, lon, lat);
      if (km <= maxKm && (!nearest || km < nearest.km)) nearest = { country, km };
    }
    return nearest?.country;
  };
  return { countriesAt, countryAt: (lon, lat) => countriesAt(lon, lat)[0], countryNear };
}
