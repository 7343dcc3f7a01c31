import { useCallback, useEffect, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { get, type Evidence, type Flag, type Page } from '../api.js';
import { useI18n } from '../i18n.js';
import { filtersInAddress, keepInAddress } from '../router.js';
import { ErrorNote, Field, FlagBadges, Link, Said, Select, shown } from '../ui.js';
import { requestThumbnail } from './thumbs.js';

const FLAGS: Flag[] = ['exact_duplicate', 'near_duplicate', 'location_mismatch', 'time_mismatch', 'no_embedded_metadata', 'type_mismatch'];
const STATUSES = ['received', 'under_review', 'verified', 'disputed'] as const;
/**
 * The type filter's choices: the API's mediaType patterns and their labels. Documents: PDFs, Word,
 * Excel and PowerPoint (OOXML and 97-2003 compound files), OpenDocument and RTF.
 */
const TYPES = [
  ['image/*', 'type.image'],
  ['video/*', 'type.video'],
  ['audio/*', 'type.audio'],
  ['application/pdf,application/rtf,application/x-cfb,application/msword,application/vnd.ms-excel,application/vnd.ms-powerpoint,application/vnd.ms-outlook,application/vnd.openxmlformats-officedocument.*,application/vnd.oasis.opendocument.*,message/rfc822,multipart/related', 'type.documents'],
  ['application/pdf', 'type.application/pdf'],
] as const;
const CELL_W = 176;
const CELL_H = 236;
const PAGE = 200;

type Filters = {
  q: string;
  from: string;
  to: string;
  near: string;
  radiusM: string;
  flag: string;
  mediaType: string;
  status: string;
  tag: string;
};
const NO_FILTERS: Filters = { q: '', from: '', to: '', near: '', radiusM: '', flag: '', mediaType: '', status: '', tag: '' };

/**
 * The filters kept in the screen's address, so a reload, a return from an item and a link sent
 * to a colleague show the same selection. Not a place searched near: the address stays in the
 * browser's history and in proxies' logs, and the place is often where a documenter stood.
 */
const IN_ADDRESS = ['q', 'from', 'to', 'flag', 'mediaType', 'status', 'tag'] as const satisfies readonly (keyof Filters)[];

function queryOf(filters: Filters, cursor: string | null): string {
  const q = new URLSearchParams({ limit: String(PAGE) });
  for (const [key, value] of Object.entries(filters)) {
    if (!value) continue;
    // datetime-local gives the user's wall-clock time; the API wants an instant.
    q.set(key, key === 'from' || key === 'to' ? new Date(value).toISOString() : key === 'near' ? value.replace(/\s+/g, '') : value);
  }
  if (filters.near && !filters.radiusM) q.set('radiusM', '1000');
  if (cursor) q.set('cursor', cursor);
  return q.toString();
}

/**
 * The case's evidence as a grid of thumbnails that stays smooth with tens of thousands of items:
 * pages of 200 are fetched as the user scrolls towards the end, and only the rows in view (and
 * two either side) are in the DOM, whatever the number of items loaded.
 */
export function EvidenceGrid({ caseId }: { caseId: string }) {
  const { t, number } = useI18n();
  const [draft, setDraft] = useState<Filters>(() => filtersInAddress(IN_ADDRESS, NO_FILTERS));
  const [filters, setFilters] = useState<Filters>(draft);
  const [items, setItems] = useState<Evidence[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const generation = useRef(0);

  const loadPage = useCallback(
    async (from: string | null, reset: boolean) => {
      const mine = ++generation.current;
      setLoading(true);
      try {
        const page = await get<Page<Evidence>>(`/cases/${caseId}/evidence?${queryOf(filters, from)}`);
        if (mine !== generation.current) return;
        setItems((old) => (reset ? page.items : [...old, ...page.items]));
        setCursor(page.nextCursor);
        setError(null);
      } catch (e) {
        if (mine === generation.current) setError(e);
      } finally {
        if (mine === generation.current) setLoading(false);
      }
    },
    [caseId, filters],
  );

  useEffect(() => {
    setItems([]);
    setCursor(null);
    void loadPage(null, true);
  }, [loadPage]);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
    keepInAddress(IN_ADDRESS, draft);
  };
  const set = (key: keyof Filters) => (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value });

  return (
    <div className="evidence">
      <form className="filters" onSubmit={apply} aria-label={t('filter.title')}>
        <Field label={t('filter.q')} type="search" value={draft.q} onChange={set('q')} />
        <Field label={t('filter.from')} type="datetime-local" value={draft.from} onChange={set('from')} />
        <Field label={t('filter.to')} type="datetime-local" value={draft.to} onChange={set('to')} />
        <Field label={t('filter.near')} placeholder="50.0, 36.2" pattern="-?\d+(\.\d+)?,\s*-?\d+(\.\d+)?" value={draft.near} onChange={set('near')} />
        <Field label={t('filter.radius')} type="number" min={1} value={draft.radiusM} onChange={set('radiusM')} />
        <Select label={t('filter.flag')} value={draft.flag} onChange={set('flag')}>
          <option value="">{t('filter.any')}</option>
          {FLAGS.map((f) => (
            <option key={f} value={f}>
              {t(`flag.${f}`)}
            </option>
          ))}
        </Select>
        <Select label={t('filter.type')} value={draft.mediaType} onChange={set('mediaType')}>
          <option value="">{t('filter.any')}</option>
          {TYPES.map(([value, label]) => (
            <option key={value} value={value}>
              {t(label)}
            </option>
          ))}
        </Select>
        <Select label={t('filter.status')} value={draft.status} onChange={set('status')}>
          <option value="">{t('filter.any')}</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(`status.${s}`)}
            </option>
          ))}
        </Select>
        <Field label={t('filter.tag')} value={draft.tag} onChange={set('tag')} />
        <button type="submit" className="primary">
          {t('filter.apply')}
        </button>
      </form>
      <ErrorNote error={error} />
      <p role="status" className="count">
        {t('grid.count', { n: number(items.length) })}
        {cursor ? ` · ${t('grid.more')}` : ''}
      </p>
      {items.length === 0 && !loading ? <p>{t('grid.empty')}</p> : <VirtualGrid items={items} onNearEnd={() => cursor && !loading && void loadPage(cursor, false)} />}
    </div>
  );
}

/**
 * Keyboard: the grid is one tab stop (roving tabindex: only the active cell's link is tabbable);
 * arrows move between cells by row and column, Page Up/Down by a screen, Home/End to the first
 * and last loaded item, scrolling the virtual list so the cell is rendered; Enter opens the item.
 */
function VirtualGrid({ items, onNearEnd }: { items: Evidence[]; onNearEnd(): void }) {
  const { t } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600, width: 900 });
  const [active, setActive] = useState(0);
  const focusWanted = useRef(false);
  useLayoutEffect(() => {
    const el = box.current!;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight, width: el.clientWidth });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    el.addEventListener('scroll', measure, { passive: true });
    return () => {
      observer.disconnect();
      el.removeEventListener('scroll', measure);
    };
  }, []);
  const columns = Math.max(1, Math.floor(view.width / CELL_W));
  const rows = Math.ceil(items.length / columns);
  const first = Math.max(0, Math.floor(view.top / CELL_H) - 2);
  const last = Math.min(rows, Math.ceil((view.top + view.height) / CELL_H) + 2);
  useEffect(() => {
    if (last >= rows - 3) onNearEnd();
  }, [last, rows, onNearEnd]);
  // The cell Tab lands on: the active one while it is rendered, else the first rendered one.
  const current = Math.min(active, Math.max(0, items.length - 1));
  const tabbable = current >= first * columns && current < last * columns ? current : first * columns;
  useEffect(() => {
    if (!focusWanted.current) return;
    focusWanted.current = false;
    box.current?.querySelector<HTMLElement>(`[data-index="${current}"] a`)?.focus({ preventScroll: true });
  }, [current, first, last]);

  function moveTo(index: number) {
    const target = Math.max(0, Math.min(items.length - 1, index));
    if (target === current) return;
    const el = box.current!;
    const top = Math.floor(target / columns) * CELL_H;
    let scrollTop = el.scrollTop;
    if (top < scrollTop) scrollTop = top;
    else if (top + CELL_H > scrollTop + el.clientHeight) scrollTop = top + CELL_H - el.clientHeight;
    if (scrollTop !== el.scrollTop) {
      el.scrollTop = scrollTop;
      // Render the target's rows now, without waiting for the scroll event.
      setView({ top: scrollTop, height: el.clientHeight, width: el.clientWidth });
    }
    focusWanted.current = true;
    setActive(target);
  }

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (!(event.target instanceof HTMLElement) || !event.target.closest('[data-index]')) return;
    const page = Math.max(1, Math.floor(view.height / CELL_H)) * columns;
    const moves: Record<string, number> = {
      ArrowRight: current + 1,
      ArrowLeft: current - 1,
      ArrowDown: current + columns,
      ArrowUp: current - columns,
      PageDown: current + page,
      PageUp: current - page,
      Home: 0,
      End: items.length - 1,
    };
    const target = moves[event.key];
    if (target === undefined || event.altKey || event.metaKey) return;
    event.preventDefault();
    // Down from the last row's shorter end: the last item, not nothing.
    if (event.key === 'ArrowDown' && target >= items.length && Math.floor(current / columns) < rows - 1) return moveTo(items.length - 1);
    if (target < 0 || target >= items.length) return;
    moveTo(target);
  }

  const cells = [];
  for (let row = first; row < last; row++) {
    for (let col = 0; col < columns; col++) {
      const index = row * columns + col;
      const item = items[index];
      if (!item) break;
      cells.push(<Cell key={item.id} item={item} index={index} tabbable={index === tabbable} onFocus={() => setActive(index)} style={{ top: row * CELL_H, left: col * CELL_W }} />);
    }
  }
  return (
    <div className="grid-scroll" ref={box} role="region" aria-label={t('case.evidence')} aria-describedby="grid-keys" data-total={items.length} data-columns={columns} onKeyDown={onKeyDown}>
      <p id="grid-keys" className="visually-hidden">
        {t('grid.keys')}
      </p>
      <ul className="grid" style={{ height: rows * CELL_H }}>
        {cells}
      </ul>
    </div>
  );
}

function Cell({ item, index, tabbable, onFocus, style }: { item: Evidence; index: number; tabbable: boolean; onFocus(): void; style: { top: number; left: number } }) {
  const { t, instant } = useI18n();
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => (item.derivatives?.thumbnail ? requestThumbnail(item.id, setSrc) : undefined), [item.id, item.derivatives?.thumbnail]);
  const name = shown(item.title) ?? shown(item.originalFileName) ?? item.sha256.slice(0, 12);
  // Which time the cell shows: the one declared, else the file's own, else when it arrived.
  const [whose, when] = item.declared.capturedAt
    ? (['grid.declared', item.declared.capturedAt] as const)
    : item.extracted?.capturedAt
      ? (['grid.embedded', item.extracted.capturedAt] as const)
      : (['grid.received', item.receivedAt] as const);
  return (
    <li className="cell" style={style} data-evidence-id={item.id} data-index={index}>
      <Link href={`/evidence/${item.id}`} tabIndex={tabbable ? 0 : -1} onFocus={onFocus}>
        {/* The name follows in the link: the thumbnail's alt would say it twice. */}
        {src ? <img src={src} alt="" width={160} height={120} /> : <span className="thumb-placeholder">{item.mediaType}</span>}
        <span className="cell-name">
          <Said text={name} />
        </span>
      </Link>
      <small>
        {t(whose)}: {instant(when).split(' · ')[0]}
      </small>
      <span className="status">{t(`status.${item.status as 'received'}`)}</span>
      {/* One line of badges in a cell (a long label ends in an ellipsis, whole in its title and to a screen reader); a third is "+n". */}
      <FlagBadges flags={item.flags} max={2} />
    </li>
  );
}
