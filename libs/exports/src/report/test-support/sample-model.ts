/** Report models for tests and for looking at a sample: ordinary, hostile and partner items. */
import { createHash } from 'node:crypto';
import type { ReportEvent, ReportEvents, ReportHeader, ReportItem, ReportModel } from '../model.js';

const hex = (seed: string, bytes = 32) => {
  let out = '';
  for (let i = 0; out.length < bytes * 2; i++) out += createHash('sha256').update(`${seed}:${i}`).digest('hex');
  return out.slice(0, bytes * 2);
};
const uuid = (seed: string) => {
  const h = hex(seed, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** Strings people could send us to break the page: markup, quotes, entities, direction overrides, NUL. */
export const HOSTILE = {
  script: '<script>alert("x")</script>',
  img: '"><img src=x onerror=alert(1)>',
  amp: 'Tom & Jerry &amp; "quotes" \'single\'',
  bidi: 'invoice\u202Egpj.exe',
  nul: 'nul\u0000byte',
  url: 'https://evil.example/track.png',
};
export const HOSTILE_ALL = Object.values(HOSTILE).join(' ');

export const IDS = {
  item1: uuid('item-1'),
  item2: uuid('item-2'),
  item3: uuid('item-3'),
  case: uuid('case'),
  export: uuid('export'),
  documenter: uuid('user-documenter'),
  investigator: uuid('user-investigator'),
};

export function header(options: {
  timestamp: boolean;
  purpose?: 'court' | 'partner';
  hostile?: boolean;
  evidence?: number;
  eventsWithheld?: number;
  eventsNamingWithheld?: number;
}): ReportHeader {
  const hostile = options.hostile ?? false;
  return {
    exportId: IDS.export,
    caseId: IDS.case,
    caseTitle: hostile ? `Обстріл ${HOSTILE_ALL}` : 'Обстріл житлового кварталу, Харків, 2026',
    purpose: options.purpose ?? 'court',
    includeNames: false,
    note: hostile ? `Для прокуратури ${HOSTILE.script}\nдругий рядок` : 'Для Офісу Генерального прокурора',
    baggingTime: '2026-11-25T09:30:00.000Z',
    createdBy: { id: IDS.investigator, displayName: hostile ? `Олена ${HOSTILE.img}` : 'Олена Коваленко' },
    organization: hostile ? `Truth & Justice ${HOSTILE.script}` : 'Харківська правозахисна група',
    selection: hostile ? `evidenceIds: 3 ${HOSTILE.amp}` : '3 докази, 1 інцидент / 3 evidence items, 1 incident',
    counts: { evidence: options.evidence ?? 3, incidents: 1, casualties: 2, damage: 1, remnants: 1, events: 18, eventsWithheld: options.eventsWithheld ?? 0, eventsNamingWithheld: options.eventsNamingWithheld ?? 0 },
    treeHead: {
      treeSize: 123456,
      rootHash: hex('root'),
      timestamp: '2026-11-25T09:29:58.412Z',
      keyId: hex('key'),
      signature: Buffer.from(hex('sig', 64), 'hex').toString('base64'),
    },
    timestamp: options.timestamp
      ? { genTime: '2026-11-25T09:29:59Z', authority: 'CN=Test TSA, O=Custodia Test, C=UA', serialNumber: '0x5f3a9c01', policy: '1.3.6.1.4.1.4146.2.3' }
      : null,
  };
}

function event(seed: string, leafIndex: number, action: string, extra: Partial<ReportEvent> = {}): ReportEvent {
  return {
    leafIndex,
    leafHash: hex(`leaf-${seed}-${leafIndex}`),
    at: new Date(Date.UTC(2026, 10, 24, 21, 4, 5, 123) + leafIndex * 61_000).toISOString(),
    action,
    actor: { id: IDS.documenter, role: 'documenter', displayName: 'Петро Шевчук' },
    reason: null,
    summary: null,
    included: true,
    ...extra,
  };
}

/** Events already in memory, as a report item carries them. */
export function listed(events: readonly ReportEvent[]): ReportEvents {
  return { count: events.length, read: () => events };
}

export function manyEvents(seed: string, count: number): ReportEvent[] {
  const actions = ['evidence.viewed', 'evidence.downloaded', 'evidence.annotated', 'evidence.fixity_checked'];
  return Array.from({ length: count }, (_, i) =>
    event(seed, 1000 + i, actions[i % actions.length], {
      actor: { id: IDS.investigator, role: 'investigator', displayName: 'Олена Коваленко' },
      summary: i % 4 === 1 ? 'range bytes=0-99' : null,
      reason: i % 7 === 0 ? 'Перевірка перед передачею до суду' : null,
    }),
  );
}

export function ordinaryItem(id = IDS.item1, seed = 'one'): ReportItem {
  const sha = hex(`file-${seed}`);
  return {
    evidenceId: id,
    title: 'Фото вирви біля школи №12',
    packedPath: `data/evidence/${id}/original/IMG_2041.jpg`,
    packedKind: 'original',
    originalFileName: 'IMG_2041.jpg',
    mediaType: 'image/jpeg',
    sizeBytes: 4_823_117,
    sha256: sha,
    packedSha512: hex(`sha512-${seed}`, 64),
    packedSha256: null,
    receivedAt: '2026-11-24T21:04:05.123Z',
    submittedBy: { id: IDS.documenter, displayName: 'Петро Шевчук' },
    sourceType: 'field_capture',
    clientSha256Matched: true,
    status: 'verified',
    declared: { capturedAt: '2026-11-24T18:40:00+02:00', location: { lat: 49.993512, lon: 36.230411, accuracyM: 12 } },
    extracted: {
      capturedAt: '2026-11-24T16:39:41.000Z',
      capturedAtOffset: '+02:00',
      location: { lat: 49.994021, lon: 36.231207, altitudeM: 152.4 },
      device: { make: 'Samsung', model: 'SM-A546B', software: 'A546BXXU5CXK1' },
      width: 4000,
      height: 3000,
      durationS: null,
    },
    flags: ['location_mismatch', 'near_duplicate'],
    incidentId: uuid('incident-1'),
    events: listed([
      event(seed, 41, 'evidence.submitted', { summary: 'image/jpeg, 4 823 117 bytes, device hash matched' }),
      event(seed, 42, 'evidence.metadata_extracted', { actor: { id: 'system', role: 'system', displayName: null } }),
      event(seed, 43, 'evidence.derivative_created', { actor: { id: 'system', role: 'system', displayName: null }, summary: 'preview 1600 px' }),
      event(seed, 57, 'evidence.viewed', { actor: { id: IDS.investigator, role: 'investigator', displayName: 'Олена Коваленко' } }),
      event(seed, 88, 'evidence.status_changed', {
        actor: { id: IDS.investigator, role: 'investigator', displayName: 'Олена Коваленко' },
        summary: 'status received -> verified',
        reason: 'Геолокацію підтверджено за супутниковими знімками',
      }),
      event(seed, 120, 'evidence.exported', { actor: { id: IDS.investigator, role: 'investigator', displayName: 'Олена Коваленко' } }),
    ]),
    proofStatus: 'verified',
  };
}

export function hostileItem(): ReportItem {
  return {
    evidenceId: IDS.item2,
    title: `${HOSTILE.script} ${HOSTILE.img}`,
    packedPath: `data/evidence/${IDS.item2}/original/${HOSTILE.img}`,
    packedKind: 'original',
    originalFileName: `${HOSTILE.bidi} ${HOSTILE.img} ${HOSTILE.nul}`,
    mediaType: `image/jpeg${HOSTILE.img}`,
    sizeBytes: 512,
    sha256: hex('file-two'),
    packedSha512: hex('sha512-two', 64),
    packedSha256: null,
    receivedAt: '2026-11-24T22:00:00Z',
    submittedBy: { id: IDS.documenter, displayName: `${HOSTILE.script}${HOSTILE.bidi}` },
    sourceType: `${HOSTILE.url}`,
    clientSha256Matched: false,
    status: `constructor${HOSTILE.amp}`,
    declared: { capturedAt: `yesterday ${HOSTILE.img}`, location: null },
    extracted: {
      capturedAt: `2026:11:24 ${HOSTILE.script}`,
      capturedAtOffset: null,
      location: null,
      device: { make: HOSTILE.img, model: HOSTILE.bidi, software: HOSTILE.amp },
      width: null,
      height: null,
      durationS: 3725.4,
      // Kept to two rows: this item must stay on one page.
      document: { pages: null, title: `${HOSTILE.script} ${HOSTILE.bidi}`, author: null, creator: HOSTILE.url, createdAt: null, createdAtOffset: null, modifiedAt: null, modifiedAtOffset: null },
    },
    flags: ['exact_duplicate', `<b>${HOSTILE.url}</b>`, '__proto__'],
    incidentId: null,
    events: listed([
      event('two', 60, 'evidence.submitted', { reason: `${HOSTILE.script}\n${HOSTILE.amp}`, summary: HOSTILE.img }),
      event('two', 61, 'constructor', {
        actor: { id: `${HOSTILE.img}`, role: '__proto__', displayName: `${HOSTILE.bidi} ${HOSTILE.nul}` },
        reason: `${HOSTILE.url} ${HOSTILE.nul}`,
        included: false,
      }),
      event('two', 62, `<img src=${HOSTILE.url}>`, { at: `not a time ${HOSTILE.script}` }),
    ]),
    proofStatus: 'failed',
    proofProblem: `leaf 61 not included ${HOSTILE.script}`,
  };
}

export function partnerItem(): ReportItem {
  return {
    evidenceId: IDS.item3,
    title: 'Відео свідка',
    packedPath: null,
    packedKind: null,
    originalFileName: 'VID_0001.mp4',
    mediaType: 'video/mp4',
    sizeBytes: 5_368_709_120,
    sha256: hex('file-three'),
    packedSha512: null,
    packedSha256: null,
    receivedAt: '2026-06-30T23:59:59Z',
    submittedBy: { id: uuid('witness'), displayName: null },
    sourceType: 'witness_submission',
    clientSha256Matched: null,
    status: 'under_review',
    declared: { capturedAt: null, location: { lat: 50.4501234, lon: 30.5234567, accuracyM: null } },
    extracted: null,
    flags: ['no_embedded_metadata'],
    incidentId: uuid('incident-1'),
    events: listed([event('three', 70, 'evidence.submitted'), event('three', 71, 'evidence.viewed')]),
    proofStatus: 'verified',
  };
}

/** A model whose items are produced on demand, like the export job's. */
export function model(h: ReportHeader, makeItems: () => ReportItem[] | Iterable<ReportItem>): ReportModel {
  return {
    header: h,
    items: () =>
      (async function* () {
        yield* makeItems();
      })(),
  };
}

/** `count` ordinary items generated lazily, each with `events` custody events. */
export function generatedModel(count: number, events = 5): ReportModel {
  return {
    header: header({ timestamp: true, evidence: count }),
    items: () =>
      (async function* () {
        for (let i = 0; i < count; i++) {
          const item = ordinaryItem(uuid(`gen-${i}`), `gen-${i}`);
          item.events = listed(manyEvents(`gen-${i}`, events));
          yield item;
        }
      })(),
  };
}

export const sampleItems = () => [ordinaryItem(), hostileItem(), partnerItem()];
