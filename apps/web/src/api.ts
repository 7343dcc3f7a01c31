/**
 * The console's only way to the archive: the public HTTP API under /api/v1, with the bearer
 * token of the signed-in user (kept in sessionStorage: gone when the tab closes). Errors are the
 * API's problem+json, kept whole so a form can show each field's message beside the field.
 */

import { visibleText } from '#custodia/text';

export const API = '/api/v1';
const TOKEN_KEY = 'custodia.token';

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string | undefined,
    readonly errors: FieldError[],
    /** Seconds to wait before trying again (Retry-After), where the archive said. */
    readonly retryAfter: number | null = null,
  ) {
    super(detail ?? title);
  }

  /** The message for one field (`location.lat`, `casualties[0].harmStatus`...), if any. */
  forField(field: string): string | undefined {
    return this.errors.find((e) => e.field === field || e.field === `body.${field}`)?.message;
  }
}

/** Work waiting for a token (an upload the archive refused when the session ended). */
const waitingForToken: (() => void)[] = [];

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string | null) => {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
    if (value) for (const resume of waitingForToken.splice(0)) resume();
    // The service worker that adds this tab's token to its video requests (public/sw.js) holds
    // the token it was given last: it follows a sign-out, an ended session, another sign-in.
    if (typeof navigator !== 'undefined') navigator.serviceWorker?.controller?.postMessage({ token: value });
  },
};

/** A request that got no answer (no network, the archive down): nothing was done, it may be tried again. */
export class OfflineError extends Error {}

/** fetch, with a request that got no answer thrown as OfflineError. */
export async function send(input: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(input, init);
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new OfflineError((error as Error).message);
  }
}

let onUnauthorized: () => void = () => undefined;
/** What to do when the token stops working (expired, revoked): back to the sign-in screen. */
export function whenUnauthorized(callback: () => void): void {
  onUnauthorized = callback;
}

/**
 * The archive refused the token in the middle of work that can wait (an upload under way): the
 * session ends as for any refusal (the sign-in), and this resolves once someone signs in again.
 */
export function sessionEndedDuring(): Promise<void> {
  const signedIn = new Promise<void>((resolve) => waitingForToken.push(resolve));
  onUnauthorized();
  return signedIn;
}

export function authHeaders(): Record<string, string> {
  const value = token.get();
  return value ? { Authorization: `Bearer ${value}` } : {};
}

async function problemOf(res: Response): Promise<ApiError> {
  let body: { title?: string; detail?: string; errors?: FieldError[] } = {};
  try {
    body = await res.json();
  } catch {
    // Not problem+json (a proxy's page): the status says enough.
  }
  const retryAfter = Number(res.headers.get('retry-after'));
  return new ApiError(res.status, body.title ?? res.statusText, body.detail, body.errors ?? [], Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
}

/** A read was refused for want of a session (the screen showing it has nothing to show). */
let readRefused = false;
/** Whether a read was refused since this was last asked: a screen left showing that refusal is made again once signed in. */
export function takeReadRefused(): boolean {
  const refused = readRefused;
  readRefused = false;
  return refused;
}

/** Sends a request; JSON in and out, problem+json thrown as ApiError. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const credentials = authHeaders();
  const res = await send(API + path, {
    method,
    headers: { ...credentials, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && path !== '/auth/login') {
    // A read that found the session ended (not one sent after, without a token, while it was).
    if (method === 'GET' && credentials.Authorization) readRefused = true;
    onUnauthorized();
  }
  if (!res.ok) throw await problemOf(res);
  if (res.status === 204 || res.status === 202 && res.headers.get('content-length') === '0') return undefined as T;
  return (await res.json()) as T;
}

export const get = <T>(path: string) => call<T>('GET', path);

/** Bytes of an authenticated route (thumbnails, packages), as a blob. */
export async function fetchBlob(path: string): Promise<Blob> {
  const res = await send(API + path, { headers: authHeaders() });
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw await problemOf(res);
  return res.blob();
}

/**
 * Saves an original or a package straight to disk, under the name the archive gives it: the
 * browser follows a one-time link (POST /auth/download-links), so a package of gigabytes never
 * sits in the page's memory. The download is recorded as the signed-in user's, as with the token.
 */
export async function saveDownload(path: string): Promise<void> {
  const { url } = await call<{ url: string }>('POST', '/auth/download-links', { path });
  const a = document.createElement('a');
  a.href = url;
  a.download = '';
  document.body.append(a);
  a.click();
  a.remove();
}

/** Saves a blob under a file name through a temporary link (no popup, no other host). */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export type Role = 'admin' | 'investigator' | 'documenter' | 'auditor';
export type Language = 'uk' | 'en';

export interface Me {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  mustChangePassword: boolean;
  language: Language | null;
}

export interface CaseView {
  id: string;
  title: string;
  description: string | null;
  createdAt: string;
  createdBy: string;
}

export interface Member {
  userId: string;
  email?: string;
  displayName: string;
  role: Role;
  addedAt: string;
}

export interface TreeHead {
  treeSize: number;
  rootHash: string;
  timestamp: string;
  keyId: string;
  signature: string;
}

export interface CustodyEvent {
  index: number;
  action: string;
  at: string;
  actor: { id: string; role: string };
  caseId: string | null;
  subject: { type: string; id: string; sha256?: string };
  details?: Record<string, unknown>;
  reason?: string;
}

export interface Receipt {
  event: CustodyEvent;
  leafHash: string;
  leafIndex: number;
  treeHead: TreeHead;
  inclusionProof: string[];
}

export type Flag = 'exact_duplicate' | 'near_duplicate' | 'location_mismatch' | 'time_mismatch' | 'no_embedded_metadata' | 'type_mismatch';

export interface GeoPoint {
  lat: number;
  lon: number;
  accuracyM?: number | null;
  altitudeM?: number | null;
}

/** How an item is named where it is listed: its title, else the file name it came with, else the start of its id (hidden characters made visible). */
export const itemName = (item: Pick<Evidence, 'id' | 'title' | 'originalFileName'>): string => visibleText(item.title ?? item.originalFileName ?? item.id.slice(0, 8));

/** The name of the item `id` among `items` (the start of its id when it is not among them). */
export const evidenceName = (items: readonly Evidence[], id: string): string => {
  const item = items.find((i) => i.id === id);
  return item ? itemName(item) : id.slice(0, 8);
};

/** A file an e-mail carries, as intake read it. */
export interface MessageFile {
  name: string | null;
  mediaType: string | null;
  sizeBytes: number;
  sha256: string;
  inline: boolean;
  /** Archives only: when the archive says the file was last changed (an instant, or a zone-less local time). */
  modifiedAt?: string;
  /** Mailboxes only: the message's sender and Date. */
  from?: string | null;
  sentAt?: string | null;
}

export interface Evidence {
  id: string;
  caseId: string;
  sha256: string;
  sizeBytes: number;
  mediaType: string;
  declaredMediaType: string | null;
  originalFileName: string | null;
  submittedBy: { id: string; displayName: string };
  receivedAt: string;
  sourceType: string | null;
  sourceUrl: string | null;
  title: string | null;
  description: string | null;
  tags: string[];
  incidentId: string | null;
  status: string;
  declared: { capturedAt: string | null; capturedAtOffset?: string | null; location: GeoPoint | null };
  extracted: {
    capturedAt: string | null;
    capturedAtOffset: string | null;
    location: GeoPoint | null;
    device: { make: string | null; model: string | null; software: string | null } | null;
    width: number | null;
    height: number | null;
    durationS: number | null;
    /** A PDF's or an office document's own account of itself (its values as the file gives them). */
    document?: {
      pages: number | null;
      title: string | null;
      author: string | null;
      lastModifiedBy?: string | null;
      savedFrom?: string | null;
      /** An e-mail's. */
      recipients?: { to: string[]; cc: string[]; bcc: string[] } | null;
      attachments?: MessageFile[];
      creator: string | null;
      createdAt: string | null;
      modifiedAt: string | null;
    };
  } | null;
  flags: Flag[];
  nearDuplicates: { id: string; distance: number }[];
  duplicateOf: string | null;
  derivatives: { thumbnail: string | null; preview: string | null } | null;
  receipt?: Receipt | null;
  /** With a submission's answer: where its receipt is (GET), when `receipt` is null because the log has not caught up yet. */
  receiptUrl?: string;
  timeApproximate?: boolean;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * A listing's first `most` items, page after page of 200 (the API's largest), and whether it
 * holds more: for a view that shows a whole case at once (the map), not only its first page.
 */
export async function firstItems<T>(path: string, most: number): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: String(Math.min(200, most - items.length)), ...(cursor ? { cursor } : {}) });
    const page: Page<T> = await get<Page<T>>(`${path}${path.includes('?') ? '&' : '?'}${query}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null && items.length < most);
  return { items, more: cursor !== null };
}

/** A case's incidents to choose from (an item's incident, an export's selection): the 2,000 that started last. */
export const incidentChoices = (caseId: string): Promise<Incident[]> => firstItems<Incident>(`/cases/${caseId}/incidents`, 2000).then((found) => found.items);

export interface VocabularyTerm {
  code: string;
  parentCode: string | null;
  labels: Record<string, string>;
  deprecated: boolean;
}

export interface Vocabulary {
  vocabulary: string;
  terms: VocabularyTerm[];
}

export interface ExportJob {
  id: string;
  caseId: string;
  purpose: string;
  status: 'pending' | 'running' | 'ready' | 'failed';
  progress: { items: number; itemsDone: number; bytes: number; bytesDone: number };
  sha256: string | null;
  sizeBytes: number | null;
  createdAt: string;
  error?: string | null;
  selection?: { evidenceIds?: string[]; incidentIds?: string[]; from?: string; to?: string };
  includeNames?: boolean;
}

export interface Incident {
  id: string;
  caseId: string;
  code: string | null;
  title: string;
  description: string | null;
  type: string;
  startAt: string;
  endAt: string | null;
  datePrecision: string | null;
  location: { lat: number; lon: number } | null;
  geoPrecision: string | null;
  placeName: string | null;
  admin1: string | null;
  admin2: string | null;
  admin3: string | null;
  verificationStatus: string;
  grade: string | null;
  weapons: { weaponType: string; identificationBasis: string | null; confidence: string | null }[];
  attributions: { actor: string; basis: string | null; confidence: string | null }[];
  /** From the casualty records when any exist (figuresSource), else as entered. */
  killed: CountRange | null;
  injured: CountRange | null;
  civilianKilled: CountRange | null;
  figuresSource: 'casualty_records' | 'entered';
  /** The figures as entered, whatever is shown. */
  entered: { killed: CountRange | null; injured: CountRange | null; civilianKilled: CountRange | null; breakdown: Incident['breakdown'] };
  /** OHCHR's breakdown of the people harmed by sex and age (from the casualty records when any exist, as figuresSource says). */
  breakdown: { killed: HarmBreakdown | null; injured: HarmBreakdown | null };
  relatedIncidents: { incidentId: string; relation: string }[];
  evidence: { evidenceId: string; role: string }[];
  unsourced?: boolean;
}

/** A casualty record (data-model.md): one person, or a group when people are not identified. */
export interface Casualty {
  id: string;
  incidentId: string;
  countingUnit: 'individual' | 'group';
  groupSize: CountRange | null;
  harmStatus: string;
  sex: string | null;
  age: number | null;
  ageRange: CountRange | null;
  ageGroup: string | null;
  civilianStatus: string | null;
  civilianStatusBasis: string | null;
  specialCategories: string[];
  dateOfHarm: string | null;
  /** date_precision of dateOfHarm (exact, approximate, day, month, year). */
  dateOfHarmPrecision: string | null;
  dateOfDeath: string | null;
  dateOfDeathPrecision: string | null;
  causeOfDeath: string | null;
  identificationStatus: string;
  status: string;
  sources: SourceLink[];
  consentToPublishName: boolean;
  unsourced: boolean;
  /** Only where the viewer may see names (investigators of the case). */
  fullName?: string | null;
  nameVariants?: string[];
}

export const BREAKDOWN_KEYS = ['men', 'women', 'boys', 'girls', 'childrenUnknownSex', 'adultsUnknownSex'] as const;
export type HarmBreakdown = Record<(typeof BREAKDOWN_KEYS)[number], number | null>;

export interface CountRange {
  min: number;
  max: number;
}

/** A submission's receipt, or how long to wait before asking again (202 pending, Retry-After). */
export type ReceiptAnswer = { receipt: Receipt } | { retryAfterS: number };

/** The receipt route of an item, which a submission also names as its receiptUrl. */
export const receiptPath = (evidenceId: string) => `${API}/evidence/${evidenceId}/receipt`;

/** GET a receiptUrl (`/api/v1/evidence/:id/receipt`, this origin only): the receipt once its event is in the log. */
export async function fetchReceipt(url: string): Promise<ReceiptAnswer> {
  if (!url.startsWith(`${API}/`)) throw new Error(`not an address of this archive: ${url}`);
  const res = await send(url, { headers: authHeaders() });
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw await problemOf(res);
  if (res.status === 202) {
    const seconds = Number(res.headers.get('Retry-After'));
    return { retryAfterS: Number.isFinite(seconds) && seconds > 0 ? seconds : 1 };
  }
  return { receipt: (await res.json()) as Receipt };
}

export interface SourceLink {
  evidenceId: string;
  reliability: string | null;
}

export interface Damage {
  id: string;
  incidentId: string;
  caseId: string;
  objectName: string | null;
  address: string | null;
  location: GeoPoint | null;
  objectCategory: string | null;
  ihlProtection: string[];
  damageLevel: string | null;
  assessmentMethod: string | null;
  assessedAt: string | null;
  imageryDate: string | null;
  fieldValidated: boolean;
  functionality: string | null;
  serviceImpact: { description: string | null; counts: Record<string, number> } | null;
  occupancyAtTime: string | null;
  militaryUseIndicators: string | null;
  status: string;
  sources: SourceLink[];
  unsourced: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A finding about a remnant's component, with what it rests on and how sure it is. */
export interface Finding {
  basis: string | null;
  basisNote: string | null;
  confidence: string | null;
}

export interface CustodyPeriod {
  transferId: string;
  holder: string;
  place: string;
  from: string;
  to: string | null;
  note: string | null;
  recordedBy: string;
  recordedAt: string;
}

export interface Remnant {
  id: string;
  incidentId: string;
  caseId: string;
  weaponType: string | null;
  component: string | null;
  description: string | null;
  markings: { text: string; location: string | null; method: string | null }[];
  serialNumber: string | null;
  serialParts: { scheme: string; prefix: string; series: string; number: number } | null;
  manufacturer: ({ name: string } & Finding) | null;
  countryOfOrigin: ({ country: string } & Finding) | null;
  attribution: ({ producer: string } & Finding) | null;
  condition: string | null;
  measurements: { description: string | null; values: Record<string, number> } | null;
  recoveredAt: string | null;
  recoveredBy: string | null;
  location: GeoPoint | null;
  sources: SourceLink[];
  status: string;
  unsourced: boolean;
  /** null for a caller who may not read the object's chain (a documenter). */
  physicalCustody: CustodyPeriod[] | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface RemnantCustody {
  remnantId: string;
  caseId: string;
  physicalCustody: CustodyPeriod[];
  events: { leafIndex: number; leafHash: string; action: string; at: string; transferId: string | null }[];
}

export interface ProductionEstimate {
  k: number;
  m: number;
  estimate: number;
  lower: number;
  upper: number;
  confidence: number;
}

export interface SerialAnalysis {
  method: string;
  confidence: number;
  series: {
    weaponType: string;
    scheme: string;
    schemeLabel: string;
    schemeBasis: string;
    prefix: string;
    series: string;
    serials: { number: number; serialNumber: string; remnantId: string; incidentId: string; seenAt: string }[];
    estimate: ProductionEstimate;
    months: { month: string; seen: number; estimate: ProductionEstimate }[];
  }[];
}
