import { describe, expect, it } from 'vitest';
import type { IncidentView } from '../incidents/incident.schema.js';
import type { FullRemnantView as RemnantView } from '../remnants/remnant.schema.js';
import { featureCollectionText } from './geojson.js';

async function* pagesOf<T>(...pages: T[][]): AsyncGenerator<T[]> {
  yield* pages;
}

const text = async (parts: AsyncIterable<string>): Promise<string> => {
  let all = '';
  for await (const part of parts) all += part;
  return all;
};

// Only what the features read; the rest of a view does not matter here.
const incident = (id: string, location: { lat: number; lon: number } | null) => ({ id, code: `INC-${id}`, location, weapons: [], attributions: [], evidenceIds: [] }) as unknown as IncidentView;
const remnant = (id: string, incidentId: string) =>
  ({ id, incidentId, location: null, markings: [], physicalCustody: [], sources: [], serialParts: null }) as unknown as RemnantView;

describe('featureCollectionText', () => {
  it('writes one valid collection across pages, empty ones too, remnants placed at their incident', async () => {
    const written = await text(
      featureCollectionText(
        pagesOf([incident('1', { lat: 50, lon: 36 })], [], [incident('2', null)]),
        pagesOf([], [remnant('r1', '1'), remnant('r2', '2')]),
        true,
      ),
    );
    const collection = JSON.parse(written);
    expect(collection.features.map((f: { id: string }) => f.id)).toEqual(['1', '2', 'r1', 'r2']);
    expect(collection.features[2]).toMatchObject({ geometry: { type: 'Point', coordinates: [36, 50] }, properties: { incidentCode: 'INC-1', positionFrom: 'incident' } });
    expect(collection.features[3]).toMatchObject({ geometry: null, properties: { incidentCode: 'INC-2', positionFrom: null } });
  });

  it('without the incidents layer, reads the incidents for their places but writes only remnants; nothing at all is an empty collection', async () => {
    const remnantsOnly = JSON.parse(await text(featureCollectionText(pagesOf([incident('1', { lat: 1, lon: 2 })]), pagesOf([remnant('r1', '1')]), false)));
    expect(remnantsOnly.features.map((f: { id: string }) => f.id)).toEqual(['r1']);
    expect(remnantsOnly.features[0].geometry.coordinates).toEqual([2, 1]);
    expect(JSON.parse(await text(featureCollectionText(pagesOf(), pagesOf(), true)))).toEqual({ type: 'FeatureCollection', features: [] });
  });
});
