/**
 * What each page of the report says, decided once for both renderers: the HTML and the PDF turn
 * the same sections, rows and spans into markup or drawing, so they cannot drift apart.
 * Untrusted text is already made visible here (`visibleText`); escaping is the HTML renderer's job.
 */
import {
  ACTION_LABELS,
  type Bilingual,
  FLAG_LABELS,
  LABELS,
  PACKED_KIND_LABELS,
  PURPOSE_LABELS,
  ROLE_LABELS,
  SOURCE_TYPE_LABELS,
  STATUS_LABELS,
  labelFor,
} from './labels.js';
import { visibleText } from '#custodia/text';
import { formatBytes, formatDuration, formatInstant, formatPosition, groupDigits, truncateText } from './format.js';
import type { ReportAttachment, ReportEvent, ReportHeader, ReportItem } from './model.js';

export type Tone = 'ok' | 'warn' | 'muted';

/** A run of text with one style. */
export interface Span {
  text: string;
  /** Monospaced (hashes, ids, paths): may break anywhere. */
  mono?: boolean;
  /** English text (the HTML marks it lang="en"). */
  en?: boolean;
  tone?: Tone;
  strong?: boolean;
  /** Came from a person or a file, not from us (the HTML isolates its direction). */
  untrusted?: boolean;
}

/** One line of a value. */
export type Line = Span[];

export interface Row {
  label: Bilingual;
  lines: Line[];
}

export interface Section {
  title: Bilingual;
  rows: Row[];
}

export interface ViewOptions {
  /** Longest untrusted text shown (the PDF caps so one value cannot outgrow a page). */
  maxChars: number;
}

export interface EventView {
  leafIndex: string;
  time: Line[];
  action: Line[];
  actor: Line[];
  details: Line[];
  included: boolean;
  leafHash: string;
  actorId: string;
}

const sp = (text: string, style: Omit<Span, 'text'> = {}): Span => ({ text, ...style });

/** "uk / en" as spans, the English part marked. */
export function biSpans(label: Bilingual, style: Omit<Span, 'text' | 'en'> = {}): Line {
  return [sp(label.uk, style), sp(' / ', style), sp(label.en, { ...style, en: true })];
}

/** A coded value: its label in both languages, or the code itself when unknown. */
function codeLine(table: Readonly<Record<string, Bilingual>>, code: string, opts: ViewOptions, style: Omit<Span, 'text'> = {}): Line {
  const label = labelFor(table, code);
  if (label) return biSpans(label, style);
  return [sp(untrusted(code, opts), { ...style, untrusted: true, mono: true })];
}

function untrusted(value: string, opts: ViewOptions, multiline = false): string {
  return truncateText(visibleText(value, multiline), opts.maxChars);
}

function textLines(value: string, opts: ViewOptions, style: Omit<Span, 'text'> = {}): Line[] {
  return untrusted(value, opts, true)
    .split('\n')
    .map((line) => [sp(line, { ...style, untrusted: true })]);
}

/** An instant in UTC, with Kyiv local time on a second line; anything else as it is. */
export function timeLines(value: string, opts: ViewOptions): Line[] {
  const t = formatInstant(value);
  if (!t) return [[sp(untrusted(value, opts), { untrusted: true })]];
  return [[sp(t.utc)], [sp(`${LABELS.kyiv.uk} / `, { tone: 'muted' }), sp(LABELS.kyiv.en, { en: true, tone: 'muted' }), sp(`: ${t.kyiv}`, { tone: 'muted' })]];
}

/** The events table's compact form: UTC, then Kyiv wall-clock time and offset (the column heading names both). */
function eventTimeLines(value: string, opts: ViewOptions): Line[] {
  const t = formatInstant(value);
  if (!t) return [[sp(untrusted(value, opts), { untrusted: true })]];
  return [[sp(t.utc, { mono: true })], [sp(t.kyiv.replace(' UTC', ' '), { mono: true, tone: 'muted' })]];
}

const noneLine = (): Line => biSpans(LABELS.none, { tone: 'muted' });

/** The header fields' own names: the same in both languages. */
const RECIPIENT_KINDS = { to: 'To:', cc: 'Cc:', bcc: 'Bcc:' } as const;

/** A file an e-mail or archive carries: its name (none in a partner copy), declared type, size, an archive's time of its last change, a mailbox message's sender and date, and whether it is shown inline; then its SHA-256. */
function attachmentLines(file: ReportAttachment, opts: ViewOptions): Line[] {
  const facts = [file.mediaType, formatBytes(file.sizeBytes), file.modifiedAt, file.from, file.sentAt].filter((fact): fact is string => !!fact).join(', ');
  return [
    [
      ...(file.name ? [sp(untrusted(file.name, opts), { untrusted: true }), sp(' ')] : []),
      sp(file.name ? `(${untrusted(facts, opts)})` : untrusted(facts, opts), { tone: 'muted' }),
      ...(file.inline ? [sp(' '), ...biSpans(LABELS.mailInline, { tone: 'muted' })] : []),
    ],
    hashLine(file.sha256, opts),
  ];
}

function hashLine(hex: string, opts: ViewOptions): Line {
  return [sp(untrusted(hex, opts), { mono: true })];
}

/** The first page: the package and the proof it rests on. */
export function headerSections(h: ReportHeader, opts: ViewOptions): Section[] {
  const partner = h.purpose === 'partner';
  const count = (label: Bilingual, n: number): Line => [...biSpans(label), sp(`: ${groupDigits(n)}`)];
  const pkg: Row[] = [
    { label: LABELS.exportId, lines: [hashLine(h.exportId, opts)] },
    { label: LABELS.caseTitle, lines: [...textLines(h.caseTitle, opts, { strong: true }), [sp(untrusted(h.caseId, opts), { mono: true })]] },
    { label: LABELS.purpose, lines: [codeLine(PURPOSE_LABELS, h.purpose, opts, partner ? { tone: 'warn', strong: true } : {})] },
    { label: LABELS.selection, lines: textLines(h.selection, opts) },
    {
      label: LABELS.contents,
      lines: [
        count(LABELS.countEvidence, h.counts.evidence),
        count(LABELS.countIncidents, h.counts.incidents),
        count(LABELS.countCasualties, h.counts.casualties),
        count(LABELS.countDamage, h.counts.damage),
        count(LABELS.countRemnants, h.counts.remnants),
        count(LABELS.countEvents, h.counts.events),
        ...(h.counts.eventsWithheld > 0 ? [count(LABELS.countEventsWithheld, h.counts.eventsWithheld)] : []),
        ...(h.counts.eventsNamingWithheld > 0 ? [count(LABELS.countEventsNamingWithheld, h.counts.eventsNamingWithheld)] : []),
      ],
    },
    { label: LABELS.organization, lines: textLines(h.organization, opts) },
    {
      label: LABELS.createdBy,
      lines: [...textLines(h.createdBy.displayName, opts), [sp(untrusted(h.createdBy.id, opts), { mono: true, tone: 'muted' })]],
    },
    { label: LABELS.baggingTime, lines: timeLines(h.baggingTime, opts) },
  ];
  if (!partner) pkg.push({ label: LABELS.namesIncluded, lines: [biSpans(h.includeNames ? LABELS.yes : LABELS.no)] });
  if (h.note) pkg.push({ label: LABELS.note, lines: textLines(h.note, opts) });

  const head = h.treeHead;
  const tree: Row[] = [
    { label: LABELS.treeSize, lines: [[sp(groupDigits(head.treeSize))]] },
    { label: LABELS.rootHash, lines: [hashLine(head.rootHash, opts)] },
    { label: LABELS.headTimestamp, lines: timeLines(head.timestamp, opts) },
    { label: LABELS.keyId, lines: [hashLine(head.keyId, opts)] },
    { label: LABELS.signature, lines: [hashLine(head.signature, opts)] },
  ];

  const ts = h.timestamp;
  const tsa: Row[] = ts
    ? [
        { label: LABELS.tsaGenTime, lines: timeLines(ts.genTime, opts) },
        { label: LABELS.tsaAuthority, lines: ts.authority ? textLines(ts.authority, opts) : [noneLine()] },
        { label: LABELS.tsaSerial, lines: [hashLine(ts.serialNumber, opts)] },
        { label: LABELS.tsaPolicy, lines: [hashLine(ts.policy, opts)] },
      ]
    : [{ label: LABELS.tsa, lines: [biSpans(LABELS.tsaNone, { tone: 'muted' })] }];

  return [
    { title: LABELS.package, rows: pkg },
    { title: LABELS.treeHead, rows: tree },
    { title: LABELS.tsa, rows: tsa },
  ];
}

/** Media types whose document facts are an e-mail's: subject, sender, mailer, Date. */
const MAIL_TYPES = new Set(['message/rfc822', 'application/vnd.ms-outlook']);

/** One evidence item's facts, before its custody events. */
export function itemSections(item: ReportItem, header: ReportHeader, opts: ViewOptions): Section[] {
  const partner = header.purpose === 'partner';

  const submitter = item.submittedBy as ReportItem['submittedBy'] | null;
  const name = partner ? null : (submitter?.displayName ?? null);
  const submittedLines: Line[] = name ? textLines(name, opts) : [biSpans(LABELS.nameWithheld, { tone: 'muted' })];
  if (submitter) submittedLines.push([sp(`ID: ${untrusted(submitter.id, opts)}`, { mono: true, tone: 'muted' })]);

  const deviceHash: Line =
    item.clientSha256Matched === true
      ? [sp('✓ ', { tone: 'ok' }), ...biSpans(LABELS.deviceHashMatched, { tone: 'ok' })]
      : item.clientSha256Matched === false
        ? [sp('✗ ', { tone: 'warn' }), ...biSpans(LABELS.deviceHashMismatch, { tone: 'warn', strong: true })]
        : biSpans(LABELS.deviceHashNone, { tone: 'muted' });
  const receipt: Row[] = [
    { label: LABELS.received, lines: timeLines(item.receivedAt, opts) },
    { label: LABELS.submittedBy, lines: submittedLines },
    { label: LABELS.sourceType, lines: [codeLine(SOURCE_TYPE_LABELS, item.sourceType, opts)] },
    { label: LABELS.status, lines: [codeLine(STATUS_LABELS, item.status, opts)] },
    { label: LABELS.incident, lines: [item.incidentId ? hashLine(item.incidentId, opts) : noneLine()] },
    {
      label: LABELS.originalFileName,
      // A partner is told the name was withheld, not that there was none (the packed preview's path is below).
      lines: [
        partner ? biSpans(LABELS.withheldFromCopy, { tone: 'muted' })
        : item.originalFileName !== null ? [sp(untrusted(item.originalFileName, opts), { untrusted: true })]
        : noneLine(),
      ],
    },
    { label: LABELS.mediaType, lines: [[sp(untrusted(item.mediaType, opts), { mono: true, untrusted: true })]] },
    { label: LABELS.size, lines: [[sp(formatBytes(item.sizeBytes))]] },
    { label: LABELS.sha256Original, lines: [hashLine(item.sha256, opts)] },
    {
      label: LABELS.packedFile,
      lines:
        item.packedPath !== null
          ? [[sp(untrusted(item.packedPath, opts), { mono: true, untrusted: true })], ...(item.packedKind ? [codeLine(PACKED_KIND_LABELS, item.packedKind, opts, { tone: 'muted' })] : [])]
          : [biSpans(LABELS.notPacked, { tone: 'muted' })],
    },
  ];
  if (item.packedSha512 !== null) receipt.push({ label: LABELS.packedSha512, lines: [hashLine(item.packedSha512, opts)] });
  if (item.packedSha256 !== null) receipt.push({ label: LABELS.packedSha256, lines: [hashLine(item.packedSha256, opts)] });
  receipt.push({ label: LABELS.deviceHash, lines: [deviceHash] });

  const position = (lat: number, lon: number, extra: Span[]): Line => [sp(formatPosition(lat, lon, partner)), ...extra];
  const declaredLocation = item.declared.location;
  const place: Row[] = [
    { label: LABELS.capturedDeclared, lines: item.declared.capturedAt ? timeLines(item.declared.capturedAt, opts) : [noneLine()] },
    {
      label: LABELS.locationDeclared,
      lines: declaredLocation
        ? [
            position(
              declaredLocation.lat,
              declaredLocation.lon,
              declaredLocation.accuracyM !== null && !partner
                ? [sp(` (${LABELS.accuracy.uk} / `, { tone: 'muted' }), sp(LABELS.accuracy.en, { en: true, tone: 'muted' }), sp(` ±${groupDigits(declaredLocation.accuracyM)} m)`, { tone: 'muted' })]
                : [],
            ),
          ]
        : [noneLine()],
    },
  ];

  const x = item.extracted;
  const inFile: Row[] = [];
  // A time as the file gives it: an instant with its offset, or a clock reading with no zone.
  const fileTime = (at: string, offset: string | null): Line[] =>
    offset
      ? [...timeLines(at, opts), [sp(`${LABELS.offset.uk} / `, { tone: 'muted' }), sp(LABELS.offset.en, { en: true, tone: 'muted' }), sp(`: ${untrusted(offset, opts)}`, { tone: 'muted' })]]
      : [[sp(untrusted(at, opts), { untrusted: true })], biSpans(LABELS.cameraClock, { tone: 'muted' })];
  if (x) {
    if (x.capturedAt) inFile.push({ label: LABELS.capturedInFile, lines: fileTime(x.capturedAt, x.capturedAtOffset) });
    if (x.location) {
      const alt = x.location.altitudeM;
      inFile.push({
        label: LABELS.locationInFile,
        lines: [
          position(
            x.location.lat,
            x.location.lon,
            typeof alt === 'number' && !partner
              ? [sp(` (${LABELS.altitude.uk} / `, { tone: 'muted' }), sp(LABELS.altitude.en, { en: true, tone: 'muted' }), sp(` ${alt} m)`, { tone: 'muted' })]
              : [],
          ),
        ],
      });
    }
    // A partner copy names no device, whatever the model holds: it singles out the documenter's phone or drone.
    if (x.device && !partner) {
      const makeModel = [x.device.make, x.device.model].filter((v): v is string => !!v).join(' ');
      const lines: Line[] = [];
      if (makeModel) lines.push([sp(untrusted(makeModel, opts), { untrusted: true })]);
      if (x.device.software) lines.push([sp(untrusted(x.device.software, opts), { untrusted: true, tone: 'muted' })]);
      if (lines.length) inFile.push({ label: LABELS.device, lines });
    }
    if (typeof x.width === 'number' && typeof x.height === 'number') {
      inFile.push({ label: LABELS.dimensions, lines: [[sp(`${groupDigits(x.width)} × ${groupDigits(x.height)} px`)]] });
    }
    if (typeof x.durationS === 'number') inFile.push({ label: LABELS.duration, lines: [[sp(formatDuration(x.durationS))]] });
    const d = x.document;
    if (d) {
      if (typeof d.pages === 'number') inFile.push({ label: LABELS.docPages, lines: [[sp(groupDigits(d.pages))]] });
      // An e-mail's subject, sender, mailer and Date fill the same fields: they are named as such.
      const mail = MAIL_TYPES.has(item.mediaType);
      for (const [label, text] of [
        [mail ? LABELS.mailSubject : LABELS.docTitle, d.title],
        [LABELS.docSavedFrom, d.savedFrom ?? null],
        [mail ? LABELS.mailFrom : LABELS.docAuthor, d.author],
        [LABELS.docLastModifiedBy, d.lastModifiedBy ?? null],
        [mail ? LABELS.mailer : LABELS.docApplication, d.creator],
      ] as const) {
        if (text) inFile.push({ label, lines: textLines(text, opts) });
      }
      if (d.createdAt) inFile.push({ label: mail ? LABELS.mailSent : LABELS.docCreated, lines: fileTime(d.createdAt, d.createdAtOffset) });
      if (d.modifiedAt) inFile.push({ label: LABELS.docModified, lines: fileTime(d.modifiedAt, d.modifiedAtOffset) });
      // A partner copy has none (null): they are people the sender wrote to.
      const recipients = d.recipients ? (['to', 'cc', 'bcc'] as const).flatMap((kind) => d.recipients![kind].map((address) => ({ kind, address }))) : [];
      if (recipients.length) {
        inFile.push({ label: LABELS.mailRecipients, lines: recipients.map(({ kind, address }) => [sp(`${RECIPIENT_KINDS[kind]} `, { tone: 'muted' }), sp(untrusted(address, opts), { untrusted: true })]) });
      }
      if (d.attachments?.length) {
        const label = mail ? LABELS.mailAttachments : item.mediaType === 'application/mbox' ? LABELS.mailboxMessages : LABELS.archiveFiles;
        inFile.push({ label, lines: d.attachments.flatMap((file) => attachmentLines(file, opts)) });
      }
    }
  }
  if (!inFile.length) inFile.push({ label: LABELS.extracted, lines: [biSpans(LABELS.extractedNone, { tone: 'muted' })] });
  place.push(...inFile);

  const assessment: Row[] = [
    {
      label: LABELS.flags,
      lines: item.flags.length
        ? item.flags.map((flag) => {
            const label = labelFor(FLAG_LABELS, flag);
            return label ? [sp('⚑ ', { tone: 'warn' }), ...biSpans(label, { tone: 'warn' })] : [sp(untrusted(flag, opts), { mono: true, untrusted: true, tone: 'warn' })];
          })
        : [noneLine()],
    },
    {
      label: LABELS.proofStatus,
      lines:
        item.proofStatus === 'verified'
          ? [[sp('✓ ', { tone: 'ok', strong: true }), ...biSpans(LABELS.proofVerified, { tone: 'ok' })]]
          : [[sp('✗ ', { tone: 'warn', strong: true }), ...biSpans(LABELS.proofFailed, { tone: 'warn', strong: true })], ...(item.proofProblem ? textLines(item.proofProblem, opts, { tone: 'warn' }) : [])],
    },
  ];

  return [
    { title: LABELS.receiptAndFile, rows: receipt },
    { title: LABELS.timeAndPlace, rows: place },
    { title: LABELS.flagsAndProof, rows: assessment },
  ];
}

/** One custody event as a table row. */
export function eventView(e: ReportEvent, header: ReportHeader, opts: ViewOptions): EventView {
  const partner = header.purpose === 'partner';
  const actionLabel = labelFor(ACTION_LABELS, e.action);
  const action: Line[] = actionLabel
    ? [[sp(actionLabel.uk, { strong: true }), sp(' / '), sp(actionLabel.en, { en: true })], [sp(untrusted(e.action, opts), { mono: true, tone: 'muted' })]]
    : [[sp(untrusted(e.action, opts), { mono: true, untrusted: true, strong: true })]];
  const role = labelFor(ROLE_LABELS, e.actor.role);
  const actor: Line[] = [];
  if (e.actor.displayName && !partner) actor.push(...textLines(e.actor.displayName, opts));
  actor.push(role ? biSpans(role, { tone: 'muted' }) : [sp(untrusted(e.actor.role, opts), { mono: true, untrusted: true, tone: 'muted' })]);
  const details: Line[] = [];
  if (e.summary) details.push(...textLines(e.summary, opts));
  if (e.reason) {
    const reason = textLines(e.reason, opts);
    reason[0] = [sp(`${LABELS.reason.uk} / `, { tone: 'muted' }), sp(LABELS.reason.en, { en: true, tone: 'muted' }), sp(': ', { tone: 'muted' }), ...reason[0]];
    details.push(...reason);
  }
  return {
    leafIndex: String(e.leafIndex),
    time: eventTimeLines(e.at, opts),
    action,
    actor,
    details,
    included: e.included,
    leafHash: untrusted(e.leafHash, opts),
    actorId: untrusted(e.actor.id, opts),
  };
}

/** "Доказ 2 з 3 / Evidence item 2 of 3". */
export function itemHeading(index: number, total: number): Bilingual {
  const n = groupDigits(index);
  const t = groupDigits(total);
  return { uk: `${LABELS.evidenceItem.uk} ${n} ${LABELS.of.uk} ${t}`, en: `${LABELS.evidenceItem.en} ${n} ${LABELS.of.en} ${t}` };
}
