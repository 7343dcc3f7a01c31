import { lazy, Suspense, useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, BREAKDOWN_KEYS, call, evidenceName, get, itemName, type Evidence, type HarmBreakdown, type Incident } from '../api.js';
import { contentLang, useI18n } from '../i18n.js';
import { navigate } from '../router.js';
import { useSession } from '../session.js';
import { ErrorNote, Field, Link, Select, shown, TextArea, useSubmit, VocabularyPicker } from '../ui.js';
import { EvidenceFinder, figureErrorOf, figureOf, IncidentFinder, useCaseEvidence, useCaseIncidents, figureText, instantOf, localInput, numberOrText } from './record-form.js';

const PlacePicker = lazy(() => import('./map.js').then((m) => ({ default: m.PlacePicker })));
const DamageRecords = lazy(() => import('./damage.js').then((m) => ({ default: m.DamageRecords })));
const CasualtyRecords = lazy(() => import('./casualties.js').then((m) => ({ default: m.CasualtyRecords })));
const IncidentRemnants = lazy(() => import('./remnants.js').then((m) => ({ default: m.IncidentRemnants })));

type Weapon = Incident['weapons'][number];
type Attribution = { actor: string; basis: string; confidence: string };
type Related = { incidentId: string; relation: string };
const HARMS = ['killed', 'injured'] as const;
type Breakdown = Record<(typeof HARMS)[number], Record<(typeof BREAKDOWN_KEYS)[number], string>>;

const breakdownInputs = (stored: Incident['breakdown'] | null): Breakdown =>
  Object.fromEntries(HARMS.map((harm) => [harm, Object.fromEntries(BREAKDOWN_KEYS.map((key) => [key, stored?.[harm]?.[key]?.toString() ?? '']))])) as Breakdown;

/** The breakdown as the API takes it: a harm with no number typed is null; what is typed goes for the API to judge. */
const breakdownOf = (form: Breakdown) =>
  Object.fromEntries(
    HARMS.map((harm) => {
      const typed = BREAKDOWN_KEYS.filter((key) => form[harm][key].trim());
      return [harm, typed.length ? Object.fromEntries(typed.map((key) => [key, numberOrText(form[harm][key].trim())])) : null];
    }),
  ) as Record<(typeof HARMS)[number], Partial<Record<keyof HarmBreakdown, number | string>> | null>;


/**
 * The incident's weapons with the first one (the form's weapon fields) as the form has it: the
 * others are kept; an empty type removes the first.
 */
function weaponsWith(weapons: readonly Weapon[], weaponType: string, identificationBasis: string, confidence: string): Weapon[] {
  const rest = weapons.slice(1);
  return weaponType ? [{ weaponType, identificationBasis: identificationBasis || null, confidence: confidence || null }, ...rest] : rest;
}

const FIGURES = ['killed', 'injured', 'civilianKilled'] as const;

const LINK_ROLES = ['depicts_aftermath', 'depicts_munition', 'depicts_casualty', 'witness_account', 'official_record', 'other'] as const;

/** Create (caseId) or edit (id) an incident; once it exists, its casualties and evidence links. */
export function IncidentScreen({ caseId, id }: { caseId?: string; id?: string }) {
  const { t, instant, term, lang } = useI18n();
  const { terms, me } = useSession();
  const [incident, setIncident] = useState<Incident | null>(null);
  const [form, setForm] = useState({ title: '', description: '', type: '', startAt: '', endAt: '', datePrecision: '', lat: '', lon: '', geoPrecision: '', placeName: '', admin1: '', admin2: '', admin3: '', weaponType: '', weaponBasis: '', weaponConfidence: '', killed: '', injured: '', civilianKilled: '', grade: '', verificationStatus: '', reason: '' });
  const [attributions, setAttributions] = useState<Attribution[]>([]);
  const [loadedAttributions, setLoadedAttributions] = useState<Attribution[]>([]);
  const [related, setRelated] = useState<Related[]>([]);
  const [loadedRelated, setLoadedRelated] = useState<Related[]>([]);
  const [breakdown, setBreakdown] = useState<Breakdown>(breakdownInputs(null));
  const [loadedBreakdown, setLoadedBreakdown] = useState<Breakdown>(breakdownInputs(null));
  /** The form as the incident filled it: an edit sends only what differs from it. */
  const [loaded, setLoaded] = useState<typeof form | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);

  const load = useCallback(async () => {
    if (!id) return;
    try {
      const found = await get<Incident>(`/incidents/${id}`);
      setIncident(found);
      const filled = {
        title: found.title,
        description: found.description ?? '',
        type: found.type,
        startAt: localInput(found.startAt),
        endAt: found.endAt ? localInput(found.endAt) : '',
        datePrecision: found.datePrecision ?? '',
        lat: found.location ? String(found.location.lat) : '',
        lon: found.location ? String(found.location.lon) : '',
        geoPrecision: found.geoPrecision ?? '',
        placeName: found.placeName ?? '',
        admin1: found.admin1 ?? '',
        admin2: found.admin2 ?? '',
        admin3: found.admin3 ?? '',
        weaponType: found.weapons[0]?.weaponType ?? '',
        weaponBasis: found.weapons[0]?.identificationBasis ?? '',
        weaponConfidence: found.weapons[0]?.confidence ?? '',
        // The figures as entered: those shown may come from the casualty records.
        killed: figureText(found.entered.killed),
        injured: figureText(found.entered.injured),
        civilianKilled: figureText(found.entered.civilianKilled),
        grade: found.grade ?? '',
        verificationStatus: found.verificationStatus,
        reason: '',
      };
      const stated = found.attributions.map((a) => ({ actor: a.actor, basis: a.basis ?? '', confidence: a.confidence ?? '' }));
      setForm(filled);
      setLoaded(filled);
      setAttributions(stated);
      setLoadedAttributions(stated);
      setRelated(found.relatedIncidents);
      setLoadedRelated(found.relatedIncidents);
      setBreakdown(breakdownInputs(found.entered.breakdown));
      setLoadedBreakdown(breakdownInputs(found.entered.breakdown));
    } catch (e) {
      setError(e);
    }
  }, [id]);
  useEffect(() => void load(), [load]);
  const theCase = incident?.caseId ?? caseId;
  // The case's incidents to relate this one to (investigators), read only once there is a
  // relation to show or to make (a case's incidents are many).
  const choices = useCaseIncidents(
    theCase,
    related.map((r) => r.incidentId),
    { enabled: me.role !== 'documenter' && related.length > 0, onError: setError },
  );

  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const fieldError = (name: string) => (error instanceof ApiError ? error.forField(name) : undefined);

  const save = useSubmit(async () => {
    setError(null);
    setSaved(false);
    // Each field this form shows, by the form's fields it is made of: an edit sends only those
    // changed, so what the form does not show (a second weapon, the breakdown by sex and age,
    // related incidents) is left as it is.
    const assessor = me.role !== 'documenter';
    const fields: [string[], Record<string, unknown>][] = [
      [['title'], { title: form.title }],
      [['description'], { description: form.description || null }],
      [['type'], form.type ? { type: form.type } : {}],
      [['startAt'], form.startAt ? { startAt: instantOf(form.startAt) } : {}],
      [['endAt'], { endAt: instantOf(form.endAt) }],
      [['datePrecision'], { datePrecision: form.datePrecision || null }],
      [['lat', 'lon'], { location: form.lat || form.lon ? { lat: numberOrText(form.lat), lon: numberOrText(form.lon) } : null }],
      [['geoPrecision'], { geoPrecision: form.geoPrecision || null }],
      [['placeName'], { placeName: form.placeName || null }],
      [['admin1'], { admin1: form.admin1 || null }],
      [['admin2'], { admin2: form.admin2 || null }],
      [['admin3'], { admin3: form.admin3 || null }],
      [['weaponType', 'weaponBasis', 'weaponConfidence'], { weapons: weaponsWith(incident?.weapons ?? [], form.weaponType, form.weaponBasis, form.weaponConfidence) }],
      ...FIGURES.map((key): [string[], Record<string, unknown>] => [[key], { [key]: figureOf(form[key]) }]),
      [['grade'], assessor ? { grade: form.grade || null } : {}],
      [['verificationStatus'], form.verificationStatus && assessor ? { verificationStatus: form.verificationStatus } : {}],
    ];
    const changed = ([keys]: [string[], unknown]) => !loaded || keys.some((key) => form[key as keyof typeof form] !== loaded[key as keyof typeof form]);
    const body: Record<string, unknown> = Object.assign({}, ...fields.filter(changed).map(([, part]) => part));
    // Rows left wholly empty are no attribution; one with a basis but no actor goes, for the API to name.
    const stated = attributions.filter((a) => a.actor.trim() || a.basis.trim() || a.confidence);
    if (assessor && JSON.stringify(stated) !== JSON.stringify(loadedAttributions)) {
      body['attributions'] = stated.map((a) => ({ actor: a.actor, basis: a.basis.trim() ? a.basis : null, confidence: a.confidence || null }));
    }
    const relations = related.filter((r) => r.incidentId || r.relation);
    if (assessor && JSON.stringify(relations) !== JSON.stringify(loadedRelated)) body['relatedIncidents'] = relations;
    if (JSON.stringify(breakdown) !== JSON.stringify(loadedBreakdown)) body['breakdown'] = breakdownOf(breakdown);
    try {
      if (incident) {
        const updated = await call<Incident>('PATCH', `/incidents/${incident.id}`, { ...body, reason: form.reason });
        setIncident(updated);
        setLoaded({ ...form, reason: '' });
        setForm({ ...form, reason: '' });
        setAttributions(stated);
        setLoadedAttributions(stated);
        setRelated(relations);
        setLoadedRelated(relations);
        setLoadedBreakdown(breakdown);
        setSaved(true);
      } else {
        const created = await call<Incident>('POST', `/cases/${caseId}/incidents`, body);
        navigate(`/incidents/${created.id}`);
      }
    } catch (e) {
      setError(e);
    }
  });

  // An incident that could not be read (not there, or not open to this user) is no form to fill.
  if (id && !incident) {
    return (
      <section aria-labelledby="incident-title">
        <p>
          <Link href="/">← {t('cases.title')}</Link>
        </p>
        <h1 id="incident-title">{t('incidents.title')}</h1>
        {error ? <ErrorNote error={error} /> : <p>{t('common.loading')}</p>}
      </section>
    );
  }
  // A documenter reports an incident; the investigators amend it and link evidence to it.
  const editable = !incident || me.role !== 'documenter';
  const assessor = me.role !== 'documenter';
  const setAttribution = (i: number, part: keyof Attribution, value: string) => setAttributions(attributions.map((a, j) => (j === i ? { ...a, [part]: value } : a)));
  const setRelation = (i: number, part: keyof Related, value: string) => setRelated(related.map((r, j) => (j === i ? { ...r, [part]: value } : r)));
  const incidentName = (other: Incident) => `${other.code ? `${other.code} · ` : ''}${shown(other.title)} (${instant(other.startAt)})`;
  const figureError = figureErrorOf(fieldError);
  return (
    <section aria-labelledby="incident-title">
      <p>
        <Link href={`/cases/${theCase}/incidents`}>← {t('incidents.title')}</Link>
      </p>
      <h1 id="incident-title" lang={contentLang(incident?.title, lang)}>
        {incident ? `${incident.code ?? ''} ${shown(incident.title)}` : t('incidents.new')}
      </h1>
      <form onSubmit={save.onSubmit} className="record-form" noValidate>
        <fieldset disabled={!editable} className="plain">
          <Field label={t('incident.title')} required value={form.title} onChange={set('title')} error={fieldError('title')} />
          <TextArea label={t('incident.description')} maxLength={20_000} value={form.description} onChange={set('description')} error={fieldError('description')} />
          <VocabularyPicker label={t('incident.type')} vocabulary="incident_type" terms={terms('incident_type')} value={form.type} onChange={(type) => setForm({ ...form, type })} error={fieldError('type')} required />
          <Field label={t('incident.startAt')} type="datetime-local" required value={form.startAt} onChange={set('startAt')} error={fieldError('startAt')} />
          <Field label={t('incident.endAt')} type="datetime-local" value={form.endAt} onChange={set('endAt')} error={fieldError('endAt')} />
          <VocabularyPicker label={t('incident.datePrecision')} vocabulary="date_precision" terms={terms('date_precision')} value={form.datePrecision} onChange={(datePrecision) => setForm({ ...form, datePrecision })} error={fieldError('datePrecision')} />
          <Field label={t('incident.lat')} inputMode="decimal" value={form.lat} onChange={set('lat')} error={fieldError('location.lat') ?? fieldError('location')} />
          <Field label={t('incident.lon')} inputMode="decimal" value={form.lon} onChange={set('lon')} error={fieldError('location.lon')} />
          <Suspense fallback={null}>
            <PlacePicker lat={form.lat} lon={form.lon} onPick={(lat, lon) => setForm((f) => ({ ...f, lat: lat.toFixed(6), lon: lon.toFixed(6) }))} />
          </Suspense>
          <VocabularyPicker label={t('incident.geoPrecision')} vocabulary="geo_precision" terms={terms('geo_precision')} value={form.geoPrecision} onChange={(geoPrecision) => setForm({ ...form, geoPrecision })} error={fieldError('geoPrecision')} />
          <Field label={t('incident.placeName')} value={form.placeName} onChange={set('placeName')} error={fieldError('placeName')} />
          <Field label={t('incident.admin1')} maxLength={200} value={form.admin1} onChange={set('admin1')} error={fieldError('admin1')} />
          <Field label={t('incident.admin2')} maxLength={200} value={form.admin2} onChange={set('admin2')} error={fieldError('admin2')} />
          <Field label={t('incident.admin3')} maxLength={200} value={form.admin3} onChange={set('admin3')} error={fieldError('admin3')} />
          <VocabularyPicker label={t('incident.weapon')} vocabulary="weapon_type" terms={terms('weapon_type')} value={form.weaponType} onChange={(weaponType) => setForm({ ...form, weaponType })} error={fieldError('weapons[0].weaponType')} />
          {form.weaponType && (
            <>
              <VocabularyPicker label={t('incident.weaponBasis')} vocabulary="weapon_identification_basis" terms={terms('weapon_identification_basis')} value={form.weaponBasis} onChange={(weaponBasis) => setForm({ ...form, weaponBasis })} error={fieldError('weapons[0].identificationBasis')} />
              <VocabularyPicker label={t('incident.weaponConfidence')} vocabulary="confidence" terms={terms('confidence')} value={form.weaponConfidence} onChange={(weaponConfidence) => setForm({ ...form, weaponConfidence })} error={fieldError('weapons[0].confidence')} />
            </>
          )}
          <fieldset className="finding">
            <legend>{t('incident.figures')}</legend>
            <p className="hint">{t('incident.figuresHint')}</p>
            {incident?.figuresSource === 'casualty_records' && <p className="hint">{t('incident.figuresFromRecords', { k: figureText(incident.killed) || '0', i: figureText(incident.injured) || '0' })}</p>}
            {FIGURES.map((key) => (
              <Field key={key} label={t(`incident.${key}`)} inputMode="numeric" autoComplete="off" value={form[key]} onChange={set(key)} error={figureError(key)} />
            ))}
            <details open={HARMS.some((harm) => BREAKDOWN_KEYS.some((key) => loadedBreakdown[harm][key]))}>
              <summary>{t('incident.breakdown')}</summary>
              {HARMS.map((harm) => (
                <fieldset key={harm} className="plain">
                  <legend>{t(`incident.breakdown.${harm}`)}</legend>
                  {incident?.figuresSource === 'casualty_records' && (
                    <p className="hint">
                      {t('incident.breakdownFromRecords', {
                        list:
                          BREAKDOWN_KEYS.flatMap((key) => (incident.breakdown[harm]?.[key] ? [`${t(`breakdown.${key}`)}: ${incident.breakdown[harm][key]}`] : [])).join(', ') ||
                          t('incident.breakdownNone'),
                      })}
                    </p>
                  )}
                  <div className="marking-row">
                    {BREAKDOWN_KEYS.map((key) => (
                      <Field
                        key={key}
                        label={t(`breakdown.${key}`)}
                        inputMode="numeric"
                        autoComplete="off"
                        value={breakdown[harm][key]}
                        onChange={(e) => setBreakdown({ ...breakdown, [harm]: { ...breakdown[harm], [key]: e.target.value } })}
                        error={fieldError(`breakdown.${harm}.${key}`)}
                      />
                    ))}
                  </div>
                </fieldset>
              ))}
            </details>
          </fieldset>
          {assessor && (
            <fieldset className="markings-form">
              <legend>{t('incident.attributions')}</legend>
              {attributions.map((a, i) => (
                <div key={i} className="marking-row" role="group" aria-label={t('incident.attributionN', { n: i + 1 })}>
                  <Field label={`${t('incident.actor')} ${i + 1}`} maxLength={200} value={a.actor} onChange={(e) => setAttribution(i, 'actor', e.target.value)} error={fieldError(`attributions[${i}].actor`)} />
                  <Field label={`${t('incident.attributionBasis')} ${i + 1}`} maxLength={2000} value={a.basis} onChange={(e) => setAttribution(i, 'basis', e.target.value)} error={fieldError(`attributions[${i}].basis`)} />
                  <VocabularyPicker label={`${t('incident.attributionConfidence')} ${i + 1}`} vocabulary="confidence" terms={terms('confidence')} value={a.confidence} onChange={(code) => setAttribution(i, 'confidence', code)} error={fieldError(`attributions[${i}].confidence`)} />
                  <button type="button" onClick={() => setAttributions(attributions.filter((_, j) => j !== i))}>
                    {t('incident.removeAttribution', { n: i + 1 })}
                  </button>
                </div>
              ))}
              <button type="button" onClick={() => setAttributions([...attributions, { actor: '', basis: '', confidence: '' }])}>
                {t('incident.addAttribution')}
              </button>
            </fieldset>
          )}
          {assessor && (
            <fieldset className="markings-form">
              <legend>{t('incident.related')}</legend>
              {related.length > 0 && <IncidentFinder caseId={theCase} onFound={choices.add} onError={setError} />}
              {related.map((r, i) => (
                <div key={i} className="marking-row" role="group" aria-label={t('incident.relatedN', { n: i + 1 })}>
                  <VocabularyPicker label={`${t('incident.relation')} ${i + 1}`} vocabulary="related_incident_relation" terms={terms('related_incident_relation')} value={r.relation} onChange={(code) => setRelation(i, 'relation', code)} error={fieldError(`relatedIncidents[${i}].relation`)} />
                  <Select label={`${t('incident.relatedIncident')} ${i + 1}`} value={r.incidentId} onChange={(e) => setRelation(i, 'incidentId', e.target.value)} error={fieldError(`relatedIncidents[${i}].incidentId`)}>
                    <option value="">{t('form.choose')}</option>
                    {/* One related beyond the incidents offered is still shown as what it is. */}
                    {r.incidentId && !choices.items.some((c) => c.id === r.incidentId) && <option value={r.incidentId}>{`${t('subject.incident')} ${r.incidentId.slice(0, 8)}`}</option>}
                    {choices.items
                      .filter((c) => c.id !== incident?.id)
                      .map((c) => (
                        <option key={c.id} value={c.id}>
                          {incidentName(c)}
                        </option>
                      ))}
                  </Select>
                  <button type="button" onClick={() => setRelated(related.filter((_, j) => j !== i))}>
                    {t('incident.removeRelated', { n: i + 1 })}
                  </button>
                </div>
              ))}
              <button type="button" onClick={() => setRelated([...related, { incidentId: '', relation: '' }])}>
                {t('incident.addRelated')}
              </button>
            </fieldset>
          )}
          {assessor && <VocabularyPicker label={t('incident.grade')} vocabulary="grade" terms={terms('grade')} value={form.grade} onChange={(grade) => setForm({ ...form, grade })} error={fieldError('grade')} />}
          {assessor && (
            <VocabularyPicker label={t('incident.verificationStatus')} vocabulary="verification_status" terms={terms('verification_status')} value={form.verificationStatus} onChange={(verificationStatus) => setForm({ ...form, verificationStatus })} error={fieldError('verificationStatus')} />
          )}
          {incident && editable && <Field label={t('incident.reason')} value={form.reason} onChange={set('reason')} error={fieldError('reason')} />}
        </fieldset>
        <ErrorNote error={error} />
        {saved && <p role="status">{t('incident.saved')}</p>}
        {editable && (
          <button type="submit" className="primary" aria-disabled={save.busy}>
            {incident ? t('common.save') : t('common.create')}
          </button>
        )}
      </form>
      {incident && (
        <>
          <p>
            {t('incident.startAt')}: {instant(incident.startAt)} · {term('incident_type', incident.type)}
          </p>
          {incident.relatedIncidents.length > 0 && (
            <p>
              {t('incident.relatedShort')}:{' '}
              {incident.relatedIncidents.map((r, i) => {
                const other = choices.items.find((c) => c.id === r.incidentId);
                return (
                  <span key={r.incidentId}>
                    {i > 0 && ' · '}
                    {term('related_incident_relation', r.relation)} <Link href={`/incidents/${r.incidentId}`}>{other ? incidentName(other) : `${t('subject.incident')} ${r.incidentId.slice(0, 8)}`}</Link>
                  </span>
                );
              })}
            </p>
          )}
          <Suspense fallback={<p>{t('common.loading')}</p>}>
            {me.role !== 'documenter' && <CasualtyRecords incidentId={incident.id} caseId={incident.caseId} />}
            {me.role !== 'documenter' && <DamageRecords incidentId={incident.id} caseId={incident.caseId} />}
            <IncidentRemnants incidentId={incident.id} />
          </Suspense>
          <EvidenceLinks incident={incident} onChange={setIncident} editable={editable} />
        </>
      )}
    </section>
  );
}

function EvidenceLinks({ incident, onChange, editable }: { incident: Incident; onChange(incident: Incident): void; editable: boolean }) {
  const { t } = useI18n();
  /** The linked items and those found, for their names. */
  const known = useCaseEvidence(incident.caseId, incident.id);
  /** Items found to link (nothing is listed, nor logged as read, until asked). */
  const [found, setFound] = useState<Evidence[] | null>(null);
  const [evidenceId, setEvidenceId] = useState('');
  const [role, setRole] = useState<string>('depicts_aftermath');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const name = (eid: string) => evidenceName(known.items, eid);

  function onFound(items: Evidence[]) {
    known.add(items);
    setFound(items);
    setEvidenceId(items[0]?.id ?? '');
  }

  /** The incident's links set anew, with the reason given (each change a custody event). */
  async function setLinks(evidence: { evidenceId: string; role: string }[]): Promise<boolean> {
    setError(null);
    try {
      onChange(await call<Incident>('PATCH', `/incidents/${incident.id}`, { evidence, reason }));
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  }

  async function link(event: FormEvent) {
    event.preventDefault();
    if (await setLinks([...incident.evidence.filter((l) => l.evidenceId !== evidenceId), { evidenceId, role }])) setEvidenceId('');
  }

  return (
    <div>
      <h2>{t('incident.evidence')}</h2>
      <ul className="links">
        {incident.evidence.map((l) => (
          <li key={l.evidenceId}>
            <Link href={`/evidence/${l.evidenceId}`}>{name(l.evidenceId)}</Link> · {t(`linkRole.${l.role}` as `linkRole.${(typeof LINK_ROLES)[number]}`)}
            {editable && (
              <>
                {' '}
                <button type="button" onClick={() => void setLinks(incident.evidence.filter((other) => other.evidenceId !== l.evidenceId))} aria-label={`${t('incident.unlink')}: ${name(l.evidenceId)}`}>
                  {t('incident.unlink')}
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      {editable && (
        <EvidenceFinder caseId={incident.caseId} purpose="link" onFound={onFound} onError={setError} />
      )}
      {editable && (
        <form onSubmit={link} className="record-form">
          <Select label={t('incident.linkEvidence')} required value={evidenceId} onChange={(e) => setEvidenceId(e.target.value)}>
            <option value="">{found ? t('form.choose') : t('evidence.searchFirst')}</option>
            {(found ?? []).map((i) => (
              <option key={i.id} value={i.id}>
                {itemName(i)}
              </option>
            ))}
          </Select>
          <Select label={t('incident.role')} value={role} onChange={(e) => setRole(e.target.value)}>
            {LINK_ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`linkRole.${r}`)}
              </option>
            ))}
          </Select>
          <Field label={t('incident.reason')} required value={reason} onChange={(e) => setReason(e.target.value)} error={error instanceof ApiError ? error.forField('reason') : undefined} />
          <ErrorNote error={error} />
          <button type="submit" className="primary">
            {t('incident.linkEvidence')}
          </button>
        </form>
      )}
    </div>
  );
}
