import type { FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { countryFeatures, type CountryProperties } from '#custodia/basemap';
// A file of the bundle (hashed name under /assets), fetched from our own origin when a map opens;
// `#basemap-assets` is libs/basemap/assets (vite.config.ts).
import countriesUrl from '#basemap-assets/countries-50m.json?url';

/**
 * The offline country boundaries the maps draw (libs/basemap: Crimea and Sevastopol in Ukraine,
 * UNGA resolution 68/262). The one place that names the asset.
 */
let loading: Promise<FeatureCollection<Polygon | MultiPolygon, CountryProperties>> | undefined;

export function loadBasemap(): Promise<FeatureCollection<Polygon | MultiPolygon, CountryProperties>> {
  loading ??= fetch(countriesUrl)
    .then((res) => res.json())
    .then((topology: unknown) => ({ type: 'FeatureCollection', features: countryFeatures(topology) }));
  return loading;
}
