/**
 * What the chain-of-custody report shows: built by the export job from the database and the
 * hashes it computed while packing, rendered to report.html and report.pdf. Items arrive as an
 * async iterable so a package of many thousands of items never holds them all in memory.
 */

/** One custody event as the report lists it. */
export interface ReportEvent {
  leafIndex: number;
  /** Hex leaf hash. */
  leafHash: string;
  /** RFC 3339 UTC. */
  at: string;
  action: string;
  actor: { id: string; role: string; displayName: string | null };
  reason: string | null;
  /** Short human summary of `details` (e.g. "range bytes=0-99", "status received -> verified"). */
  summary: string | null;
  /** The inclusion proof was checked against the package's tree head while packing. */
  included: boolean;
}

/**
 * An item's custody events: how many, and the events themselves in log order, read while the
 * report is written (an item read every day for years has many thousands); each rendering
 * reads them again.
 */
export interface ReportEvents {
  count: number;
  read(): AsyncIterable<ReportEvent> | Iterable<ReportEvent>;
}

/** A file an e-mail or a ZIP archive carries, or a message a mailbox holds, as intake read it; its name is null in partner packages. */
export interface ReportAttachment {
  name: string | null;
  mediaType: string | null;
  sizeBytes: number;
  sha256: string;
  inline: boolean;
  /** Archives only, as the archive gives it. */
  modifiedAt?: string;
  /** Mailboxes only: the message's sender (null in partner packages) and Date. */
  from?: string | null;
  sentAt?: string | null;
}

/** One evidence item: one page of the report. */
export interface ReportItem {
  evidenceId: string;
  title: string | null;
  /** Path of the packed file inside the bag (`data/evidence/<id>/original/<name>` or `.../preview.jpg`), null when none was packed. */
  packedPath: string | null;
  packedKind: 'original' | 'preview' | null;
  /** The name the file arrived with; null in partner packages (it may name a place or a person). */
  originalFileName: string | null;
  mediaType: string;
  sizeBytes: number;
  sha256: string;
  /** SHA-512 of the packed file (computed while packing), null when none was packed. */
  packedSha512: string | null;
  /** SHA-256 of the packed file when it is a preview (the original's is `sha256`). */
  packedSha256: string | null;
  receivedAt: string;
  /** Null in partner packages (no names of submitters). */
  submittedBy: { id: string; displayName: string | null };
  sourceType: string;
  /** true: the device's SHA-256 matched the bytes received; null: the device sent none. */
  clientSha256Matched: boolean | null;
  status: string;
  declared: { capturedAt: string | null; location: { lat: number; lon: number; accuracyM: number | null } | null };
  /** What the file says about itself (the API's `extracted`), null when nothing was found. */
  extracted: {
    capturedAt: string | null;
    capturedAtOffset: string | null;
    location: { lat: number; lon: number; altitudeM?: number | null } | null;
    /** Null in partner packages (it singles out the documenter's phone or drone). */
    device: { make: string | null; model: string | null; software: string | null } | null;
    width?: number | null;
    height?: number | null;
    durationS?: number | null;
    /** A PDF's or an office document's own account; its author, last saver and program are null in partner packages. */
    document?: {
      pages: number | null;
      title: string | null;
      author: string | null;
      /** Absent on items read before 2026-12-07. */
      lastModifiedBy?: string | null;
      /** A saved web page's address; only on saved pages. */
      savedFrom?: string | null;
      /** An e-mail's recipients; null in partner packages. */
      recipients?: { to: string[]; cc: string[]; bcc: string[] } | null;
      /** The files an e-mail carries; their names are null in partner packages. */
      attachments?: ReportAttachment[];
      creator: string | null;
      createdAt: string | null;
      createdAtOffset: string | null;
      modifiedAt: string | null;
      modifiedAtOffset: string | null;
    };
  } | null;
  flags: string[];
  incidentId: string | null;
  events: ReportEvents;
  /** Every event's inclusion proof checked (and the file's hash matched its event). */
  proofStatus: 'verified' | 'failed';
  /** Why proofStatus is failed. */
  proofProblem?: string;
}

/** The first page: what the whole package rests on. */
export interface ReportHeader {
  exportId: string;
  caseId: string;
  caseTitle: string;
  purpose: 'court' | 'partner';
  includeNames: boolean;
  note: string | null;
  /** RFC 3339 UTC. */
  baggingTime: string;
  createdBy: { id: string; displayName: string };
  organization: string;
  selection: string;
  counts: {
    evidence: number;
    incidents: number;
    casualties: number;
    damage: number;
    remnants: number;
    events: number;
    /** Events a partner copy leaves out because their signed bytes name a holder or a device, or carry a reason. */
    eventsWithheld: number;
    /** Events a partner copy leaves out because their signed bytes hold the hash of a whole incident, damage or remnant record. */
    eventsNamingWithheld: number;
  };
  treeHead: { treeSize: number; rootHash: string; timestamp: string; keyId: string; signature: string };
  /** The head's RFC 3161 time-stamp, null when none was made. */
  timestamp: { genTime: string; authority: string | null; serialNumber: string; policy: string } | null;
}

export interface ReportModel {
  header: ReportHeader;
  /** Called once per rendering (HTML, then PDF): each call yields the items again, in package order. */
  items: () => AsyncIterable<ReportItem>;
}
