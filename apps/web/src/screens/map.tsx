import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import Supercluster from 'supercluster';
import { firstItems, get, itemName, type Evidence, type Incident } from '../api.js';
import { loadBasemap } from '../basemap.js';
import { useI18n } from '../i18n.js';
import { filtersInAddress, keepInAddress, navigate } from '../router.js';
import { visibleText } from '#custodia/text';
import { ErrorNote, Field } from '../ui.js';
import { bboxOf } from './map-area.js';
import { instantOf } from './record-form.js';

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
  span.textContent = visibleText(text);
  return span;
}

/**
 * A marker that leads to a page, for the mouse and the keyboard alike: a link in the tab order
 * (Leaflet's vector markers are not), named by its tooltip's text, which also shows on focus;
 * Enter follows it.
 */
function place(map: L.Map | L.LayerGroup, marker: L.CircleMarker, label: string, href: string): void {
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

/** An item with a place on the map. */
interface Placed {
  lat: number;
  lon: number;
  name: string;
  href: string;
}

/** The zoom beyond which items still together share one place: listed, not zoomed into. */
const CLUSTER_MAX_ZOOM = 17;

/**
 * The case's items, those closer than a marker's width drawn as one numbered disc (supercluster
 * groups them per zoom; a strike site's dozens of photos would otherwise hide each other under
 * the top one). The disc is a button in the tab order, named by its number and what it does:
 * it zooms in to where they part, or, for items at one place, lists them as links. Drawn again
 * on each move and in the console's language of the moment (`text`).
 */
function clusterLayer(map: L.Map, items: Placed[], box: HTMLElement, text: () => ReturnType<typeof useI18n>['t']): { draw(): void; remove(): void } {
  const index = new Supercluster<Placed>({ radius: 24, extent: 256, maxZoom: CLUSTER_MAX_ZOOM }).load(
    items.map((item) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [item.lon, item.lat] }, properties: item })),
  );
  const layer = L.layerGroup().addTo(map);
  const clamp = (v: number, limit: number) => Math.max(-limit, Math.min(limit, v));
  const draw = () => {
    const t = text();
    const labelOf = (item: Placed) => `${t('map.evidence')}: ${item.name}`;
    layer.clearLayers();
    const b = map.getBounds().pad(0.5);
    const shown = index.getClusters([clamp(b.getWest(), 180), clamp(b.getSouth(), 85), clamp(b.getEast(), 180), clamp(b.getNorth(), 85)], Math.round(map.getZoom()));
    for (const feature of shown) {
      const [lon, lat] = feature.geometry.coordinates as [number, number];
      if (!('cluster' in feature.properties)) {
        const item = feature.properties as Placed;
        place(layer, L.circleMarker([lat, lon], EVIDENCE_MARKER), labelOf(item), item.href);
        continue;
      }
      const { cluster_id: id, point_count: n } = feature.properties;
      const together = index.getClusterExpansionZoom(id) > CLUSTER_MAX_ZOOM;
      const label = t(together ? 'map.clusterList' : 'map.clusterZoom', { n });
      const size = n < 10 ? 30 : n < 100 ? 36 : 42;
      const icon = L.divIcon({ className: 'map-cluster', html: String(n), iconSize: [size, size] });
      const marker = L.marker([lat, lon], { icon, keyboard: false }).addTo(layer);
      const element = marker.getElement()!;
      element.setAttribute('tabindex', '0');
      element.setAttribute('role', 'button');
      element.setAttribute('aria-label', label);
      element.setAttribute('data-cluster-size', String(n));
      marker.bindTooltip(textTooltip(label));
      element.addEventListener('focus', () => marker.openTooltip());
      element.addEventListener('blur', () => marker.closeTooltip());
      element.addEventListener('keydown', (event) => {
        if (event.key !== 'Enter' && event.key !== ' ') return;
        event.preventDefault();
        marker.fire('click');
      });
      marker.on('click', () => {
        if (!together) {
          map.setView([lat, lon], index.getClusterExpansionZoom(id));
          // The disc is gone once drawn again: the keyboard stays on the map.
          box.focus({ preventScroll: true });
          return;
        }
        const list = document.createElement('ul');
        list.className = 'map-list';
        const leaves = index.getLeaves(id, Infinity).sort((a, b) => a.properties.name.localeCompare(b.properties.name));
        for (const leaf of leaves) {
          const link = document.createElement('a');
          link.href = leaf.properties.href;
          link.textContent = labelOf(leaf.properties);
          link.addEventListener('click', (event) => {
            event.preventDefault();
            navigate(leaf.properties.href);
          });
          list.appendChild(document.createElement('li')).appendChild(link);
        }
        L.popup({ maxWidth: 360 }).setLatLng([lat, lon]).setContent(list).openOn(map);
        list.querySelector('a')?.focus();
      });
    }
  };
  map.on('moveend', draw);
  return {
    draw,
    remove() {
      map.off('moveend', draw);
      layer.remove();
    },
  };
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

/**
 * The most items (and incidents) one map reads: every one of them is a logged read (a listing is),
 * and a browser draws this many marks in clusters without strain.
 */
const MAP_MOST = 2000;

/** The map's time, kept in its address as the grid's filters are. */
const WHEN = ['from', 'to'] as const;

/** A `bbox` as Leaflet bounds (east past 180 where the box crosses the antimeridian), to outline it. */
function boundsOf(bbox: string): L.LatLngBounds {
  const [west, south, east, north] = bbox.split(',').map(Number) as [number, number, number, number];
  return L.latLngBounds([south, west], [north, east < west ? east + 360 : east]);
}

export function MapPanel({ caseId }: { caseId: string }) {
  const { t, number } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const [map, setMap] = useState<L.Map | null>(null);
  const [error, setError] = useState<unknown>(null);
  // The time shown: the items' capture time and the incidents' start, as the case's searches take them.
  const [draft, setDraft] = useState(() => filtersInAddress(WHEN, { from: '', to: '' }));
  const [range, setRange] = useState(draft);
  // The area searched (a bbox), or null for the whole case. Not kept in the address: as in the
  // grid, a place searched stays out of the browser's history and proxies' logs.
  const [area, setArea] = useState<string | null>(null);
  // How many of the case's items and incidents have a place on the map: [shown, of those read, whether the case holds more].
  const [shown, setShown] = useState<{ evidence: [number, number, boolean]; incidents: [number, number, boolean] } | null>(null);
  // The marks follow a change of language: drawn again in it.
  const language = useRef(t);
  language.current = t;
  const redraw = useRef<(() => void) | null>(null);
  useEffect(() => redraw.current?.(), [t]);
  useLeaflet(box, setMap);
  useEffect(() => {
    if (!map) return;
    let gone = false;
    let remove = (): void => undefined;
    const when = new URLSearchParams();
    for (const key of ['from', 'to'] as const) if (range[key]) when.set(key, instantOf(range[key])!);
    if (area) when.set('bbox', area);
    const query = when.toString() ? `?${when}` : '';
    setError(null);
    void Promise.all([firstItems<Evidence>(`/cases/${caseId}/evidence${query}`, MAP_MOST), firstItems<Incident>(`/cases/${caseId}/incidents${query}`, MAP_MOST)]).then(([evidence, incidents]) => {
      if (gone) return;
      const points: L.LatLng[] = [];
      const items: Placed[] = [];
      for (const item of evidence.items) {
        const at = item.declared.location ?? item.extracted?.location;
        if (!at) continue;
        points.push(L.latLng(at.lat, at.lon));
        items.push({ lat: at.lat, lon: at.lon, name: itemName(item), href: `/evidence/${item.id}` });
      }
      const clusters = clusterLayer(map, items, box.current!, () => language.current);
      const placed = incidents.items.filter((incident) => incident.location);
      for (const incident of placed) points.push(L.latLng(incident.location!.lat, incident.location!.lon));
      // The area searched, outlined; nothing outside it was read.
      const outline = area ? L.rectangle(boundsOf(area), { color: '#1f4e79', weight: 2, dashArray: '6 4', fill: false, interactive: false }).addTo(map) : null;
      const incidentMarks = L.layerGroup().addTo(map);
      const drawIncidents = () => {
        incidentMarks.clearLayers();
        for (const incident of placed) {
          const mark = L.circleMarker([incident.location!.lat, incident.location!.lon], INCIDENT_MARKER);
          place(incidentMarks, mark, `${language.current('map.incident')}: ${incident.title}`, `/incidents/${incident.id}`);
        }
      };
      // The items' marks are drawn again on every move: the incidents' rings stay on top of them.
      const raise = () => incidentMarks.eachLayer((mark) => void (mark as L.CircleMarker).bringToFront());
      map.on('moveend', raise);
      redraw.current = () => {
        clusters.draw();
        drawIncidents();
      };
      remove = () => {
        map.off('moveend', raise);
        clusters.remove();
        incidentMarks.remove();
        outline?.remove();
        redraw.current = null;
      };
      setShown({ evidence: [items.length, evidence.items.length, evidence.more], incidents: [placed.length, incidents.items.length, incidents.more] });
      // The whole case is brought into view; an area searched stays where the user put it.
      if (points.length && !area) map.fitBounds(L.latLngBounds(points).pad(0.3), { maxZoom: 14 });
      redraw.current();
    }, (e: unknown) => !gone && setError(e));
    return () => {
      gone = true;
      remove();
    };
  }, [map, caseId, range, area]);
  const searchArea = () => {
    if (!map) return;
    const b = map.getBounds();
    setArea(bboxOf({ west: b.getWest(), south: b.getSouth(), east: b.getEast(), north: b.getNorth() }));
  };
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setRange(draft);
    keepInAddress(WHEN, draft);
  };
  return (
    <div>
      <h2>{t('map.title')}</h2>
      <form className="filters" onSubmit={apply} aria-label={t('map.when')}>
        <Field label={t('map.from')} type="datetime-local" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        <Field label={t('map.to')} type="datetime-local" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        <button type="submit" className="primary">
          {t('filter.apply')}
        </button>
      </form>
      <div className="map-area">
        <button type="button" onClick={searchArea} disabled={!map}>
          {t('map.searchArea')}
        </button>
        {area && (
          <button type="button" onClick={() => setArea(null)}>
            {t('map.wholeCase')}
          </button>
        )}
      </div>
      <ErrorNote error={error} />
      <div ref={box} className="map" role="region" aria-label={t('map.title')} />
      {shown && (
        // What the marks mean, and how many of the case's items and incidents have a place to be shown at.
        <ul className="map-legend" data-testid="map-legend" data-area={area ?? undefined}>
          {(
            [
              ['evidence', 'map.legendEvidence', shown.evidence],
              ['incident', 'map.legendIncidents', shown.incidents],
            ] as const
          ).map(([kind, key, [placed, all, more]]) => (
            <li key={kind}>
              <span className={`swatch swatch-${kind}`} aria-hidden="true" />
              {t(key, { n: number(placed) })}
              {all > placed && ` ${t('map.unplaced', { m: number(all - placed) })}`}
              {more && ` ${t('map.more', { n: number(MAP_MOST) })}`}
            </li>
          ))}
          {area && (
            <li>
              <span className="swatch swatch-area" aria-hidden="true" />
              {t('map.inArea')}
            </li>
          )}
          {shown.evidence[0] > 1 && (
            <li>
              <span className="swatch swatch-cluster" aria-hidden="true">
                2
              </span>
              {t('map.legendClusters')}
            </li>
          )}
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
