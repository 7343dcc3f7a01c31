import type { IncidentView } from '../incidents/incident.schema.js';

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

/** One Point ([lon, lat], RFC 7946) per incident, properties flat (no arrays or objects) for QGIS. */
export function incidentsFeatureCollection(incidents: readonly IncidentView[]): FeatureCollection {
  return {
    type: 'FeatureCollection',
    features: incidents.map((v) => ({
      type: 'Feature',
      id: v.id,
      geometry: v.location ? { type: 'Point', coordinates: [v.location.lon, v.location.lat] } : null,
      properties: {
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
    })),
  };
}
