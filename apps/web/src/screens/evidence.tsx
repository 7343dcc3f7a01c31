import { Fragment, useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent, type SyntheticEvent } from 'react';
import { ApiError, call, fetchBlob, fetchReceipt, get, itemName, receiptPath, saveBlob, type Evidence, type GeoPoint, type Member, type MessageFile, type Page, type Receipt } from '../api.js';
import { contentLang, useI18n, type MessageKey } from '../i18n.js';
import { visibleText } from '#custodia/text';
import { useSession } from '../session.js';
import { ActionName, DownloadState, ErrorNote, errorText, Field, FlagBadges, Link, RoleName, Said, ScreenPending, Select, shown, TextArea, useDownload, useSubmit } from '../ui.js';
import { custodyPage, reasonText, uncheckable, verifyItemCustody, verifyKeptReceipt, type Check, type EvidenceCustody } from '../verify-log.js';
import { IncidentFinder, useCaseIncidents } from './record-form.js';
import { thumbnailUrl } from './thumbs.js';

const place = (p: GeoPoint | null | undefined) => (p ? `${p.lat.toFixed(5)}, ${p.lon.toFixed(5)}` : '—');

export function EvidenceScreen({ id }: { id: string }) {
  const compareId = useId();
  const { t, instant, bytes, duration, lang } = useI18n();
  const { me } = useSession();
  const [item, setItem] = useState<Evidence | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => get<Evidence>(`/evidence/${id}`).then(setItem, setError), [id]);
  useEffect(() => void load(), [load]);
  if (!item) return <ScreenPending title={t('item.title')} error={error} />;

  const declaredDevice = '—';
  const embeddedDevice = item.extracted?.device ? [item.extracted.device.make, item.extracted.device.model].filter(Boolean).join(' ') || '—' : '—';
  const rows = [
    { field: t('item.capturedAt'), declared: instant(item.declared.capturedAt), embedded: instant(item.extracted?.capturedAt), mismatch: item.flags.includes('time_mismatch') },
    { field: t('item.location'), declared: place(item.declared.location), embedded: place(item.extracted?.location), mismatch: item.flags.includes('location_mismatch') },
    { field: t('item.mediaType'), declared: item.declaredMediaType ?? '—', embedded: item.mediaType, mismatch: item.flags.includes('type_mismatch') },
    { field: t('item.device'), declared: declaredDevice, embedded: embeddedDevice, mismatch: false },
  ];

  return (
    <section aria-labelledby="item-title">
      <p>
        <Link href={`/cases/${item.caseId}`}>← {t('case.evidence')}</Link>
      </p>
      <h1 id="item-title" lang={contentLang(item.title ?? item.originalFileName, lang)}>
        {shown(item.title) ?? shown(item.originalFileName) ?? t('item.title')}
      </h1>
      <FlagBadges flags={item.flags} />
      <div className="item-layout">
        <Preview item={item} />
        <dl className="facts">
          <dt>{t('item.file')}</dt>
          <dd>{shown(item.originalFileName) ?? '—'}</dd>
          <dt>{t('item.sha256')}</dt>
          <dd className="hash">{item.sha256}</dd>
          <dt>{t('item.size')}</dt>
          <dd>{bytes(item.sizeBytes)}</dd>
          {/* What the file itself says of its picture and length (a recording the browser cannot play too). */}
          {item.extracted?.width && item.extracted.height ? (
            <>
              <dt>{t('item.pictureSize')}</dt>
              <dd>{`${item.extracted.width} × ${item.extracted.height}`}</dd>
            </>
          ) : null}
          {item.extracted?.durationS != null && (
            <>
              <dt>{t('item.duration')}</dt>
              <dd>{duration(item.extracted.durationS)}</dd>
            </>
          )}
          <DocumentFacts document={item.extracted?.document} mediaType={item.mediaType} />
          <dt>{t('item.received')}</dt>
          <dd>{instant(item.receivedAt)}</dd>
          <dt>{t('item.submittedBy')}</dt>
          <dd>
            <Said text={item.submittedBy.displayName} />
          </dd>
          <dt>{t('item.status')}</dt>
          <dd>{t(`status.${item.status as 'received'}`)}</dd>
          {item.description && (
            <>
              <dt>{t('item.description')}</dt>
              <dd className="said-text">{visibleText(item.description, true)}</dd>
            </>
          )}
          {item.sourceType && (
            <>
              <dt>{t('upload.sourceType')}</dt>
              <dd>
                {t(`source.${item.sourceType}` as MessageKey)}
                {item.sourceUrl && (
                  <>
                    {' · '}
                    {/^https?:\/\//i.test(item.sourceUrl) ? (
                      <a href={item.sourceUrl} rel="noopener noreferrer nofollow" target="_blank">
                        {shown(item.sourceUrl)}
                      </a>
                    ) : (
                      shown(item.sourceUrl)
                    )}
                  </>
                )}
              </dd>
            </>
          )}
          <dt>{t('item.tags')}</dt>
          <dd>{item.tags.length ? <ul className="tags">{item.tags.map((tag) => <li key={tag}>{shown(tag)}</li>)}</ul> : t('item.noTags')}</dd>
        </dl>
      </div>
      <VerifyPanel item={item} />
      <h2 id={compareId}>{t('item.declaredVsEmbedded')}</h2>
      <table className="compare" aria-labelledby={compareId}>
        <thead>
          <tr>
            <th scope="col">{t('item.field')}</th>
            <th scope="col">{t('item.declared')}</th>
            <th scope="col">{t('item.embedded')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.field} className={r.mismatch ? 'mismatch' : undefined}>
              <th scope="row">
                {r.field}
                {r.mismatch && <strong className="mismatch-mark"> ⚠ {t('item.mismatch')}</strong>}
              </th>
              <td>{r.declared}</td>
              <td>{r.embedded}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {(me.role === 'admin' || me.role === 'investigator') && <EmbeddedTags key={item.id} item={item} />}
      <MessageFiles item={item} />
      <NearDuplicates item={item} />
      <DownloadOriginal item={item} />
      {(me.role === 'admin' || me.role === 'investigator') && (
        <>
          <Annotate key={item.id} item={item} onSaved={setItem} />
          <IncidentLink item={item} onSaved={load} />
        </>
      )}
      <CustodyHistory id={item.id} />
    </section>
  );
}

interface EvidenceTags {
  sha256: string;
  reader: string;
  groups: Record<string, Record<string, unknown>>;
}

/** A tag's value as text: text as it is (its hidden characters shown), anything else as JSON. */
const tagText = (value: unknown): string => shown(typeof value === 'string' ? value : JSON.stringify(value)) ?? '';

/**
 * Every tag the original carries, as ExifTool reads it, for an investigator checking a file's
 * story: read only when asked, as each reading is an event in the item's custody.
 */
function EmbeddedTags({ item }: { item: Evidence }) {
  const { t, number } = useI18n();
  const headingId = useId();
  const [tags, setTags] = useState<EvidenceTags | null>(null);
  const [error, setError] = useState<unknown>(null);
  const read = useSubmit(async () => {
    setError(null);
    try {
      setTags(await get<EvidenceTags>(`/evidence/${item.id}/metadata`));
    } catch (e) {
      setError(e);
    }
  });
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>{t('item.allTags')}</h2>
      {tags ? (
        <>
          <p className="hint">{t('item.allTagsRead', { reader: tags.reader, sha: tags.sha256.slice(0, 16) })}</p>
          {Object.entries(tags.groups).map(([group, values]) => (
            <details key={group}>
              <summary>
                {shown(group)} ({number(Object.keys(values).length)})
              </summary>
              <table className="compare tags-table">
                <caption className="visually-hidden">{shown(group)}</caption>
                <tbody>
                  {Object.entries(values).map(([name, value]) => (
                    <tr key={name}>
                      <th scope="row">{shown(name)}</th>
                      <td>{tagText(value)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          ))}
        </>
      ) : (
        <form onSubmit={read.onSubmit} noValidate>
          <p className="hint">{t('item.allTagsHint')}</p>
          <ErrorNote error={error} />
          <button type="submit" aria-disabled={read.busy}>
            {t('item.readAllTags')}
          </button>
        </form>
      )}
    </section>
  );
}

const MAIL_TYPES = new Set(['message/rfc822', 'application/vnd.ms-outlook']);

/** What a PDF, an office document, an e-mail or a saved web page says of itself (text as the file gives it; times as `extracted` gives them). */
function DocumentFacts({ document, mediaType }: { document: NonNullable<Evidence['extracted']>['document']; mediaType: string }) {
  const { t, instant } = useI18n();
  if (!document) return null;
  // An e-mail's subject, sender, mailer and Date fill the same fields: they are named as such.
  const mail = MAIL_TYPES.has(mediaType);
  const facts: [MessageKey, string | null][] = [
    ['item.docPages', document.pages === null ? null : String(document.pages)],
    [mail ? 'item.mailSubject' : 'item.docTitle', shown(document.title)],
    // As text, never a link: opening it from the archive would tell the page who is looking.
    ['item.docSavedFrom', shown(document.savedFrom ?? null)],
    [mail ? 'item.mailFrom' : 'item.docAuthor', shown(document.author)],
    ['item.docLastModifiedBy', shown(document.lastModifiedBy ?? null)],
    [mail ? 'item.mailer' : 'item.docApplication', shown(document.creator)],
    [mail ? 'item.mailSent' : 'item.docCreated', document.createdAt && instant(document.createdAt)],
    ['item.docModified', document.modifiedAt && instant(document.modifiedAt)],
  ];
  const recipients = document.recipients ? (['to', 'cc', 'bcc'] as const).flatMap((kind) => document.recipients![kind].map((address) => ({ kind, address }))) : [];
  return (
    <>
      {facts.map(([label, value]) =>
        value ? (
          <Fragment key={label}>
            <dt>{t(label)}</dt>
            <dd>{value}</dd>
          </Fragment>
        ) : null,
      )}
      {recipients.length > 0 && (
        <>
          <dt>{t('item.mailRecipients')}</dt>
          <dd>
            <ul className="recipients">
              {recipients.map(({ kind, address }, i) => (
                <li key={i}>
                  <span className="hint">{RECIPIENT_KINDS[kind]}</span> {shown(address)}
                </li>
              ))}
            </ul>
          </dd>
        </>
      )}
    </>
  );
}

/** Submits the message's `index`-th file as an item of the case (the API takes it out of the stored message). */
function SubmitFile({ item, index, name, onSubmitted }: { item: Evidence; index: number; name: string; onSubmitted: () => void }) {
  const { t } = useI18n();
  const [error, setError] = useState<unknown>(null);
  const submit = useSubmit(async () => {
    setError(null);
    try {
      await call<Evidence>('POST', `/evidence/${item.id}/attachments/${index}`, {});
      onSubmitted();
    } catch (failure) {
      setError(failure);
    }
  });
  return (
    <form onSubmit={submit.onSubmit}>
      <span className="hint">{t('item.mailFileNotInCase')}</span>{' '}
      <button type="submit" aria-disabled={submit.busy} aria-label={t('item.mailFileSubmitNamed', { name })}>
        {t('item.mailFileSubmit')}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

/** The header fields' own names, as mail programs show them in either language. */
const RECIPIENT_KINDS = { to: 'To:', cc: 'Cc:', bcc: 'Bcc:' } as const;

/**
 * The files an e-mail, an Outlook message or a ZIP archive carries (or a mailbox's messages), each
 * with its SHA-256, and the items of this case with the same SHA-256 (one listing by hash: naming
 * them records nothing, as a listing is no read of each).
 */
function MessageFiles({ item }: { item: Evidence }) {
  const { t, bytes, instant } = useI18n();
  const { me } = useSession();
  const headingId = useId();
  const files = item.extracted?.document?.attachments ?? [];
  const [inCase, setInCase] = useState<ReadonlyMap<string, Evidence[]>>(new Map());
  const hashes = [...new Set(files.map((file) => file.sha256))].slice(0, 200).join(',');
  const learn = useCallback(() => {
    if (!hashes) return;
    get<Page<Evidence>>(`/cases/${item.caseId}/evidence?sha256=${hashes}&limit=200`).then(
      (page) => {
        const found = new Map<string, Evidence[]>();
        for (const other of page.items) if (other.id !== item.id) found.set(other.sha256, [...(found.get(other.sha256) ?? []), other]);
        setInCase(found);
      },
      () => setInCase(new Map()),
    );
  }, [item.id, item.caseId, hashes]);
  useEffect(learn, [learn]);
  if (files.length === 0) return null;
  // An archive declares no types and says when each file was last changed; a mailbox's files are messages, each with its sender and date.
  const kind = MAIL_TYPES.has(item.mediaType) ? 'mail' : item.mediaType === 'application/mbox' ? 'mailbox' : 'archive';
  const second = (file: MessageFile): string | null => {
    if (kind === 'mail') return shown(file.mediaType);
    if (kind === 'archive') return file.modifiedAt ? instant(file.modifiedAt) : null;
    return [shown(file.from ?? null), file.sentAt ? instant(file.sentAt) : null].filter(Boolean).join(' · ') || null;
  };
  return (
    <>
      <h2 id={headingId}>{t(`item.${kind}Files`)}</h2>
      <p className="hint">{t(`item.${kind}FilesHint`)}</p>
      <table className="message-files" aria-labelledby={headingId}>
        <thead>
          <tr>
            <th scope="col">{t(`item.${kind}FileName`)}</th>
            <th scope="col">{t(kind === 'mail' ? 'item.mediaType' : kind === 'archive' ? 'item.archiveFileModified' : 'item.mailboxFileSent')}</th>
            <th scope="col">{t('item.size')}</th>
            <th scope="col">{t('item.sha256')}</th>
            <th scope="col">{t('item.mailFileInCase')}</th>
          </tr>
        </thead>
        <tbody>
          {files.map((file, i) => (
            <tr key={i}>
              <th scope="row">
                {shown(file.name) ?? t('item.mailFileUnnamed')}
                {file.inline && <span className="hint"> ({t('item.mailFileInline')})</span>}
              </th>
              <td>{second(file) ?? '—'}</td>
              <td>{bytes(file.sizeBytes)}</td>
              <td className="hash">{file.sha256}</td>
              <td>
                {inCase.get(file.sha256)?.map((other, n) => (
                  <Fragment key={other.id}>
                    {n > 0 && ', '}
                    <Link href={`/evidence/${other.id}`}>{itemName(other)}</Link>
                  </Fragment>
                )) ??
                  (me.role === 'auditor' ? (
                    <span className="hint">{t('item.mailFileNotInCase')}</span>
                  ) : (
                    <SubmitFile item={item} index={i} name={shown(file.name) ?? t('item.mailFileUnnamed')} onSubmitted={learn} />
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/**
 * Chromium answers "" for QuickTime and Matroska, though it plays the H.264, VP9 or AAC in them
 * (it sniffs the file): their families' answers are asked instead.
 */
const PLAYED_AS: Record<string, string> = { 'video/quicktime': 'video/mp4', 'video/x-matroska': 'video/webm', 'audio/x-matroska': 'audio/webm' };

/** Whether this browser may play the type ("" is a sure no; a "maybe" that fails is caught by the player's error). */
function mayPlay(mediaType: string): boolean {
  const asked = PLAYED_AS[mediaType] ?? mediaType;
  return document.createElement(asked.startsWith('audio/') ? 'audio' : 'video').canPlayType(asked) !== '';
}

function Preview({ item }: { item: Evidence }) {
  const { t } = useI18n();
  const kind = item.mediaType.startsWith('video/') ? 'video' : item.mediaType.startsWith('audio/') ? 'audio' : null;
  // A video this browser cannot play (an AVCHD .MTS, an AVI in Chromium): its poster frame
  // instead, and why; a recording it cannot play (a feature phone's AMR): why. Known from the type
  // where the browser says so, else from the player's error when it is started.
  const [failed, setFailed] = useState(false);
  const unplayable = kind !== null && (failed || !mayPlay(item.mediaType));
  const player = unplayable ? null : kind;
  // The original's bytes are fetched only when the investigator starts the player (preload
  // "none"): every ranged read of them is an evidence.downloaded event, and opening the page is
  // not a download. A video shows its poster frame (the preview, with no metadata) until then.
  const [stream, setStream] = useState<string | null>(null);
  const [picture, setPicture] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let url: string | null = null;
    // The ranged content route, through the service worker that adds the token (sw.ts).
    if (player) void streamOf(item.id).then((u) => live && setStream(u));
    if (player !== 'audio' && item.derivatives?.preview) {
      void fetchBlob(`/evidence/${item.id}/preview`).then(
        (blob) => {
          url = URL.createObjectURL(blob);
          if (live) setPicture(url);
        },
        () => thumbnailUrl(item.id).then((u) => live && setPicture(u)),
      );
    }
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [item.id, player, item.derivatives?.preview]);
  const playerProps = {
    src: stream ?? undefined,
    controls: true,
    preload: 'none',
    'aria-label': t('item.preview'),
    onError(event: SyntheticEvent<HTMLMediaElement>) {
      // Not a format or codec it plays (a network failure or an abort is not that).
      const code = event.currentTarget.error?.code;
      if (code !== MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED && code !== MediaError.MEDIA_ERR_DECODE) return;
      setStream(null);
      setFailed(true);
    },
  };
  return (
    <figure className="preview">
      {stream && player === 'video' && <video {...playerProps} poster={picture ?? undefined} />}
      {stream && player === 'audio' && <audio {...playerProps} />}
      {picture && !player && <img src={picture} alt={t('item.preview')} />}
      {!player && !picture && !(unplayable && kind === 'audio') && <p>{t('item.noPreview')}</p>}
      {unplayable && <figcaption className="hint">{t(kind === 'audio' ? 'item.cannotPlayAudio' : 'item.cannotPlay', { type: item.mediaType })}</figcaption>}
    </figure>
  );
}

/** What an investigator says of an item (never what was received): each change an event, with the reason. */
function Annotate({ item, onSaved }: { item: Evidence; onSaved(item: Evidence): void }) {
  const { t } = useI18n();
  const [form, setForm] = useState({ title: item.title ?? '', description: item.description ?? '', tags: item.tags.join(', '), status: item.status, reason: '' });
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const fieldError = (name: string) => (error instanceof ApiError ? error.forField(name) : undefined);
  const save = useSubmit(async () => {
    setError(null);
    setSaved(false);
    try {
      const updated = await call<Evidence>('PATCH', `/evidence/${item.id}`, {
        title: form.title.trim() || null,
        description: form.description.trim() || null,
        tags: form.tags.split(',').map((tag) => tag.trim()).filter(Boolean),
        status: form.status,
        ...(form.reason.trim() ? { reason: form.reason.trim() } : {}),
      });
      onSaved(updated);
      setForm((f) => ({ ...f, reason: '' }));
      setSaved(true);
    } catch (e) {
      setError(e);
    }
  });
  return (
    <form onSubmit={save.onSubmit} className="narrow" noValidate>
      <h2>{t('item.annotate')}</h2>
      <Field label={t('item.titleField')} maxLength={500} value={form.title} onChange={set('title')} error={fieldError('title')} />
      <TextArea label={t('item.description')} value={form.description} onChange={set('description')} error={fieldError('description')} />
      <Field label={t('item.tagsList')} value={form.tags} onChange={set('tags')} error={fieldError('tags')} />
      <Select label={t('item.status')} value={form.status} onChange={set('status')} error={fieldError('status')}>
        {(['received', 'under_review', 'verified', 'disputed'] as const).map((status) => (
          <option key={status} value={status}>
            {t(`status.${status}`)}
          </option>
        ))}
      </Select>
      <Field label={t('item.reason')} value={form.reason} onChange={set('reason')} error={fieldError('reason')} />
      <ErrorNote error={error} />
      {saved && <p role="status">{t('item.saved')}</p>}
      <button type="submit" className="primary" aria-disabled={save.busy}>
        {t('common.save')}
      </button>
    </form>
  );
}

/**
 * The item's near duplicates by name, from the case's listing of flagged items (a listing is not
 * a read of each item, so naming them records nothing); one not among the 200 listed shows the
 * start of its id.
 */
function NearDuplicates({ item }: { item: Evidence }) {
  const { t } = useI18n();
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());
  useEffect(() => {
    if (item.nearDuplicates.length === 0) return;
    get<Page<Evidence>>(`/cases/${item.caseId}/evidence?flag=near_duplicate&limit=200`).then(
      (page) => setNames(new Map(page.items.map((other) => [other.id, itemName(other)]))),
      () => setNames(new Map()),
    );
  }, [item.id, item.caseId, item.nearDuplicates.length]);
  return (
    <>
      <h2>{t('item.nearDuplicates')}</h2>
      {item.nearDuplicates.length === 0 ? (
        <p>{t('item.noNearDuplicates')}</p>
      ) : (
        <ul>
          {item.nearDuplicates.map((d) => (
            <li key={d.id}>
              <Link href={`/evidence/${d.id}`}>{names.get(d.id) ?? d.id.slice(0, 8)}</Link> ({t('item.distance', { d: d.distance })})
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** The original's bytes as received, under the name it came with (an evidence.downloaded event). */
function DownloadOriginal({ item }: { item: Evidence }) {
  const { t, bytes } = useI18n();
  const download = useDownload();
  return (
    <div className="download-original">
      <button type="button" onClick={() => download.start(`/evidence/${item.id}/content`)} aria-disabled={download.busy} aria-describedby="download-recorded">
        {t('item.downloadOriginal', { s: bytes(item.sizeBytes) })}
      </button>{' '}
      <span className="hint" id="download-recorded">
        {t('item.downloadRecorded')}
      </span>
      <DownloadState download={download} />
    </div>
  );
}

async function streamOf(id: string): Promise<string> {
  const { streamUrl } = await import('../media-stream.js');
  return streamUrl(`/evidence/${id}/content`);
}

/**
 * An item's custody alone, for who reads the log but never content (auditors): its events, and
 * Verify in the browser against the SHA-256 its submission event names.
 */
export function ItemCustodyScreen({ id }: { id: string }) {
  const { t } = useI18n();
  // The first page of the item's custody: it names the SHA-256 to verify against, and the
  // history below starts from it.
  const [first, setFirst] = useState<EvidenceCustody | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setFirst(null);
    custodyPage(id, null).then(setFirst, setError);
  }, [id]);
  const sha256 = first && (first.events.find((e) => e.event.subject.id === id && e.event.subject.sha256)?.event.subject.sha256 ?? '');
  return (
    <section aria-labelledby="custody-title">
      <p>
        <Link href="/log">← {t('nav.log')}</Link>
      </p>
      <h1 id="custody-title">{t('custody.itemTitle', { id: id.slice(0, 8) })}</h1>
      <ErrorNote error={error} />
      {sha256 === '' && <p>{t('custody.none')}</p>}
      {sha256 && (
        <>
          <p className="hash">SHA-256 {sha256}</p>
          <div className="verify">
            <VerifyCustody id={id} sha256={sha256} />
          </div>
          <CustodyHistory id={id} first={first} />
        </>
      )}
    </section>
  );
}

/** Verify: an item's custody checked in this browser against the SHA-256 given, and the verdict. */
function VerifyCustody({ id, sha256 }: { id: string; sha256: string }) {
  const { t } = useI18n();
  const [result, setResult] = useState<Check | null>(null);
  const [running, setRunning] = useState(false);
  async function run() {
    setRunning(true);
    setResult(null);
    try {
      setResult(await verifyItemCustody(id, sha256));
    } catch (e) {
      setResult(uncheckable(errorText(e, t)));
    } finally {
      setRunning(false);
    }
  }
  return (
    <>
      <button type="button" className="primary" onClick={run} disabled={running}>
        {running ? t('verify.running') : t('verify.button')}
      </button>
      <VerdictLine result={result} />
    </>
  );
}

function VerifyPanel({ item }: { item: Evidence }) {
  const [receiptResult, setReceiptResult] = useState<Check | null>(null);
  return (
    <div className="verify">
      <VerifyCustody id={item.id} sha256={item.sha256} />
      <ReceiptCheck onResult={setReceiptResult} />
      <VerdictLine result={receiptResult} receipt />
      <SubmissionReceipt item={item} />
    </div>
  );
}

/** The submission's receipt fetched from the archive (a late one the upload screen stopped waiting for), checked here, downloadable. */
function SubmissionReceipt({ item }: { item: Evidence }) {
  const { t } = useI18n();
  const [receipt, setReceipt] = useState<Receipt | null>(null);
  const [check, setCheck] = useState<Check | null>(null);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function fetchIt() {
    setError(null);
    setPending(false);
    try {
      const answer = await fetchReceipt(receiptPath(item.id));
      if (!('receipt' in answer)) return setPending(true);
      setReceipt(answer.receipt);
      setCheck(await verifyKeptReceipt(answer.receipt));
    } catch (e) {
      setError(e);
    }
  }
  return (
    <div className="submission-receipt">
      <button type="button" onClick={fetchIt}>
        {t('item.fetchReceipt')}
      </button>
      {pending && <p role="status">{t('item.receiptPending')}</p>}
      <ErrorNote error={error} />
      {receipt && (
        <button type="button" onClick={() => downloadReceipt(receipt, item.originalFileName ?? item.id)}>
          {t('upload.downloadReceipt')}
        </button>
      )}
      <VerdictLine result={check} receipt />
    </div>
  );
}

export function VerdictLine({ result, receipt }: { result: Check | null; receipt?: boolean }) {
  const { t } = useI18n();
  if (!result) return null;
  if (result.unchecked !== undefined) {
    return (
      <p role="status" className="verdict unchecked" data-verdict="unchecked">
        {t('verify.unchecked', { r: result.unchecked })}
      </p>
    );
  }
  return (
    <p role="status" className={result.valid ? 'verdict ok' : 'verdict failed'} data-verdict={result.valid ? 'verified' : 'failed'} data-ms={result.ms}>
      {result.valid
        ? receipt
          ? t('verify.receiptOk', { i: result.leafIndex ?? '', k: result.keyId?.slice(0, 16) ?? '' })
          : t('verify.ok', { n: result.events ?? 0, ms: result.ms })
        : t('verify.failed', { r: reasonText(result.reason, t) })}
    </p>
  );
}

/** Checks a receipt file the submitter kept (or was handed), in this browser. */
export function ReceiptCheck({ onResult }: { onResult(result: Check | null): void }) {
  const { t } = useI18n();
  return (
    <Field
      label={t('verify.receiptFile')}
      type="file"
      accept="application/json,.json"
      onChange={async (e) => {
        const file = e.target.files?.[0];
        if (!file) return;
        onResult(null);
        let receipt: Receipt;
        try {
          receipt = JSON.parse(await file.text()) as Receipt;
        } catch {
          return onResult(uncheckable(t('verify.notReceipt')));
        }
        try {
          onResult(await verifyKeptReceipt(receipt));
        } catch (error) {
          onResult(uncheckable(errorText(error, t)));
        }
      }}
    />
  );
}

function IncidentLink({ item, onSaved }: { item: Evidence; onSaved(): void }) {
  const { t, lang } = useI18n();
  const [incidentId, setIncidentId] = useState(item.incidentId ?? '');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const incidents = useCaseIncidents(item.caseId, item.incidentId ? [item.incidentId] : [], { onError: setError });
  // A case may hold thousands of incidents: the same option elements on each keystroke of the
  // reason, so React does not compare thousands of them again.
  const options = useMemo(
    () =>
      incidents.items.map((i) => (
        <option key={i.id} value={i.id} lang={contentLang(i.title, lang)}>
          {i.code ? `${i.code} · ` : ''}
          {shown(i.title)}
        </option>
      )),
    [incidents.items, lang],
  );
  async function save(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await call('PATCH', `/evidence/${item.id}`, { incidentId: incidentId || null, ...(reason ? { reason } : {}) });
      onSaved();
    } catch (e) {
      setError(e);
    }
  }
  return (
    <form onSubmit={save} className="narrow">
      <h2>{t('item.incident')}</h2>
      <IncidentFinder caseId={item.caseId} onFound={incidents.add} onError={setError} />
      <Select label={t('item.linkIncident')} value={incidentId} onChange={(e) => setIncidentId(e.target.value)}>
        <option value="">{t('item.unlinked')}</option>
        {options}
      </Select>
      <Field label={t('item.reason')} value={reason} onChange={(e) => setReason(e.target.value)} />
      <ErrorNote error={error} />
      <button type="submit" className="primary">
        {t('common.save')}
      </button>
    </form>
  );
}

/**
 * The display names of a case's members (and the caller's own), to say who did what in a custody
 * history rather than only in which role; empty where the caller may not list the members.
 */
function useNamesInCase(caseId: string | null | undefined): ReadonlyMap<string, string> {
  const { me } = useSession();
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());
  useEffect(() => {
    if (!caseId) return;
    get<Member[]>(`/cases/${caseId}/members`).then(
      (members) => setNames(new Map(members.map((m) => [m.userId, m.displayName]))),
      () => setNames(new Map()),
    );
  }, [caseId]);
  return names.has(me.id) ? names : new Map([...names, [me.id, me.displayName]]);
}

export function CustodyHistory({ id, first }: { id: string; /** Its first page, when already read. */ first?: EvidenceCustody | null }) {
  const titleId = useId();
  const { t, instant } = useI18n();
  const [custody, setCustody] = useState<EvidenceCustody | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  // The item shown now: a page that arrives after another item was opened is dropped.
  const showing = useRef(id);
  showing.current = id;
  const more = (from: EvidenceCustody | null) => {
    const asked = id;
    setLoading(true);
    custodyPage(asked, from?.nextCursor ?? null)
      .then(
        (page) => showing.current === asked && setCustody(from ? { ...page, events: [...from.events, ...page.events] } : page),
        (e: unknown) => showing.current === asked && setError(e),
      )
      .finally(() => showing.current === asked && setLoading(false));
  };
  useEffect(() => {
    setCustody(first ?? null);
    setError(null);
    if (!first) more(null);
  }, [id, first]);
  const names = useNamesInCase(custody?.events.find((e) => e.event.caseId)?.event.caseId);
  return (
    <>
      <h2 id={titleId}>{t('item.custody')}</h2>
      <ErrorNote error={error} />
      {custody && (
        <table className="custody" aria-labelledby={titleId}>
          <thead>
            <tr>
              <th scope="col">{t('item.leaf')}</th>
              <th scope="col">{t('item.action')}</th>
              <th scope="col">{t('item.when')}</th>
              <th scope="col">{t('item.who')}</th>
            </tr>
          </thead>
          <tbody>
            {custody.events.map(({ event, leafIndex }) => (
              <tr key={leafIndex}>
                <td>{leafIndex}</td>
                <td>
                  <ActionName action={event.action} />
                  {event.reason ? ` — ${event.reason}` : ''}
                </td>
                <td>{instant(event.at)}</td>
                <td>
                  {names.has(event.actor.id) && `${shown(names.get(event.actor.id))} · `}
                  <RoleName role={event.actor.role} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {custody?.nextCursor && (
        <button type="button" disabled={loading} onClick={() => more(custody)}>
          {t('item.moreCustody')}
        </button>
      )}
    </>
  );
}

export function downloadReceipt(receipt: Receipt, name: string): void {
  saveBlob(new Blob([JSON.stringify(receipt, null, 2)], { type: 'application/json' }), `${name}.receipt.json`);
}
