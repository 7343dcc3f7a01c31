import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { call, get, type Casualty, type SourceLink } from '../api.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { ErrorNote, Field, Said, Select, TextArea, useSubmit, VocabularyPicker } from '../ui.js';
import { CitedSources, fieldErrorOf, figureErrorOf, figureOf, figureText, RecordFormEnd, SourcesCell, textOrNull, useCaseEvidence, VocabularyChecks } from './record-form.js';

const EMPTY = {
  countingUnit: 'individual' as 'individual' | 'group',
  groupSize: '',
  harmStatus: '',
  fullName: '',
  nameVariants: '',
  sex: '',
  age: '',
  ageGroup: '',
  civilianStatus: '',
  civilianStatusBasis: '',
  specialCategories: [] as string[],
  dateOfHarm: '',
  dateOfHarmPrecision: '',
  dateOfDeath: '',
  dateOfDeathPrecision: '',
  causeOfDeath: '',
  identificationStatus: '',
  status: '',
  consentToPublishName: false,
  sources: [] as SourceLink[],
  newSource: { evidenceId: '', reliability: null } as SourceLink,
  reason: '',
};
type CasualtyForm = typeof EMPTY;

/** Harms that are a death (harm_status). */
const DEATHS = ['killed', 'died_of_wounds'];

function formOf(c: Casualty): CasualtyForm {
  return {
    countingUnit: c.countingUnit,
    groupSize: figureText(c.groupSize),
    harmStatus: c.harmStatus,
    fullName: c.fullName ?? '',
    nameVariants: (c.nameVariants ?? []).join('\n'),
    sex: c.sex ?? '',
    // One field for an age or an age range ("30–40" for someone not yet identified).
    age: c.age !== null ? String(c.age) : figureText(c.ageRange),
    ageGroup: c.ageGroup ?? '',
    civilianStatus: c.civilianStatus ?? '',
    civilianStatusBasis: c.civilianStatusBasis ?? '',
    specialCategories: c.specialCategories,
    dateOfHarm: c.dateOfHarm ?? '',
    dateOfHarmPrecision: c.dateOfHarmPrecision ?? '',
    dateOfDeath: c.dateOfDeath ?? '',
    dateOfDeathPrecision: c.dateOfDeathPrecision ?? '',
    causeOfDeath: c.causeOfDeath ?? '',
    identificationStatus: c.identificationStatus,
    status: c.status,
    consentToPublishName: c.consentToPublishName,
    sources: c.sources,
    newSource: { evidenceId: '', reliability: null },
    reason: '',
  };
}

/**
 * The body the API takes for what the form holds (empty is null, so an edit can clear it). Names
 * only from who may write them; the API judges what was typed (a date, an age).
 */
function bodyOf(form: CasualtyForm, names: boolean): Record<string, unknown> {
  const age = figureOf(form.age);
  const range = age !== null && typeof age === 'object';
  return {
    countingUnit: form.countingUnit,
    groupSize: form.countingUnit === 'group' ? figureOf(form.groupSize) : null,
    harmStatus: form.harmStatus || undefined,
    ...(names
      ? {
          fullName: textOrNull(form.fullName.trim()),
          nameVariants: form.nameVariants.split('\n').map((v) => v.trim()).filter(Boolean),
          consentToPublishName: form.consentToPublishName,
        }
      : {}),
    sex: form.sex || null,
    age: range ? null : age,
    ageRange: range ? age : null,
    ageGroup: form.ageGroup || null,
    civilianStatus: form.civilianStatus || null,
    civilianStatusBasis: textOrNull(form.civilianStatusBasis),
    specialCategories: form.specialCategories,
    dateOfHarm: form.dateOfHarm || null,
    dateOfHarmPrecision: form.dateOfHarmPrecision || null,
    dateOfDeath: form.dateOfDeath || null,
    dateOfDeathPrecision: form.dateOfDeathPrecision || null,
    causeOfDeath: textOrNull(form.causeOfDeath),
    identificationStatus: form.identificationStatus || null,
    status: form.status || null,
    sources: form.newSource.evidenceId ? [...form.sources.filter((s) => s.evidenceId !== form.newSource.evidenceId), form.newSource] : form.sources,
  };
}

/** What an edit sends: the fields whose value differs from the record's (so a date kept as a date-time stays one). */
function changesOf(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(after).filter(([key, value]) => JSON.stringify(value ?? null) !== JSON.stringify(before[key] ?? null)));
}

/** An incident's casualty records (Every Casualty Worldwide's standard): the list, a form to record one, an edit form per record. */
export function CasualtyRecords({ incidentId, caseId }: { incidentId: string; caseId: string }) {
  const titleId = useId();
  const { t, term } = useI18n();
  const { me } = useSession();
  // Investigators are the one role that writes and reads victims' names (api.md).
  const names = me.role === 'investigator';
  const [items, setItems] = useState<Casualty[]>([]);
  const [editing, setEditing] = useState<Casualty | null>(null);
  const [error, setError] = useState<unknown>(null);
  const evidence = useCaseEvidence(caseId, incidentId, items.flatMap((c) => c.sources.map((source) => source.evidenceId)));
  const load = useCallback(() => get<{ items: Casualty[] }>(`/incidents/${incidentId}/casualties`).then((r) => setItems(r.items), setError), [incidentId]);
  useEffect(() => void load(), [load]);
  const nameOf = (c: Casualty) => (names && c.fullName) || `${term('harm_status', c.harmStatus)} ${items.indexOf(c) + 1}`;

  return (
    <div className="casualties">
      <h2 id={titleId}>{t('incident.casualties')}</h2>
      <ErrorNote error={error} />
      {items.length > 0 && (
        <table aria-labelledby={titleId}>
          <thead>
            <tr>
              {names && <th scope="col">{t('casualty.name')}</th>}
              <th scope="col">{t('casualty.harmStatus')}</th>
              <th scope="col">{t('casualty.people')}</th>
              <th scope="col">{t('casualty.sex')}</th>
              <th scope="col">{t('casualty.age')}</th>
              <th scope="col">{t('casualty.civilianStatus')}</th>
              <th scope="col">{t('casualty.status')}</th>
              <th scope="col">{t('records.sources')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('common.edit')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={c.id} data-casualty-id={c.id}>
                {names && (
                  <td>
                    <Said text={c.fullName ?? '—'} />
                  </td>
                )}
                <td>{term('harm_status', c.harmStatus)}</td>
                <td>{c.countingUnit === 'group' ? figureText(c.groupSize) : '1'}</td>
                <td>{term('sex', c.sex)}</td>
                <td>{c.age ?? (c.ageRange ? figureText(c.ageRange) : term('age_group', c.ageGroup))}</td>
                <td>{term('civilian_status', c.civilianStatus)}</td>
                <td>{term('casualty_status', c.status)}</td>
                <td>
                  <SourcesCell record={c} evidence={evidence} />
                </td>
                <td>
                  <button type="button" onClick={() => setEditing(c)} aria-label={`${t('common.edit')}: ${nameOf(c)}`}>
                    {t('common.edit')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <CasualtyForm
          key={editing.id}
          record={editing}
          caseId={caseId}
          incidentId={incidentId}
          names={names}
          evidence={evidence}
          title={t('casualty.edit', { name: nameOf(editing) })}
          onSaved={async () => {
            setEditing(null);
            await load();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      <CasualtyForm caseId={caseId} incidentId={incidentId} names={names} evidence={evidence} title={t('incident.addCasualty')} onSaved={load} />
    </div>
  );
}

function CasualtyForm({ record, caseId, incidentId, names, evidence, title, onSaved, onCancel }: {
  record?: Casualty;
  caseId: string;
  incidentId: string;
  names: boolean;
  evidence: ReturnType<typeof useCaseEvidence>;
  title: string;
  onSaved(): Promise<unknown> | void;
  onCancel?(): void;
}) {
  const { t } = useI18n();
  const { terms } = useSession();
  const [form, setForm] = useState<CasualtyForm>(() => (record ? formOf(record) : EMPTY));
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const fieldError = fieldErrorOf(error);
  const figureError = figureErrorOf(fieldError);
  const set = (key: keyof CasualtyForm) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const pick = (key: keyof CasualtyForm) => (code: string) => setForm({ ...form, [key]: code });
  const heading = useRef<HTMLHeadingElement>(null);
  // An edit form opens above the list's end: keyboard and screen reader users are taken to it.
  useEffect(() => {
    if (record) heading.current?.focus();
  }, [record]);

  const save = useSubmit(async () => {
    setError(null);
    setSaved(false);
    try {
      const body = bodyOf(form, names);
      if (record) await call('PATCH', `/casualties/${record.id}`, { ...changesOf(bodyOf(formOf(record), names), body), reason: form.reason });
      // An empty picker is left out, so the API answers "is required" for that field.
      else await call('POST', `/incidents/${incidentId}/casualties`, body);
      setSaved(true);
      if (!record) setForm(EMPTY);
      await onSaved();
    } catch (e) {
      setError(e);
    }
  });

  const age = figureOf(form.age);
  const ageField = age !== null && typeof age === 'object' ? 'ageRange' : 'age';
  return (
    <form onSubmit={save.onSubmit} className="record-form" noValidate aria-label={title}>
      <h3 ref={heading} tabIndex={-1}>
        {title}
      </h3>
      {names && <Field label={t('casualty.fullName')} autoComplete="off" maxLength={300} value={form.fullName} onChange={set('fullName')} error={fieldError('fullName')} />}
      {names && <TextArea label={t('casualty.nameVariants')} rows={2} autoComplete="off" value={form.nameVariants} onChange={set('nameVariants')} error={fieldError('nameVariants')} />}
      <VocabularyPicker label={t('casualty.harmStatus')} vocabulary="harm_status" terms={terms('harm_status')} value={form.harmStatus} onChange={pick('harmStatus')} error={fieldError('harmStatus')} required />
      <Select label={t('casualty.countingUnit')} value={form.countingUnit} onChange={(e) => setForm({ ...form, countingUnit: e.target.value as 'individual' | 'group' })}>
        <option value="individual">{t('casualty.individual')}</option>
        <option value="group">{t('casualty.group')}</option>
      </Select>
      {form.countingUnit === 'group' && <Field label={t('casualty.groupSize')} inputMode="numeric" value={form.groupSize} onChange={set('groupSize')} error={figureError('groupSize')} />}
      <VocabularyPicker label={t('casualty.sex')} vocabulary="sex" terms={terms('sex')} value={form.sex} onChange={pick('sex')} error={fieldError('sex')} />
      <Field label={t('casualty.age')} inputMode="numeric" value={form.age} onChange={set('age')} error={figureError(ageField)} />
      <VocabularyPicker label={t('casualty.ageGroup')} vocabulary="age_group" terms={terms('age_group')} value={form.ageGroup} onChange={pick('ageGroup')} error={fieldError('ageGroup')} />
      <VocabularyPicker label={t('casualty.civilianStatus')} vocabulary="civilian_status" terms={terms('civilian_status')} value={form.civilianStatus} onChange={pick('civilianStatus')} error={fieldError('civilianStatus')} />
      <Field label={t('casualty.civilianStatusBasis')} maxLength={2000} value={form.civilianStatusBasis} onChange={set('civilianStatusBasis')} error={fieldError('civilianStatusBasis')} />
      <VocabularyChecks legend={t('casualty.specialCategories')} vocabulary="special_category" terms={terms('special_category')} value={form.specialCategories} onChange={(specialCategories) => setForm({ ...form, specialCategories })} error={fieldError('specialCategories')} />
      <Field label={t('casualty.dateOfHarm')} type="date" value={form.dateOfHarm.slice(0, 10)} onChange={set('dateOfHarm')} error={fieldError('dateOfHarm')} />
      <VocabularyPicker label={t('casualty.dateOfHarmPrecision')} vocabulary="date_precision" terms={terms('date_precision')} value={form.dateOfHarmPrecision} onChange={pick('dateOfHarmPrecision')} error={fieldError('dateOfHarmPrecision')} />
      {/* A death's date and cause where the harm is a death, or where they were recorded before. */}
      {(DEATHS.includes(form.harmStatus) || form.dateOfDeath || form.dateOfDeathPrecision || form.causeOfDeath) && (
        <>
          <Field label={t('casualty.dateOfDeath')} type="date" value={form.dateOfDeath.slice(0, 10)} onChange={set('dateOfDeath')} error={fieldError('dateOfDeath')} />
          <VocabularyPicker label={t('casualty.dateOfDeathPrecision')} vocabulary="date_precision" terms={terms('date_precision')} value={form.dateOfDeathPrecision} onChange={pick('dateOfDeathPrecision')} error={fieldError('dateOfDeathPrecision')} />
          <Field label={t('casualty.causeOfDeath')} maxLength={2000} value={form.causeOfDeath} onChange={set('causeOfDeath')} error={fieldError('causeOfDeath')} />
        </>
      )}
      <VocabularyPicker label={t('casualty.identificationStatus')} vocabulary="identification_status" terms={terms('identification_status')} value={form.identificationStatus} onChange={pick('identificationStatus')} error={fieldError('identificationStatus')} />
      <VocabularyPicker label={t('casualty.status')} vocabulary="casualty_status" terms={terms('casualty_status')} value={form.status} onChange={pick('status')} error={fieldError('status')} />
      {names && (
        <div className="field">
          <label>
            <input type="checkbox" checked={form.consentToPublishName} onChange={(e) => setForm({ ...form, consentToPublishName: e.target.checked })} /> {t('casualty.consentToPublishName')}
          </label>
        </div>
      )}
      <CitedSources caseId={caseId} evidence={evidence} sources={form.sources} newSource={form.newSource} onNewSource={(newSource) => setForm({ ...form, newSource })} fieldError={fieldError} onError={setError} />
      <RecordFormEnd amending={!!record} reason={form.reason} onReason={(reason) => setForm({ ...form, reason })} fieldError={fieldError} error={error} saved={saved ? t(record ? 'casualty.updated' : 'casualty.saved') : null} onCancel={onCancel} />
    </form>
  );
}
