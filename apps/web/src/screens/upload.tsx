import { useState, useSyncExternalStore, type DragEvent } from 'react';
import { DetailedError, Upload } from 'tus-js-client';
import { API, ApiError, call, authHeaders, OfflineError, receiptPath, sessionEndedDuring, type Evidence, type Receipt } from '../api.js';
import { hashFile } from '../hash-file.js';
import { contentLang, useI18n } from '../i18n.js';
import { waitForReceipt } from '../receipt-wait.js';
import { Announcer, ErrorNote, errorText, Field, Link, Select, shown, TextArea, useChangeAnnouncement } from '../ui.js';
import { verifyKeptReceipt, type Check } from '../verify-log.js';
import { downloadReceipt, VerdictLine } from './evidence.js';
import { IncidentFinder, useCaseIncidents, withOffset } from './record-form.js';

interface Job {
  key: string;
  file: File;
  phase: 'hashing' | 'sending' | 'done' | 'failed';
  sha256?: string;
  hashed: number;
  sent: number;
  evidence?: Evidence;
  /** The receipt: the submission's answer, or fetched later from its receiptUrl. */
  receipt?: Receipt;
  /** A late receipt: asked for until it comes ('waiting'), or not come in time ('late'). */
  receiptWait?: 'waiting' | 'late';
  error?: unknown;
  check?: Check | null;
}

const SOURCE_TYPES = ['field_capture', 'witness_submission', 'open_source', 'official_record', 'other'] as const;

/**
 * The uploads of this page's life, by case, outside the screen: leaving the Upload tab or the
 * case does not drop an upload, its receipt or its failure; the list is there on coming back.
 */
const uploads = new Map<string, Job[]>();
const listeners = new Set<() => void>();
const NONE: Job[] = [];

const inFlight = () => [...uploads.values()].some((jobs) => jobs.some((job) => job.phase === 'hashing' || job.phase === 'sending'));

/** While a file is hashed or sent, closing or reloading the page asks first (the browser's own question). */
function guardUnload(event: BeforeUnloadEvent): void {
  event.preventDefault();
  event.returnValue = '';
}

function changeJobs(caseId: string, change: (jobs: Job[]) => Job[]): void {
  uploads.set(caseId, change(uploads.get(caseId) ?? NONE));
  if (inFlight()) window.addEventListener('beforeunload', guardUnload);
  else window.removeEventListener('beforeunload', guardUnload);
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** A tus failure as the rest of the console's: the archive's problem, or no answer. */
function tusFailure(error: Error | DetailedError): Error {
  const response = error instanceof DetailedError ? error.originalResponse : null;
  if (!response) return error instanceof DetailedError ? new OfflineError(error.message) : error;
  let problem: { title?: string; detail?: string; errors?: { field: string; message: string }[] } = {};
  try {
    problem = JSON.parse(response.getBody()) as typeof problem;
  } catch {
    // Not problem+json (a proxy's page): the status says enough.
  }
  return new ApiError(response.getStatus(), problem.title ?? `HTTP ${response.getStatus()}`, problem.detail, problem.errors ?? []);
}

/**
 * Drag and drop (or choose) files: each is hashed here (slice by slice, in a worker), sent with tus (resumable: a broken
 * connection resumes from the server's offset; tus-js-client keeps the upload's address in
 * localStorage so a reloaded page resumes too), then made evidence with the hash and what the
 * user declares; the receipt is shown, checked in the browser and downloadable. When the log has
 * not caught up within the submission's wait, the receipt is asked for again until it comes.
 */
export function UploadPanel({ caseId }: { caseId: string }) {
  const { t, bytes, lang } = useI18n();
  // A refusal naming a field of the submission names it by the form's label.
  const fieldLabels: Record<string, string> = {
    capturedAt: t('upload.capturedAt'),
    title: t('upload.itemTitle'),
    description: t('upload.description'),
    tags: t('upload.tags'),
    incidentId: t('upload.incident'),
    location: `${t('upload.lat')}, ${t('upload.lon')}`,
    'location.lat': t('upload.lat'),
    'location.lon': t('upload.lon'),
    sourceType: t('upload.sourceType'),
    sourceUrl: t('upload.sourceUrl'),
  };
  const jobs = useSyncExternalStore(subscribe, () => uploads.get(caseId) ?? NONE);
  // Each upload's steps, heard as they happen: started, sent, received, its receipt checked, or why it failed.
  const announcement = useChangeAnnouncement(
    jobs,
    (job) => job.key,
    (job) => [job.phase, job.receiptWait ?? '', job.check ? (job.check.unchecked ? 'unchecked' : job.check.valid) : ''].join('|'),
    (job) => {
      const f = job.file.name;
      if (job.phase === 'failed') return t('upload.announceFailed', { f, m: errorText(job.error, t, lang) });
      if (job.check) return job.check.unchecked ? null : t(job.check.valid ? 'upload.announceVerified' : 'upload.announceNotVerified', { f });
      if (job.receiptWait === 'late') return t('upload.announceLate', { f });
      if (job.phase === 'done') return t('upload.announceDone', { f });
      return t(job.phase === 'hashing' ? 'upload.announceHashing' : 'upload.announceSending', { f });
    },
  );
  const [over, setOver] = useState(false);
  const [capturedAt, setCapturedAt] = useState('');
  const [lat, setLat] = useState('');
  const [lon, setLon] = useState('');
  const [accuracyM, setAccuracyM] = useState<number | null>(null);
  const [halfPlace, setHalfPlace] = useState(false);
  const [positionError, setPositionError] = useState<string | null>(null);
  const [sourceType, setSourceType] = useState('field_capture');
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [tags, setTags] = useState('');
  const [sourceUrl, setSourceUrl] = useState('');
  const [incidentId, setIncidentId] = useState('');
  // The incidents this user may link to (a documenter: those they reported); a failure leaves none offered.
  const incidents = useCaseIncidents(caseId);
  const [findError, setFindError] = useState<unknown>(null);

  // A coordinate typed by hand: the device's accuracy no longer applies.
  const typed = (set: (value: string) => void) => (e: { target: { value: string } }) => {
    set(e.target.value);
    setAccuracyM(null);
  };

  function myPosition() {
    setPositionError(null);
    navigator.geolocation.getCurrentPosition(
      (position) => {
        setLat(position.coords.latitude.toFixed(6));
        setLon(position.coords.longitude.toFixed(6));
        setAccuracyM(Math.round(position.coords.accuracy));
      },
      // The browser's own message is English whatever the console's language: its code says which it is.
      (error) => setPositionError(t('upload.positionFailed', { m: t(error.code === error.PERMISSION_DENIED ? 'upload.positionDenied' : error.code === error.TIMEOUT ? 'upload.positionTimeout' : 'upload.positionUnavailable') })),
      { enableHighAccuracy: true, timeout: 30_000 },
    );
  }

  const update = (key: string, change: Partial<Job>) => changeJobs(caseId, (all) => all.map((j) => (j.key === key ? { ...j, ...change } : j)));

  async function send(file: File) {
    const key = `${file.name}-${file.size}-${file.lastModified}-${Math.random()}`;
    changeJobs(caseId, (all) => [...all, { key, file, phase: 'hashing', hashed: 0, sent: 0 }]);
    try {
      const sha256 = await hashFile(file, (hashed) => update(key, { hashed }));
      update(key, { sha256, phase: 'sending' });
      const uploadUrl = await new Promise<string>((resolve, reject) => {
        const upload = new Upload(file, {
          endpoint: `${API}/uploads`,
          // The token as it is at each request: after a session ended mid-upload and its user
          // signed in again, the upload goes on with the new one.
          onBeforeRequest: (req) => {
            for (const [name, value] of Object.entries(authHeaders())) req.setHeader(name, value);
          },
          chunkSize: 8 * 1024 * 1024,
          retryDelays: [0, 1000, 3000, 5000, 10000],
          metadata: { filename: file.name, filetype: file.type || 'application/octet-stream', sha256 },
          removeFingerprintOnSuccess: true,
          onProgress: (sent) => update(key, { sent }),
          onError: (error) => {
            // The session ended under way (revoked, expired): the sign-in comes up, and once
            // someone signs in the upload resumes from where the archive has it.
            if (error instanceof DetailedError && error.originalResponse?.getStatus() === 401) return void sessionEndedDuring().then(() => upload.start());
            reject(tusFailure(error));
          },
          onSuccess: () => resolve(upload.url!),
        });
        void upload.findPreviousUploads().then((previous) => {
          if (previous[0]) upload.resumeFromPreviousUpload(previous[0]);
          upload.start();
        });
      });
      const uploadId = uploadUrl.split('/').pop()!;
      const location = lat && lon ? { lat: Number(lat), lon: Number(lon), ...(accuracyM !== null ? { accuracyM } : {}) } : undefined;
      const tagList = tags.split(',').map((tag) => tag.trim()).filter(Boolean);
      const evidence = await call<Evidence>('POST', `/cases/${caseId}/evidence`, {
        uploadId,
        sha256,
        sourceType,
        // The time as this device's clock showed it, with its offset: the API keeps both.
        ...(capturedAt ? { capturedAt: withOffset(capturedAt) } : {}),
        ...(location ? { location } : {}),
        ...(title.trim() ? { title: title.trim() } : {}),
        ...(description.trim() ? { description: description.trim() } : {}),
        ...(tagList.length ? { tags: tagList } : {}),
        ...(sourceUrl.trim() ? { sourceUrl: sourceUrl.trim() } : {}),
        ...(incidentId ? { incidentId } : {}),
      });
      update(key, { evidence, phase: 'done', sent: file.size });
      let receipt = evidence.receipt ?? null;
      if (!receipt) {
        update(key, { receiptWait: 'waiting' });
        receipt = await waitForReceipt(evidence.receiptUrl ?? receiptPath(evidence.id));
        if (!receipt) return update(key, { receiptWait: 'late' });
      }
      update(key, { receipt, receiptWait: undefined });
      update(key, { check: await verifyKeptReceipt(receipt) });
    } catch (error) {
      update(key, { phase: 'failed', error });
    }
  }

  const take = (files: FileList | null) => {
    // A position is both coordinates or none: half of one is not sent as nothing.
    const half = (lat === '') !== (lon === '');
    setHalfPlace(half);
    if (half) return;
    for (const file of Array.from(files ?? [])) void send(file);
  };
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    take(event.dataTransfer.files);
  };

  return (
    <div>
      <h2>{t('upload.title')}</h2>
      <div className="narrow">
        <Field label={t('upload.capturedAt')} type="datetime-local" value={capturedAt} onChange={(e) => setCapturedAt(e.target.value)} />
        <Field label={t('upload.itemTitle')} maxLength={500} value={title} onChange={(e) => setTitle(e.target.value)} />
        <TextArea label={t('upload.description')} value={description} onChange={(e) => setDescription(e.target.value)} />
        <Field label={t('upload.tags')} value={tags} onChange={(e) => setTags(e.target.value)} />
        {incidents.items.length > 0 && <IncidentFinder caseId={caseId} onFound={incidents.add} onError={setFindError} />}
        <ErrorNote error={findError} />
        <Select label={t('upload.incident')} value={incidentId} onChange={(e) => setIncidentId(e.target.value)}>
          <option value="">{t('upload.noIncident')}</option>
          {incidents.items.map((incident) => (
            <option key={incident.id} value={incident.id} lang={contentLang(incident.title, lang)}>
              {incident.code ?? ''} {shown(incident.title)}
            </option>
          ))}
        </Select>
        <Field label={t('upload.lat')} type="number" step="any" min={-90} max={90} value={lat} onChange={typed(setLat)} />
        <Field label={t('upload.lon')} type="number" step="any" min={-180} max={180} value={lon} onChange={typed(setLon)} />
        {'geolocation' in navigator && window.isSecureContext && (
          <p>
            <button type="button" onClick={myPosition}>
              {t('upload.myPosition')}
            </button>
          </p>
        )}
        {positionError && (
          <p className="error" role="alert">
            {positionError}
          </p>
        )}
        <Select label={t('upload.sourceType')} value={sourceType} onChange={(e) => setSourceType(e.target.value)}>
          {SOURCE_TYPES.map((s) => (
            <option key={s} value={s}>
              {t(`source.${s}`)}
            </option>
          ))}
        </Select>
        {sourceType === 'open_source' && <Field label={t('upload.sourceUrl')} type="url" value={sourceUrl} onChange={(e) => setSourceUrl(e.target.value)} />}
        {halfPlace && (
          <p className="error" role="alert">
            {t('upload.latLon')}
          </p>
        )}
      </div>
      <div
        className={`dropzone${over ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p>{t('upload.drop')}</p>
        <label className="button">
          {t('upload.choose')}
          <input className="visually-hidden" type="file" multiple onChange={(e) => take(e.target.files)}
            // Emptied as the picker opens, so the same file may be chosen again (after a refusal).
            onClick={(e) => (e.currentTarget.value = '')}
            data-testid="upload-input"
          />
        </label>
      </div>
      <Announcer message={announcement} />
      <ul className="uploads">
        {jobs.map((job) => (
          <li key={job.key} data-phase={job.phase}>
            <strong>{job.file.name}</strong> · {bytes(job.file.size)}
            {job.phase === 'hashing' && (
              <p>
                <label>
                  {t('upload.hashing')} <span className="visually-hidden">{job.file.name}</span>{' '}
                  <progress max={job.file.size} value={job.hashed} data-testid="hash-progress">
                    {Math.round((job.hashed / Math.max(1, job.file.size)) * 100)}%
                  </progress>
                </label>{' '}
                <span className="hint">{Math.round((job.hashed / Math.max(1, job.file.size)) * 100)}%</span>
              </p>
            )}
            {job.sha256 && <p className="hash">SHA-256 {job.sha256}</p>}
            {(job.phase === 'sending' || job.phase === 'done') && (
              <p>
                <label>
                  {job.phase === 'done' ? t('upload.done') : t('upload.sending')} <span className="visually-hidden">{job.file.name}</span>{' '}
                  <progress max={job.file.size} value={job.sent}>
                    {Math.round((job.sent / Math.max(1, job.file.size)) * 100)}%
                  </progress>
                </label>{' '}
                <span className="hint" data-testid="sent">
                  {Math.round((job.sent / Math.max(1, job.file.size)) * 100)}% · {bytes(job.sent)} / {bytes(job.file.size)}
                </span>
              </p>
            )}
            {job.evidence && (
              <div className="receipt">
                <Link href={`/evidence/${job.evidence.id}`}>{job.evidence.originalFileName ?? job.evidence.id}</Link>
                {job.receiptWait === 'waiting' && (
                  <p role="status" data-receipt="waiting">
                    {t('upload.receiptWaiting')}
                  </p>
                )}
                {job.receiptWait === 'late' && (
                  <p role="status" data-receipt="late">
                    {t('upload.receiptLate')} <Link href={`/evidence/${job.evidence.id}`}>{t('upload.receiptLater')}</Link>
                  </p>
                )}
                {job.receipt && (
                  <>
                    <p>
                      {t('upload.receipt')}: #{job.receipt.leafIndex} · {job.receipt.treeHead.rootHash.slice(0, 16)}…
                    </p>
                    <button type="button" onClick={() => downloadReceipt(job.receipt!, job.file.name)}>
                      {t('upload.downloadReceipt')}
                    </button>
                    <VerdictLine result={job.check ?? null} receipt />
                  </>
                )}
              </div>
            )}
            {job.phase === 'failed' && <ErrorNote error={job.error} fields={fieldLabels} subject={job.file.name} />}
          </li>
        ))}
      </ul>
    </div>
  );
}
