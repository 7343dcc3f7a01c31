import type { GeoJsonObject } from 'geojson';

/**
 * The offline country boundaries the maps draw (libs/basemap: Crimea and Sevastopol in Ukraine),
 * loaded as a file of the bundle only when a map is opened. The one place that names the asset.
 */
export async function loadBasemap(): Promise<GeoJsonObject | null> {
  return null;
}
