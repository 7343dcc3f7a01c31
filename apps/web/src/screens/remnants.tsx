import { useCallback, useEffect, useId, useState } from 'react';
import { call, evidenceName, fetchBlob, get, saveBlob, type Finding, type Remnant, type RemnantCustody, type SerialAnalysis, type SourceLink } from '../api.js';
import { useI18n } from '../i18n.js';
import { navigate } from '../router.js';
import { useSession } from '../session.js';
import { ActionName, ErrorNote, Field, Link, ScreenPending, shown, useSubmit, VocabularyPicker } from '../ui.js';
import { CitedSources, fieldErrorOf, instantOf, localInput, pointOf, RecordFormEnd, textOrNull, useCaseEvidence } from './record-form.js';

/**
 * Munition remnants (issue 14): a case's remnants searched by weapon type, component, serial
 * prefix and marking text; one remnant with its markings, parsed serial, origin, attribution,
 * sources and the object's own chain of custody; the report/amend form; the serial analysis.
 * Roles as the API has them: auditors see the chain of custody only, documenters their own.
 */

const canWrite = (role: string) => role === 'admin' || role === 'investigator';

/** A case's remnants, with the API's four search fields. */
export function RemnantsPanel({ caseId }: { caseId: string }) {
  const { t, term, instant } = useI18n();
  const { terms, me } = useSession();
  const [filters, setFilters] = useState({ weaponType: '', component: '', serialPrefix: '', q: '' });
  // The filters last sent: the list follows them, not each keystroke.
  const [applied, setApplied] = useState(filters);
  const [items, setItems] = useState<Remnant[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const search = useCallback(
    async (cursor?: string) => {
      setError(null);
      const query = new URLSearchParams(Object.entries(applied).filter(([, v]) => v.trim() !== ''));
      if (cursor) query.set('cursor', cursor);
      try {
        const page = await get<{ items: Remnant[]; nextCursor: string | null }>(`/cases/${caseId}/remnants?${query}`);
        setItems((shown) => (cursor ? [...(shown ?? []), ...page.items] : page.items));
        setNext(page.nextCursor);
      } catch (e) {
        setError(e);
      }
    },
    [caseId, applied],
  );
  useEffect(() => void search(), [search]);

  async function csv() {
    try {
      saveBlob(await fetchBlob(`/cases/${caseId}/remnants.csv`), `remnants-${caseId.slice(0, 8)}.csv`);
    } catch (e) {
      setError(e);
    }
  }

  const fieldError = fieldErrorOf(error);
  const set = (key: keyof typeof filters) => (e: { target: { value: string } }) => setFilters({ ...filters, [key]: e.target.value });
  return (
    <div>
      <h2>{t('remnants.title')}</h2>
      <p>
        <Link href={`/cases/${caseId}/serials`}>{t('serials.title')}</Link>
        {canWrite(me.role) && (
          <>
            {' · '}
            <button type="button" onClick={csv}>
              {t('remnants.csv')}
            </button>
          </>
        )}
      </p>
      <form
        className="filters"
        role="search"
        aria-label={t('remnants.search')}
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ ...filters });
        }}
      >
        <VocabularyPicker label={t('remnant.weaponType')} vocabulary="weapon_type" terms={terms('weapon_type')} value={filters.weaponType} onChange={(weaponType) => setFilters({ ...filters, weaponType })} error={fieldError('weaponType')} />
        <VocabularyPicker label={t('remnant.component')} vocabulary="munition_component" terms={terms('munition_component')} value={filters.component} onChange={(component) => setFilters({ ...filters, component })} error={fieldError('component')} />
        <Field label={t('remnants.serialPrefix')} value={filters.serialPrefix} onChange={set('serialPrefix')} error={fieldError('serialPrefix')} />
        <Field label={t('remnants.q')} type="search" value={filters.q} onChange={set('q')} error={fieldError('q')} />
        <button type="submit" className="primary">
          {t('common.search')}
        </button>
      </form>
      <ErrorNote error={error} />
      {items?.length === 0 && <p>{t('remnants.empty')}</p>}
      {items && items.length > 0 && (
        <table className="remnants">
          <caption>{t('remnants.found', { n: items.length })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('remnant.component')}</th>
              <th scope="col">{t('remnant.weaponType')}</th>
              <th scope="col">{t('remnant.serialNumber')}</th>
              <th scope="col">{t('remnant.markings')}</th>
              <th scope="col">{t('remnant.recoveredAt')}</th>
              <th scope="col">{t('remnant.status')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id} data-remnant-id={r.id}>
                <td>
                  <Link href={`/remnants/${r.id}`}>{r.component ? term('munition_component', r.component) : t('remnant.untitled')}</Link>
                </td>
                <td>{term('weapon_type', r.weaponType)}</td>
                <td className="hash">{r.serialNumber ?? '—'}</td>
                <td>{r.markings.map((m) => m.text).join(' · ') || '—'}</td>
                <td>{instant(r.recoveredAt)}</td>
                <td>{term('remnant_status', r.status)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={() => search(next)}>
          {t('remnants.more')}
        </button>
      )}
    </div>
  );
}

/** An incident's remnants, and the way to report one (documenters too: it starts as reported). */
export function IncidentRemnants({ incidentId }: { incidentId: string }) {
  const { t, term } = useI18n();
  const [items, setItems] = useState<Remnant[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    get<{ items: Remnant[] }>(`/incidents/${incidentId}/remnants`).then((r) => setItems(r.items), setError);
  }, [incidentId]);
  return (
    <div>
      <h2>{t('remnants.title')}</h2>
      <ErrorNote error={error} />
      {items.length === 0 ? (
        <p>{t('remnants.empty')}</p>
      ) : (
        <ul className="links">
          {items.map((r) => (
            <li key={r.id}>
              <Link href={`/remnants/${r.id}`}>{r.component ? term('munition_component', r.component) : t('remnant.untitled')}</Link>
              {r.serialNumber && <span className="hash"> · {r.serialNumber}</span>} · {term('remnant_status', r.status)}
            </li>
          ))}
        </ul>
      )}
      <p>
        <Link href={`/incidents/${incidentId}/remnants/new`} className="button">
          {t('remnant.report')}
        </Link>
      </p>
    </div>
  );
}

function FindingFacts({ finding }: { finding: Finding }) {
  const { term } = useI18n();
  const parts = [finding.basis && term('remnant_identification_basis', finding.basis), finding.confidence && term('confidence', finding.confidence), finding.basisNote].filter(Boolean);
  return parts.length ? <small className="status"> ({parts.join('; ')})</small> : null;
}

/** One remnant: the record, then the object's own chain of custody with the hand-over form. */
export function RemnantScreen({ id }: { id: string }) {
  const markingsId = useId();
  const { t, term, instant, number } = useI18n();
  const { me } = useSession();
  const [remnant, setRemnant] = useState<Remnant | null>(null);
  const [error, setError] = useState<unknown>(null);
  const evidence = useCaseEvidence(remnant?.caseId, remnant?.incidentId, remnant?.sources.map((source) => source.evidenceId));
  const seesRecord = me.role !== 'auditor';
  const seesCustody = me.role !== 'documenter';
  useEffect(() => {
    if (seesRecord) get<Remnant>(`/remnants/${id}`).then(setRemnant, setError);
  }, [id, seesRecord]);

  return (
    <section aria-labelledby="remnant-title" className="remnant">
      {remnant && (
        <p>
          <Link href={`/cases/${remnant.caseId}/remnants`}>← {t('remnants.title')}</Link> · <Link href={`/incidents/${remnant.incidentId}`}>{t('item.incident')}</Link>
        </p>
      )}
      <h1 id="remnant-title">
        {t('remnant.title')}
        {remnant && (
          <span>
            {' '}
            {term('munition_component', remnant.component)} · {term('weapon_type', remnant.weaponType)}
          </span>
        )}
      </h1>
      <ErrorNote error={error} />
      {remnant && (
        <>
          {canWrite(me.role) && (
            <p>
              <Link href={`/remnants/${id}/edit`} className="button">
                {t('remnant.amend')}
              </Link>
            </p>
          )}
          <dl className="facts">
            <dt>{t('remnant.status')}</dt>
            <dd>{term('remnant_status', remnant.status)}</dd>
            <dt>{t('remnant.condition')}</dt>
            <dd>{term('remnant_condition', remnant.condition)}</dd>
            <dt>{t('remnant.description')}</dt>
            <dd>{remnant.description ?? '—'}</dd>
            <dt>{t('remnant.serialNumber')}</dt>
            <dd className="hash">{remnant.serialNumber ?? '—'}</dd>
            <dt>{t('remnant.serialParsed')}</dt>
            <dd data-serial-parts>
              {remnant.serialParts
                ? t('remnant.serialParts', { scheme: remnant.serialParts.scheme, prefix: remnant.serialParts.prefix, series: remnant.serialParts.series, number: number(remnant.serialParts.number) })
                : t('remnant.serialUnparsed')}
            </dd>
            <dt>{t('remnant.manufacturer')}</dt>
            <dd>{remnant.manufacturer ? <>{remnant.manufacturer.name}<FindingFacts finding={remnant.manufacturer} /></> : '—'}</dd>
            <dt>{t('remnant.countryOfOrigin')}</dt>
            <dd>{remnant.countryOfOrigin ? <>{remnant.countryOfOrigin.country}<FindingFacts finding={remnant.countryOfOrigin} /></> : '—'}</dd>
            <dt>{t('remnant.attribution')}</dt>
            <dd>{remnant.attribution ? <>{remnant.attribution.producer}<FindingFacts finding={remnant.attribution} /></> : '—'}</dd>
            {remnant.measurements && (
              <>
                <dt>{t('remnant.measurements')}</dt>
                <dd>
                  {[remnant.measurements.description, ...Object.entries(remnant.measurements.values).map(([name, value]) => `${name}: ${number(value)}`)].filter(Boolean).join('; ')}
                </dd>
              </>
            )}
            <dt>{t('remnant.recoveredAt')}</dt>
            <dd>{instant(remnant.recoveredAt)}</dd>
            <dt>{t('remnant.recoveredBy')}</dt>
            <dd>{remnant.recoveredBy ?? '—'}</dd>
            <dt>{t('item.location')}</dt>
            <dd>{remnant.location ? `${remnant.location.lat}, ${remnant.location.lon}` : '—'}</dd>
          </dl>
          <h2 id={markingsId}>{t('remnant.markings')}</h2>
          {remnant.markings.length === 0 ? (
            <p>{t('remnant.noMarkings')}</p>
          ) : (
            <table className="markings" aria-labelledby={markingsId}>
              <thead>
                <tr>
                  <th scope="col">{t('remnant.markingText')}</th>
                  <th scope="col">{t('remnant.markingLocation')}</th>
                  <th scope="col">{t('remnant.markingMethod')}</th>
                </tr>
              </thead>
              <tbody>
                {remnant.markings.map((m, i) => (
                  <tr key={i}>
                    <td className="hash">{shown(m.text)}</td>
                    <td>{m.location ?? '—'}</td>
                    <td>{term('marking_method', m.method)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>{t('records.sources')}</h2>
          {remnant.unsourced ? (
            <p>{t('records.unsourced')}</p>
          ) : (
            <ul className="links">
              {remnant.sources.map((s) => (
                <li key={s.evidenceId}>
                  <Link href={`/evidence/${s.evidenceId}`}>{evidenceName(evidence.items, s.evidenceId)}</Link> · {term('source_reliability', s.reliability)}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      {seesCustody && <PhysicalCustody remnantId={id} />}
    </section>
  );
}

/** Who has held the object, where, from when; its custody events; the hand-over form. */
function PhysicalCustody({ remnantId }: { remnantId: string }) {
  const titleId = useId();
  const { t, instant } = useI18n();
  const { me } = useSession();
  const [custody, setCustody] = useState<RemnantCustody | null>(null);
  const [form, setForm] = useState({ holder: '', place: '', from: '', note: '', reason: '' });
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const load = useCallback(() => get<RemnantCustody>(`/remnants/${remnantId}/transfers`).then(setCustody, setError), [remnantId]);
  useEffect(() => void load(), [load]);
  const fieldError = fieldErrorOf(error);
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });

  const transfer = useSubmit(async () => {
    setError(null);
    setSaved(false);
    try {
      setCustody(
        await call<RemnantCustody>('POST', `/remnants/${remnantId}/transfers`, {
          holder: form.holder,
          place: form.place,
          // Left out when empty, so the API names the field.
          ...(form.from ? { from: instantOf(form.from) } : {}),
          note: textOrNull(form.note),
          ...(form.reason.trim() ? { reason: form.reason } : {}),
        }),
      );
      setForm({ holder: '', place: '', from: '', note: '', reason: '' });
      setSaved(true);
    } catch (e) {
      setError(e);
    }
  });

  return (
    <div className="custody">
      <h2 id={titleId}>{t('remnant.custody')}</h2>
      {custody && custody.physicalCustody.length === 0 && <p>{t('remnant.noTransfers')}</p>}
      {custody && custody.physicalCustody.length > 0 && (
        <table className="transfers" aria-labelledby={titleId}>
          <thead>
            <tr>
              <th scope="col">{t('transfer.holder')}</th>
              <th scope="col">{t('transfer.place')}</th>
              <th scope="col">{t('transfer.from')}</th>
              <th scope="col">{t('transfer.to')}</th>
              <th scope="col">{t('transfer.note')}</th>
            </tr>
          </thead>
          <tbody>
            {custody.physicalCustody.map((p) => (
              <tr key={p.transferId}>
                <td>{p.holder}</td>
                <td>{p.place}</td>
                <td>{instant(p.from)}</td>
                <td>{p.to ? instant(p.to) : t('transfer.current')}</td>
                <td>{p.note ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {custody && custody.events.length > 0 && (
        <table className="events">
          <caption>{t('remnant.events')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('item.leaf')}</th>
              <th scope="col">{t('item.action')}</th>
              <th scope="col">{t('item.when')}</th>
            </tr>
          </thead>
          <tbody>
            {custody.events.map((e) => (
              <tr key={e.leafIndex}>
                <td>{e.leafIndex}</td>
                <td>
                  <ActionName action={e.action} />
                </td>
                <td>{instant(e.at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorNote error={error} />
      {canWrite(me.role) && (
        <form onSubmit={transfer.onSubmit} className="record-form" noValidate aria-label={t('transfer.title')}>
          <h3>{t('transfer.title')}</h3>
          <Field label={t('transfer.holder')} required value={form.holder} onChange={set('holder')} error={fieldError('holder')} />
          <Field label={t('transfer.place')} required value={form.place} onChange={set('place')} error={fieldError('place')} />
          <Field label={t('transfer.from')} type="datetime-local" required value={form.from} onChange={set('from')} error={fieldError('from')} />
          <Field label={t('transfer.note')} value={form.note} onChange={set('note')} error={fieldError('note')} />
          <Field label={t('incident.reason')} value={form.reason} onChange={set('reason')} error={fieldError('reason')} />
          {saved && <p role="status">{t('transfer.saved')}</p>}
          <button type="submit" className="primary">
            {t('transfer.submit')}
          </button>
        </form>
      )}
    </div>
  );
}

interface MarkingRow {
  text: string;
  location: string;
  method: string;
}
interface FindingForm {
  value: string;
  basis: string;
  basisNote: string;
  confidence: string;
}
const NO_FINDING: FindingForm = { value: '', basis: '', basisNote: '', confidence: '' };
const findingForm = (value: string | undefined, f: Finding | null): FindingForm => (f ? { value: value ?? '', basis: f.basis ?? '', basisNote: f.basisNote ?? '', confidence: f.confidence ?? '' } : NO_FINDING);
/** A finding as the API takes it: null when nothing is entered, else every part (the API names what is missing). */
const findingBody = (key: string, f: FindingForm) =>
  f.value || f.basis || f.basisNote || f.confidence ? { [key]: f.value, basis: f.basis || null, basisNote: textOrNull(f.basisNote), confidence: f.confidence || null } : null;

/** Report a remnant found at an incident (incidentId), or amend one (id) with a reason. */
export function RemnantFormScreen({ incidentId, id }: { incidentId?: string; id?: string }) {
  const { t } = useI18n();
  const { terms, me } = useSession();
  const [record, setRecord] = useState<Remnant | null>(null);
  const [caseId, setCaseId] = useState<string | undefined>(undefined);
  const [form, setForm] = useState({
    weaponType: '',
    component: '',
    description: '',
    serialNumber: '',
    condition: '',
    recoveredAt: '',
    recoveredBy: '',
    lat: '',
    lon: '',
    status: '',
    reason: '',
  });
  const [markings, setMarkings] = useState<MarkingRow[]>([{ text: '', location: '', method: '' }]);
  const [findings, setFindings] = useState({ manufacturer: NO_FINDING, countryOfOrigin: NO_FINDING, attribution: NO_FINDING });
  const [sources, setSources] = useState<SourceLink[]>([]);
  const [newSource, setNewSource] = useState<SourceLink>({ evidenceId: '', reliability: null });
  const [error, setError] = useState<unknown>(null);
  const evidence = useCaseEvidence(caseId, incidentId ?? record?.incidentId, sources.map((source) => source.evidenceId));
  const fieldError = fieldErrorOf(error);

  useEffect(() => {
    if (incidentId) get<{ caseId: string }>(`/incidents/${incidentId}`).then((i) => setCaseId(i.caseId), setError);
    if (!id) return;
    get<Remnant>(`/remnants/${id}`).then((r) => {
      setRecord(r);
      setCaseId(r.caseId);
      setForm({
        weaponType: r.weaponType ?? '',
        component: r.component ?? '',
        description: r.description ?? '',
        serialNumber: r.serialNumber ?? '',
        condition: r.condition ?? '',
        recoveredAt: localInput(r.recoveredAt),
        recoveredBy: r.recoveredBy ?? '',
        lat: r.location ? String(r.location.lat) : '',
        lon: r.location ? String(r.location.lon) : '',
        status: r.status,
        reason: '',
      });
      setMarkings([...r.markings.map((m) => ({ text: m.text, location: m.location ?? '', method: m.method ?? '' })), { text: '', location: '', method: '' }]);
      setFindings({
        manufacturer: findingForm(r.manufacturer?.name, r.manufacturer),
        countryOfOrigin: findingForm(r.countryOfOrigin?.country, r.countryOfOrigin),
        attribution: findingForm(r.attribution?.producer, r.attribution),
      });
      setSources(r.sources);
    }, setError);
  }, [id, incidentId]);

  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const pick = (key: keyof typeof form) => (code: string) => setForm({ ...form, [key]: code });
  const setMarking = (i: number, key: keyof MarkingRow, value: string) => setMarkings(markings.map((m, j) => (i === j ? { ...m, [key]: value } : m)));

  const save = useSubmit(async () => {
    setError(null);
    // Rows left wholly empty are no marking; a row with only a place or a method is sent, so the API says its text is missing.
    const given = markings.filter((m) => m.text.trim() || m.location.trim() || m.method);
    const body: Record<string, unknown> = {
      weaponType: form.weaponType || null,
      component: form.component || null,
      description: textOrNull(form.description),
      markings: given.map((m) => ({ text: m.text, location: textOrNull(m.location), method: m.method || null })),
      serialNumber: textOrNull(form.serialNumber),
      manufacturer: findingBody('name', findings.manufacturer),
      countryOfOrigin: findingBody('country', findings.countryOfOrigin),
      attribution: findingBody('producer', findings.attribution),
      condition: form.condition || null,
      recoveredAt: instantOf(form.recoveredAt),
      recoveredBy: textOrNull(form.recoveredBy),
      location: pointOf(form.lat, form.lon),
      sources: newSource.evidenceId ? [...sources.filter((s) => s.evidenceId !== newSource.evidenceId), newSource] : sources,
      ...(form.status && canWrite(me.role) ? { status: form.status } : {}),
    };
    try {
      if (record) {
        await call<Remnant>('PATCH', `/remnants/${record.id}`, { ...body, reason: form.reason });
        navigate(`/remnants/${record.id}`);
      } else {
        const created = await call<Remnant>('POST', `/incidents/${incidentId}/remnants`, body);
        navigate(`/remnants/${created.id}`);
      }
    } catch (e) {
      setError(e);
    }
  });

  const findingFields = (key: keyof typeof findings, valueField: string, label: string) => {
    const f = findings[key];
    const change = (part: keyof FindingForm) => (value: string) => setFindings({ ...findings, [key]: { ...f, [part]: value } });
    return (
      <fieldset className="finding">
        <legend>{label}</legend>
        <Field label={t(`finding.${valueField}` as 'finding.name')} value={f.value} onChange={(e) => change('value')(e.target.value)} error={fieldError(`${key}.${valueField}`) ?? fieldError(key)} />
        <VocabularyPicker label={t('finding.basis')} vocabulary="remnant_identification_basis" terms={terms('remnant_identification_basis')} value={f.basis} onChange={change('basis')} error={fieldError(`${key}.basis`)} />
        <Field label={t('finding.basisNote')} value={f.basisNote} onChange={(e) => change('basisNote')(e.target.value)} error={fieldError(`${key}.basisNote`)} />
        <VocabularyPicker label={t('finding.confidence')} vocabulary="confidence" terms={terms('confidence')} value={f.confidence} onChange={change('confidence')} error={fieldError(`${key}.confidence`)} />
      </fieldset>
    );
  };

  const back = record ? `/remnants/${record.id}` : `/incidents/${incidentId}`;
  // An amendment starts from the stored record: no form until it is here.
  if (id && !record) return <ScreenPending title={t('remnant.title')} error={error} />;
  return (
    <section aria-labelledby="remnant-form-title">
      <p>
        <Link href={back}>← {t('common.back')}</Link>
      </p>
      <h1 id="remnant-form-title">{record ? t('remnant.amend') : t('remnant.report')}</h1>
      {me.role === 'documenter' && <p className="hint">{t('remnant.reportedHint')}</p>}
      <form onSubmit={save.onSubmit} className="record-form" noValidate>
        <VocabularyPicker label={t('remnant.weaponType')} vocabulary="weapon_type" terms={terms('weapon_type')} value={form.weaponType} onChange={pick('weaponType')} error={fieldError('weaponType')} />
        <VocabularyPicker label={t('remnant.component')} vocabulary="munition_component" terms={terms('munition_component')} value={form.component} onChange={pick('component')} error={fieldError('component')} />
        <Field label={t('remnant.description')} value={form.description} onChange={set('description')} error={fieldError('description')} />
        <fieldset className="markings-form">
          <legend>{t('remnant.markings')}</legend>
          {markings.map((m, i) => (
            <div key={i} className="marking-row" role="group" aria-label={t('remnant.markingN', { n: i + 1 })}>
              <Field label={`${t('remnant.markingText')} ${i + 1}`} value={m.text} onChange={(e) => setMarking(i, 'text', e.target.value)} error={fieldError(`markings[${i}].text`)} />
              <Field label={`${t('remnant.markingLocation')} ${i + 1}`} value={m.location} onChange={(e) => setMarking(i, 'location', e.target.value)} error={fieldError(`markings[${i}].location`)} />
              <VocabularyPicker label={`${t('remnant.markingMethod')} ${i + 1}`} vocabulary="marking_method" terms={terms('marking_method')} value={m.method} onChange={(code) => setMarking(i, 'method', code)} error={fieldError(`markings[${i}].method`)} />
            </div>
          ))}
          <button type="button" onClick={() => setMarkings([...markings, { text: '', location: '', method: '' }])}>
            {t('remnant.addMarking')}
          </button>
        </fieldset>
        <Field label={t('remnant.serialNumber')} value={form.serialNumber} onChange={set('serialNumber')} error={fieldError('serialNumber')} />
        {findingFields('manufacturer', 'name', t('remnant.manufacturer'))}
        {findingFields('countryOfOrigin', 'country', t('remnant.countryOfOrigin'))}
        {findingFields('attribution', 'producer', t('remnant.attribution'))}
        <VocabularyPicker label={t('remnant.condition')} vocabulary="remnant_condition" terms={terms('remnant_condition')} value={form.condition} onChange={pick('condition')} error={fieldError('condition')} />
        <Field label={t('remnant.recoveredAt')} type="datetime-local" value={form.recoveredAt} onChange={set('recoveredAt')} error={fieldError('recoveredAt')} />
        <Field label={t('remnant.recoveredBy')} value={form.recoveredBy} onChange={set('recoveredBy')} error={fieldError('recoveredBy')} />
        <Field label={t('incident.lat')} inputMode="decimal" value={form.lat} onChange={set('lat')} error={fieldError('location.lat') ?? fieldError('location')} />
        <Field label={t('incident.lon')} inputMode="decimal" value={form.lon} onChange={set('lon')} error={fieldError('location.lon')} />
        <CitedSources caseId={caseId} evidence={evidence} sources={sources} newSource={newSource} onNewSource={setNewSource} fieldError={fieldError} onError={setError} />
        {canWrite(me.role) && <VocabularyPicker label={t('remnant.status')} vocabulary="remnant_status" terms={terms('remnant_status')} value={form.status} onChange={pick('status')} error={fieldError('status')} />}
        <RecordFormEnd amending={!!record} reason={form.reason} onReason={(reason) => setForm({ ...form, reason })} fieldError={fieldError} error={error} submit={record ? t('common.save') : t('remnant.submitReport')} />
      </form>
    </section>
  );
}

/**
 * Ukrainian for the texts the API writes in English beside its estimates (libs/records'
 * ESTIMATE_METHOD and SERIAL_SCHEMES); a scheme not listed here keeps the API's English.
 */
const UK_ESTIMATE_TEXTS = {
  method:
    'Задача про німецькі танки. Точкова оцінка: незміщена оцінка з найменшою дисперсією N = m + m/k − 1, де m — найбільший ' +
    'побачений порядковий номер, а k — кількість різних побачених номерів (той самий номер, побачений двічі, враховується один раз). ' +
    'Інтервал: [m, m / α^(1/k)] з однобічною довірчою ймовірністю 1 − α, з розподілу найбільшого побаченого номера ' +
    '(P(max ≤ m | N) ≤ (m/N)^k); верхню межу округлено вниз до цілого, і вона консервативна, коли номери трапляються без повторів. ' +
    'Припущення: у межах серії номери йдуть від 1 без пропусків, і кожен виготовлений виріб мав таку саму ймовірність бути ' +
    'знайденим, як будь-який інший. За місяцями: та сама оцінка за всіма номерами, побаченими до кінця місяця (за часом ' +
    'вилучення, інакше за початком події), — нижня межа випуску на ту дату.',
  schemes: {
    geran2_airframe: {
      label: 'Серійний номер планера Shahed-136 / Герань-2 (Ш136.<серія>.<номер>)',
      basis:
        'Фотографії планерів Герань-2 з відкритих джерел (трафарет Ш136.NN.NNN). Припущення: середня група — виробнича серія, ' +
        'остання — порядковий номер планера в ній, від 1.',
    },
    geran1_airframe: {
      label: 'Серійний номер планера Shahed-131 / Герань-1 (Ш131.<серія>.<номер>)',
      basis: 'За аналогією зі схемою Герань-2 (припущення, опублікованих прикладів менше): Ш131.NN.NNN, спершу серія, потім порядковий номер.',
    },
  } as Record<string, { label: string; basis: string } | undefined>,
};

/** Serials seen over time per weapon type and scheme, with the production estimate, its interval and the method. */
export function SerialsPanel({ caseId }: { caseId: string }) {
  const { t, term, number, instant, lang } = useI18n();
  const { terms } = useSession();
  const uk = lang === 'uk' ? UK_ESTIMATE_TEXTS : null;
  const [weaponType, setWeaponType] = useState('');
  const [confidence, setConfidence] = useState('0.95');
  const [applied, setApplied] = useState({ weaponType, confidence });
  const [analysis, setAnalysis] = useState<SerialAnalysis | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setError(null);
    const query = new URLSearchParams(Object.entries(applied).filter(([, v]) => v.trim() !== ''));
    get<SerialAnalysis>(`/cases/${caseId}/remnants/serials?${query}`).then(setAnalysis, setError);
  }, [caseId, applied]);
  const fieldError = fieldErrorOf(error);
  const percent = (c: number) => number(Math.round(c * 1000) / 10);

  return (
    <div className="serials">
      <h2>{t('serials.title')}</h2>
      <form
        className="filters"
        aria-label={t('serials.title')}
        onSubmit={(e) => {
          e.preventDefault();
          // A decimal comma (0,95 in Ukrainian) is the API's decimal point.
          setApplied({ weaponType, confidence: confidence.replace(',', '.') });
        }}
      >
        <VocabularyPicker label={t('remnant.weaponType')} vocabulary="weapon_type" terms={terms('weapon_type')} value={weaponType} onChange={setWeaponType} error={fieldError('weaponType')} />
        <Field label={t('serials.confidence')} inputMode="decimal" value={confidence} onChange={(e) => setConfidence(e.target.value)} error={fieldError('confidence')} />
        <button type="submit" className="primary">
          {t('common.search')}
        </button>
      </form>
      <ErrorNote error={error} />
      {analysis && (
        <>
          {analysis.series.length === 0 && <p>{t('serials.empty')}</p>}
          {analysis.series.map((s) => (
            <article key={`${s.scheme}-${s.prefix}-${s.series}`} className="series" data-scheme={s.scheme} aria-labelledby={`series-${s.scheme}-${s.series}`}>
              <h3 id={`series-${s.scheme}-${s.series}`}>
                {term('weapon_type', s.weaponType)} · {uk?.schemes[s.scheme]?.label ?? s.schemeLabel} · {t('serials.series', { prefix: s.prefix, series: s.series })}
              </h3>
              <p className="estimate" data-estimate={s.estimate.estimate}>
                {t('serials.estimate', {
                  estimate: number(Math.round(s.estimate.estimate)),
                  lower: number(s.estimate.lower),
                  upper: number(s.estimate.upper),
                  confidence: percent(s.estimate.confidence),
                  k: number(s.estimate.k),
                  m: number(s.estimate.m),
                })}
              </p>
              <p className="hint">{uk?.schemes[s.scheme]?.basis ?? s.schemeBasis}</p>
              <table>
                <caption>{t('serials.seen')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('serials.number')}</th>
                    <th scope="col">{t('remnant.serialNumber')}</th>
                    <th scope="col">{t('serials.seenAt')}</th>
                  </tr>
                </thead>
                <tbody>
                  {s.serials.map((serial) => (
                    <tr key={serial.remnantId}>
                      <td>{number(serial.number)}</td>
                      <td>
                        <Link href={`/remnants/${serial.remnantId}`}>{serial.serialNumber}</Link>
                      </td>
                      <td>{instant(serial.seenAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {s.months.length > 0 && (
                <table>
                  <caption>{t('serials.months')}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('serials.month')}</th>
                      <th scope="col">{t('serials.seenCount')}</th>
                      <th scope="col">{t('serials.estimateShort')}</th>
                      <th scope="col">{t('serials.interval')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {s.months.map((m) => (
                      <tr key={m.month}>
                        <td>{m.month}</td>
                        <td>{number(m.seen)}</td>
                        <td>{number(Math.round(m.estimate.estimate))}</td>
                        <td>
                          {number(m.estimate.lower)}–{number(m.estimate.upper)}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </article>
          ))}
          <h3>{t('serials.method')}</h3>
          <p className="method">{uk?.method ?? analysis.method}</p>
        </>
      )}
    </div>
  );
}
