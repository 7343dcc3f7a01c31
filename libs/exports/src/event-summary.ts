import type { CustodyEvent } from '#custodia/custody-core';

type Details = Record<string, unknown>;

const short = (hex: unknown): string => (typeof hex === 'string' ? `${hex.slice(0, 16)}…` : '?');
const list = (value: unknown): string => (Array.isArray(value) ? value.join(', ') : String(value ?? ''));

/** One line saying what an event's details record, for the report; the full event is in events.jsonl. */
export function summariseEvent(event: CustodyEvent): string | null {
  const d = (event.details ?? {}) as Details;
  switch (event.action as string) {
    case 'evidence.submitted': {
      // Events written before 2026-12-05 name the earlier item with the same bytes (`duplicateOf`).
      const device = d['clientSha256Matched'] === true ? 'device SHA-256 matched' : d['clientSha256Matched'] === false ? 'device SHA-256 DIFFERED' : 'no device SHA-256';
      const from = d['extractedFrom'] as Details | undefined;
      const source = from ? `, file ${from['attachment']} of message ${from['evidenceId']} (${short(from['sha256'])})` : '';
      return `${d['sizeBytes']} bytes, ${d['mediaType']}, ${device}${d['duplicateOf'] ? `, duplicate of ${d['duplicateOf']}` : ''}${source}`;
    }
    case 'evidence.metadata_extracted': {
      // Events before 2026-12-05 name the capture time (and the device); later ones neither.
      const read = 'capturedAt' in d ? `capture ${d['capturedAt'] ?? 'unknown'}` : 'embedded metadata read';
      return d['found'] ? `${read}${d['hasLocation'] ? ', position embedded' : ''}; flags: ${list(d['flags']) || 'none'}` : 'no embedded metadata';
    }
    case 'evidence.derivative_created':
      return `${d['kind']} ${short(d['sha256'])} (${d['sizeBytes']} bytes)`;
    case 'evidence.downloaded':
      return d['range'] ? `range ${d['range']}` : 'whole file';
    case 'evidence.viewed':
      if (d['part'] === 'attachment') return `file ${d['attachment']} (${short(d['sha256'])}) submitted as ${d['evidenceId']}`;
      return d['part'] ? String(d['part']) : null;
    case 'evidence.annotated':
      return `changed: ${list(d['fields'])}`;
    case 'evidence.status_changed':
      return `${d['from']} → ${d['to']}`;
    case 'evidence.verified':
      return `${d['intact'] ? 'intact' : 'NOT INTACT'}, ${d['eventsChecked']} events checked at tree size ${d['treeSize']}`;
    case 'evidence.exported':
      return `export ${d['exportId']} (${d['purpose']})`;
    case 'evidence.linked':
    case 'evidence.unlinked':
      return d['incidentId'] ? `incident ${d['incidentId']}` : null;
    case 'case.member_added':
    case 'case.member_removed':
      return `user ${d['userId']}${d['role'] ? ` (${d['role']})` : ''}`;
    case 'export.created':
      return `package ${short(d['sha256'])}, ${d['sizeBytes']} bytes`;
    case 'export.sealed':
      return `contents ${short(d['manifestSha256'])}, ${d['files']} files`;
    case 'export.downloaded':
      return d['range'] ? `range ${d['range']}` : d['export'] ? String(d['export']) : null;
    default:
      return Array.isArray(d['fields']) ? `changed: ${list(d['fields'])}` : null;
  }
}
