import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { call, get, type Damage, type SourceLink } from '../api.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { ErrorNote, Field, useSubmit, VocabularyPicker } from '../ui.js';
import { CitedSources, fieldErrorOf, instantOf, localInput, pointOf, RecordFormEnd, SourcesCell, textOrNull, useCaseEvidence, VocabularyChecks } from './record-form.js';

const EMPTY = {
  objectName: '',
  address: '',
  lat: '',
  lon: '',
  objectCategory: '',
  ihlProtection: [] as string[],
  damageLevel: '',
  assessmentMethod: '',
  assessedAt: '',
  imageryDate: '',
  fieldValidated: false,
  functionality: '',
  serviceImpact: '',
  occupancyAtTime: '',
  militaryUseIndicators: '',
  status: '',
  sources: [] as SourceLink[],
  newSource: { evidenceId: '', reliability: null } as SourceLink,
  reason: '',
};
type DamageForm = typeof EMPTY;

function formOf(d: Damage): DamageForm {
  return {
    objectName: d.objectName ?? '',
    address: d.address ?? '',
    lat: d.location ? String(d.location.lat) : '',
    lon: d.location ? String(d.location.lon) : '',
    objectCategory: d.objectCategory ?? '',
    ihlProtection: d.ihlProtection,
    damageLevel: d.damageLevel ?? '',
    assessmentMethod: d.assessmentMethod ?? '',
    assessedAt: localInput(d.assessedAt),
    imageryDate: d.imageryDate?.slice(0, 10) ?? '',
    fieldValidated: d.fieldValidated,
    functionality: d.functionality ?? '',
    serviceImpact: d.serviceImpact?.description ?? '',
    occupancyAtTime: d.occupancyAtTime ?? '',
    militaryUseIndicators: d.militaryUseIndicators ?? '',
    status: d.status,
    sources: d.sources,
    newSource: { evidenceId: '', reliability: null },
    reason: '',
  };
}

/** The body the API takes: every field the form holds (empty is null, so an edit can clear it). */
function bodyOf(form: DamageForm, counts: Record<string, number> | undefined): Record<string, unknown> {
  return {
    objectName: textOrNull(form.objectName),
    address: textOrNull(form.address),
    location: pointOf(form.lat, form.lon),
    objectCategory: form.objectCategory || null,
    ihlProtection: form.ihlProtection,
    damageLevel: form.damageLevel || null,
    assessmentMethod: form.assessmentMethod || null,
    assessedAt: instantOf(form.assessedAt),
    imageryDate: form.imageryDate || null,
    fieldValidated: form.fieldValidated,
    functionality: form.functionality || null,
    serviceImpact: (form.serviceImpact.trim() || counts) ? { description: textOrNull(form.serviceImpact), ...(counts ? { counts } : {}) } : null,
    occupancyAtTime: textOrNull(form.occupancyAtTime),
    militaryUseIndicators: textOrNull(form.militaryUseIndicators),
    ...(form.status ? { status: form.status } : {}),
    sources: form.newSource.evidenceId ? [...form.sources.filter((s) => s.evidenceId !== form.newSource.evidenceId), form.newSource] : form.sources,
  };
}

/** An incident's damage records: the list, one form to record a new one, and an edit form per record. */
export function DamageRecords({ incidentId, caseId }: { incidentId: string; caseId: string }) {
  const titleId = useId();
  const { t, term, instant } = useI18n();
  const [items, setItems] = useState<Damage[]>([]);
  const [editing, setEditing] = useState<Damage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const evidence = useCaseEvidence(caseId, incidentId, items.flatMap((d) => d.sources.map((source) => source.evidenceId)));
  const load = useCallback(() => get<{ items: Damage[] }>(`/incidents/${incidentId}/damage`).then((r) => setItems(r.items), setError), [incidentId]);
  useEffect(() => void load(), [load]);

  return (
    <div className="damage">
      <h2 id={titleId}>{t('damage.title')}</h2>
      <ErrorNote error={error} />
      {items.length === 0 ? (
        <p>{t('damage.empty')}</p>
      ) : (
        <table aria-labelledby={titleId}>
          <thead>
            <tr>
              <th scope="col">{t('damage.objectName')}</th>
              <th scope="col">{t('damage.objectCategory')}</th>
              <th scope="col">{t('damage.damageLevel')}</th>
              <th scope="col">{t('damage.assessedAt')}</th>
              <th scope="col">{t('damage.status')}</th>
              <th scope="col">{t('records.sources')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('common.edit')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id} data-damage-id={d.id}>
                <td>
                  {d.objectName ?? '—'}
                  {d.address && <small className="status"> · {d.address}</small>}
                </td>
                <td>
                  {term('object_category', d.objectCategory)}
                  {d.ihlProtection.length > 0 && <small className="status"> · {d.ihlProtection.map((c) => term('ihl_protection', c)).join(', ')}</small>}
                </td>
                <td>{term('damage_level', d.damageLevel)}</td>
                <td>{instant(d.assessedAt)}</td>
                <td>{term('damage_status', d.status)}</td>
                <td>
                  <SourcesCell record={d} evidence={evidence} />
                </td>
                <td>
                  <button type="button" onClick={() => setEditing(d)} aria-label={`${t('common.edit')}: ${d.objectName ?? term('object_category', d.objectCategory)}`}>
                    {t('common.edit')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <DamageForm
          key={editing.id}
          record={editing}
          caseId={caseId}
          incidentId={incidentId}
          evidence={evidence}
          onSaved={async () => {
            setEditing(null);
            await load();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      <DamageForm caseId={caseId} incidentId={incidentId} evidence={evidence} onSaved={load} />
    </div>
  );
}

function DamageForm({ record, caseId, incidentId, evidence, onSaved, onCancel }: {
  record?: Damage;
  caseId: string;
  incidentId: string;
  evidence: ReturnType<typeof useCaseEvidence>;
  onSaved(): Promise<unknown> | void;
  onCancel?(): void;
}) {
  const { t } = useI18n();
  const { terms } = useSession();
  const [form, setForm] = useState<DamageForm>(() => (record ? formOf(record) : EMPTY));
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const fieldError = fieldErrorOf(error);
  const set = (key: keyof DamageForm) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const pick = (key: keyof DamageForm) => (code: string) => setForm({ ...form, [key]: code });
  const title = record ? t('damage.edit', { name: record.objectName ?? '' }) : t('damage.add');
  const heading = useRef<HTMLHeadingElement>(null);
  // An edit form opens above the list's end: keyboard and screen reader users are taken to it.
  useEffect(() => {
    if (record) heading.current?.focus();
  }, [record]);

  const save = useSubmit(async () => {
    setError(null);
    setSaved(false);
    try {
      const body = bodyOf(form, record?.serviceImpact?.counts);
      if (record) await call('PATCH', `/damage/${record.id}`, { ...body, reason: form.reason });
      else await call('POST', `/incidents/${incidentId}/damage`, body);
      setSaved(true);
      if (!record) setForm(EMPTY);
      await onSaved();
    } catch (e) {
      setError(e);
    }
  });

  return (
    <form onSubmit={save.onSubmit} className="record-form" noValidate aria-label={title}>
      <h3 ref={heading} tabIndex={-1}>
        {title}
      </h3>
      <Field label={t('damage.objectName')} value={form.objectName} onChange={set('objectName')} error={fieldError('objectName')} />
      <Field label={t('damage.address')} value={form.address} onChange={set('address')} error={fieldError('address')} />
      <Field label={t('incident.lat')} inputMode="decimal" value={form.lat} onChange={set('lat')} error={fieldError('location.lat') ?? fieldError('location')} />
      <Field label={t('incident.lon')} inputMode="decimal" value={form.lon} onChange={set('lon')} error={fieldError('location.lon')} />
      <VocabularyPicker label={t('damage.objectCategory')} vocabulary="object_category" terms={terms('object_category')} value={form.objectCategory} onChange={pick('objectCategory')} error={fieldError('objectCategory')} />
      <VocabularyChecks legend={t('damage.ihlProtection')} vocabulary="ihl_protection" terms={terms('ihl_protection')} value={form.ihlProtection} onChange={(ihlProtection) => setForm({ ...form, ihlProtection })} error={fieldError('ihlProtection')} />
      <VocabularyPicker label={t('damage.damageLevel')} vocabulary="damage_level" terms={terms('damage_level')} value={form.damageLevel} onChange={pick('damageLevel')} error={fieldError('damageLevel')} />
      <VocabularyPicker label={t('damage.assessmentMethod')} vocabulary="assessment_method" terms={terms('assessment_method')} value={form.assessmentMethod} onChange={pick('assessmentMethod')} error={fieldError('assessmentMethod')} />
      <Field label={t('damage.assessedAt')} type="datetime-local" value={form.assessedAt} onChange={set('assessedAt')} error={fieldError('assessedAt')} />
      <Field label={t('damage.imageryDate')} type="date" value={form.imageryDate} onChange={set('imageryDate')} error={fieldError('imageryDate')} />
      <div className="field">
        <label>
          <input type="checkbox" checked={form.fieldValidated} onChange={(e) => setForm({ ...form, fieldValidated: e.target.checked })} /> {t('damage.fieldValidated')}
        </label>
      </div>
      <VocabularyPicker label={t('damage.functionality')} vocabulary="functionality" terms={terms('functionality')} value={form.functionality} onChange={pick('functionality')} error={fieldError('functionality')} />
      <Field label={t('damage.serviceImpact')} value={form.serviceImpact} onChange={set('serviceImpact')} error={fieldError('serviceImpact.description') ?? fieldError('serviceImpact')} />
      <Field label={t('damage.occupancyAtTime')} value={form.occupancyAtTime} onChange={set('occupancyAtTime')} error={fieldError('occupancyAtTime')} />
      <Field label={t('damage.militaryUseIndicators')} value={form.militaryUseIndicators} onChange={set('militaryUseIndicators')} error={fieldError('militaryUseIndicators')} />
      <VocabularyPicker label={t('damage.status')} vocabulary="damage_status" terms={terms('damage_status')} value={form.status} onChange={pick('status')} error={fieldError('status')} />
      <CitedSources caseId={caseId} evidence={evidence} sources={form.sources} newSource={form.newSource} onNewSource={(newSource) => setForm({ ...form, newSource })} fieldError={fieldError} onError={setError} />
      <RecordFormEnd amending={!!record} reason={form.reason} onReason={(reason) => setForm({ ...form, reason })} fieldError={fieldError} error={error} saved={saved ? t('damage.saved') : null} onCancel={onCancel} />
    </form>
  );
}
