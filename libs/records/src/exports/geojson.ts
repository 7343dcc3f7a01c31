import type { IncidentView } from '../incidents/incident.schema.js';
import type { FullRemnantView as RemnantView } from '../remnants/remnant.schema.js';

type Property = string | number | boolean | null;

export interface FeatureCollection {
  type: 'FeatureCollection';
  features: {
    type: 'Feature';
    id: string;
    geometry: { type: 'Point'; coordinates: [number, number] } | null;
    properties: Record<string, Property>;
  }[];
}

/** The layers of the incidents GeoJSON: every feature's `layer` property names its own. */
export const GEOJSON_LAYERS = ['incidents', 'remnants'] as const;
export type GeoJsonLayer = (typeof GEOJSON_LAYERS)[number];

const point = (location: { lat: number; lon: number } | null) => (location ? { type: 'Point' as const, coordinates: [location.lon, location.lat] as [number, number] } : null);

/** Where a remnant without a position of its own is put: at its incident. */
type IncidentPlace = Pick<IncidentView, 'code' | 'location'>;

/**
 * One Point ([lon, lat], RFC 7946) per incident and, as a layer of their own (`layer:
 * "remnants"`, for a QGIS filter or rule), per munition remnant: where it was recovered, else
 * at its incident (`positionFrom` says which). Properties are flat (no arrays or objects).
 *
 * Written as text a page at a time, for a download that never holds the whole collection: every
 * incident page is read (each remnant needs its incident's place), its features written only
 * when `withIncidents`.
 */
export async function* featureCollectionText(
  incidentPages: AsyncIterable<readonly IncidentView[]>,
  remnantPages: AsyncIterable<readonly RemnantView[]>,
  withIncidents: boolean,
): AsyncGenerator<string> {
  const places = new Map<string, IncidentPlace>();
  let written = false;
  const features = (list: readonly FeatureCollection['features'][number][]): string => {
    const text = (written ? ',' : '') + list.map((feature) => JSON.stringify(feature)).join(',');
    written = true;
    return text;
  };
  yield '{"type":"FeatureCollection","features":[';
  for await (const page of incidentPages) {
    for (const incident of page) places.set(incident.id, { code: incident.code, location: incident.location });
    if (withIncidents && page.length > 0) yield features(page.map(incidentFeature));
  }
  for await (const page of remnantPages) {
    if (page.length > 0) yield features(page.map((remnant) => remnantFeature(remnant, places.get(remnant.incidentId))));
  }
  yield ']}';
}

function remnantFeature(v: RemnantView, incident: IncidentPlace | undefined): FeatureCollection['features'][number] {
  const holder = v.physicalCustody[v.physicalCustody.length - 1] ?? null;
  return {
    type: 'Feature',
    id: v.id,
    geometry: point(v.location ?? incident?.location ?? null),
    properties: {
      layer: 'remnants',
      id: v.id,
      incidentId: v.incidentId,
      incidentCode: incident?.code ?? null,
      positionFrom: v.location ? 'recovery' : incident?.location ? 'incident' : null,
      weaponType: v.weaponType,
      component: v.component,
      serialNumber: v.serialNumber,
      serialScheme: v.serialParts?.scheme ?? null,
      serialSeries: v.serialParts?.series ?? null,
      serialSequence: v.serialParts?.number ?? null,
      markings: v.markings.map((m) => m.text).join(';'),
      manufacturer: v.manufacturer?.name ?? null,
      countryOfOrigin: v.countryOfOrigin?.country ?? null,
      producer: v.attribution?.producer ?? null,
      condition: v.condition,
      recoveredAt: v.recoveredAt,
      status: v.status,
      currentHolder: holder?.holder ?? null,
      sourceCount: v.sources.length,
      unsourced: v.unsourced,
    },
  };
}

function incidentFeature(v: IncidentView): FeatureCollection['features'][number] {
  return {
    type: 'Feature',
    id: v.id,
    geometry: point(v.location),
    properties: {
      layer: 'incidents',
      id: v.id,
      code: v.code,
      title: v.title,
      type: v.type,
      startAt: v.startAt,
      endAt: v.endAt,
      datePrecision: v.datePrecision,
      geoPrecision: v.geoPrecision,
      placeName: v.placeName,
      admin1: v.admin1,
      admin2: v.admin2,
      admin3: v.admin3,
      weaponTypes: v.weapons.map((w) => w.weaponType).join(';'),
      attributedTo: v.attributions.map((a) => a.actor).join(';'),
      grade: v.grade,
      verificationStatus: v.verificationStatus,
      killedMin: v.killed?.min ?? null,
      killedMax: v.killed?.max ?? null,
      injuredMin: v.injured?.min ?? null,
      injuredMax: v.injured?.max ?? null,
      civilianKilledMin: v.civilianKilled?.min ?? null,
      civilianKilledMax: v.civilianKilled?.max ?? null,
      figuresSource: v.figuresSource,
      evidenceCount: v.evidenceIds.length,
      unsourced: v.unsourced,
    },
  };
}
