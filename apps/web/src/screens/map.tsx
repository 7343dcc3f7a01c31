import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { useEffect, useRef, useState } from 'react';
import { get, itemName, type Evidence, type Incident, type Page } from '../api.js';
import { loadBasemap } from '../basemap.js';
import { useI18n } from '../i18n.js';
import { navigate } from '../router.js';
import { ErrorNote } from '../ui.js';

const UKRAINE: L.LatLngExpression = [48.6, 31.2];

/**
 * Markers at least 24 px across (WCAG 2.5.8), told apart by more than colour (1.4.1): an item is a
 * filled disc, an incident a larger ring with a thick edge; the legend under the map says which.
 */
const EVIDENCE_MARKER: L.CircleMarkerOptions = { radius: 12, weight: 2, color: '#7a3b00', fillColor: '#f0a050', fillOpacity: 0.9 };
const INCIDENT_MARKER: L.CircleMarkerOptions = { radius: 16, weight: 5, color: '#8b0000', fillColor: '#d03030', fillOpacity: 0.35 };

/**
 * A tooltip's content as text. Leaflet puts a string tooltip into the page as HTML, and titles and
 * file names are whatever a submitter typed: `<meta http-equiv=refresh>` or `<video src=...>` in a
 * title would otherwise run in every investigator's console that opens the map.
 */
function textTooltip(text: string): HTMLElement {
  const span = document.createElement('span');
  span.textContent = text;
  return span;
}

/**
 * A marker that leads to a page, for the mouse and the keyboard alike: a link in the tab order
 * (Leaflet's vector markers are not), named by its tooltip's text, which also shows on focus;
 * Enter follows it.
 */
function place(map: L.Map, marker: L.CircleMarker, label: string, href: string): void {
  marker.bindTooltip(textTooltip(label)).on('click', () => navigate(href)).addTo(map);
  const element = marker.getElement();
  if (!element) return;
  element.setAttribute('tabindex', '0');
  element.setAttribute('role', 'link');
  element.setAttribute('aria-label', label);
  element.addEventListener('focus', () => marker.openTooltip());
  element.addEventListener('blur', () => marker.closeTooltip());
  element.addEventListener('keydown', (event) => {
    if ((event as KeyboardEvent).key === 'Enter') navigate(href);
  });
}

/** A Leaflet map over the bundled boundaries (no tile server unless the operator configures one). */
function useLeaflet(box: React.RefObject<HTMLDivElement | null>, onReady: (map: L.Map) => void | (() => void)) {
  const { t } = useI18n();
  const shown = useRef<L.Map | null>(null);
  useEffect(() => {
    const map = L.map(box.current!, { center: UKRAINE, zoom: 5, attributionControl: false, keyboard: true, zoomControl: false });
    shown.current = map;
    let cleanup: void | (() => void);
    // Left before the basemap came: nothing is added to a map already removed.
    let gone = false;
    void (async () => {
      const config = await get<{ mapTileUrl: string | null }>('/config').catch(() => ({ mapTileUrl: null }));
      if (gone) return;
      if (config.mapTileUrl) L.tileLayer(config.mapTileUrl, { maxZoom: 19 }).addTo(map);
      const basemap = await loadBasemap();
      if (gone) return;
      L.geoJSON(basemap, { style: { color: '#1f4e79', weight: 1, fillColor: '#e8eef5', fillOpacity: config.mapTileUrl ? 0 : 1 }, interactive: false }).addTo(map);
      cleanup = onReady(map);
    })();
    return () => {
      gone = true;
      if (cleanup) cleanup();
      map.remove();
      shown.current = null;
    };
  }, []);
  // Leaflet names its zoom buttons in English (title and aria-label): named in the console's
  // language instead, again when it changes.
  useEffect(() => {
    const map = shown.current;
    if (!map) return;
    const zoom = L.control.zoom({ zoomInTitle: t('map.zoomIn'), zoomOutTitle: t('map.zoomOut') }).addTo(map);
    return () => {
      zoom.remove();
    };
  }, [t]);
}

export function MapPanel({ caseId }: { caseId: string }) {
  const { t, number } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<unknown>(null);
  // How many of the case's items and incidents have a place on the map: [shown, of all].
  const [shown, setShown] = useState<{ evidence: [number, number]; incidents: [number, number] } | null>(null);
  useLeaflet(box, (map) => {
    void Promise.all([get<Page<Evidence>>(`/cases/${caseId}/evidence?limit=200`), get<Page<Incident>>(`/cases/${caseId}/incidents?limit=200`)]).then(([evidence, incidents]) => {
      const points: L.LatLng[] = [];
      let placedEvidence = 0;
      let placedIncidents = 0;
      for (const item of evidence.items) {
        const at = item.declared.location ?? item.extracted?.location;
        if (!at) continue;
        const p = L.latLng(at.lat, at.lon);
        points.push(p);
        placedEvidence++;
        place(map, L.circleMarker(p, EVIDENCE_MARKER), `${t('map.evidence')}: ${itemName(item)}`, `/evidence/${item.id}`);
      }
      for (const incident of incidents.items) {
        if (!incident.location) continue;
        const p = L.latLng(incident.location.lat, incident.location.lon);
        points.push(p);
        placedIncidents++;
        place(map, L.circleMarker(p, INCIDENT_MARKER), `${t('map.incident')}: ${incident.title}`, `/incidents/${incident.id}`);
      }
      setShown({ evidence: [placedEvidence, evidence.items.length], incidents: [placedIncidents, incidents.items.length] });
      if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.3), { maxZoom: 14 });
    }, setError);
  });
  return (
    <div>
      <h2>{t('map.title')}</h2>
      <ErrorNote error={error} />
      <div ref={box} className="map" role="region" aria-label={t('map.title')} />
      {shown && (
        // What the marks mean, and how many of the case's items and incidents have a place to be shown at.
        <ul className="map-legend" data-testid="map-legend">
          {(
            [
              ['evidence', 'map.legendEvidence', shown.evidence],
              ['incident', 'map.legendIncidents', shown.incidents],
            ] as const
          ).map(([kind, key, [placed, all]]) => (
            <li key={kind}>
              <span className={`swatch swatch-${kind}`} aria-hidden="true" />
              {t(key, { n: number(placed) })}
              {all > placed && ` ${t('map.unplaced', { m: number(all - placed) })}`}
            </li>
          ))}
        </ul>
      )}
      <p className="hint">{t('map.basemap')}</p>
    </div>
  );
}

/** Places an incident: a click on the map sets the latitude and longitude fields. */
export function PlacePicker({ lat, lon, onPick }: { lat: string; lon: string; onPick(lat: number, lon: number): void }) {
  const { t } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const marker = useRef<L.CircleMarker | null>(null);
  const mapRef = useRef<L.Map | null>(null);
  const pick = useRef(onPick);
  pick.current = onPick;
  useLeaflet(box, (map) => {
    mapRef.current = map;
    map.on('click', (e: L.LeafletMouseEvent) => pick.current(e.latlng.lat, e.latlng.lng));
  });
  useEffect(() => {
    const map = mapRef.current;
    const la = Number(lat);
    const lo = Number(lon);
    if (!map || lat === '' || lon === '' || !Number.isFinite(la) || !Number.isFinite(lo) || Math.abs(la) > 90 || Math.abs(lo) > 180) return;
    if (!marker.current) marker.current = L.circleMarker([la, lo], { radius: 8, color: '#8b0000' }).addTo(map);
    else marker.current.setLatLng([la, lo]);
  }, [lat, lon]);
  return <div ref={box} className="map small" role="region" aria-label={t('incident.pickOnMap')} title={t('incident.pickOnMap')} />;
}
