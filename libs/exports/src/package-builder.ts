import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import type { Actor, Role } from '#custodia/auth';
import { BagWriter, sanitiseFileName } from '#custodia/bagit';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CustodyLog, SigningKeys, TreeHeads, type EventsWithheld, type KeptTreeHead, type LogKeyView } from '#custodia/custody';
import { canonicalBytes, followHandovers, parseHash, treeHeadBytes, verifyInclusion, type CarriedHandover, type SignedTreeHead } from '#custodia/custody-core';
import { BLOB_STORE, EvidenceService, type EvidenceRow, type EvidenceView } from '#custodia/evidence';
import { RecordsService } from '#custodia/records';
import type { BlobStore } from '#custodia/storage';
import { readTimeStampToken } from '#custodia/timestamp';
import { summariseEvent } from './event-summary.js';
import { EXPORT_STORE, type ExportRow } from './export-row.js';
import { readmeText } from './readme.js';
import {
  EVENTS_PARTNERS_DO_NOT_GET,
  partnerDamageView,
  partnerEvidenceView,
  partnerIncidentView,
  partnerRemnantView,
  roundPositions,
} from './redact.js';
import { addReportTags, type ReportEvent, type ReportHeader, type ReportItem, type ReportModel } from './report/index.js';
import { isWholeCase, resolveSelection, type ExportSelection } from './selection.js';

const VERIFY_PROOFS_PY = new URL('../assets/verify_proofs.py', import.meta.url);
/**
 * The payload files packed before the seal (originals, records, events), as a SHA-256 manifest;
 * its hash is `subject.sha256` of the export.sealed event, which custody/seal.json proves under
 * the package's head (PACKAGE-FORMAT.md, "The seal").
 */
export const SEALED_MANIFEST = 'custody/sealed-manifest-sha256.txt';
/** Items read from the database at a time: bounds memory whatever the size of the case. */
const BATCH = 200;
/** Events (and their proofs) read at a time. */
const EVENT_PAGE = 1000;
const PROGRESS_INTERVAL_MS = 500;
const VERSION = '0.1.0';

/** Something in the archive is not what its records say: the package must not be made. */
export class PackageIntegrityError extends Error {
  override name = 'PackageIntegrityError';
}

/** custody/seal.json: the export.sealed event and its inclusion proof under the package's head. */
interface SealEntry {
  leafIndex: number;
  leafHash: string;
  inclusionProof: string[];
  event: unknown;
}

/** What the package holds of one item, kept between packing it and writing the report. */
interface PackedItem {
  path: string | null;
  kind: 'original' | 'preview' | null;
  sha256: string | null;
  sha512: string | null;
}

const compactTime = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const prettyJson = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** A JSON array streamed element by element, so a long list never becomes one string. */
function jsonArray<T>(items: Iterable<T> | AsyncIterable<T>): Readable {
  return Readable.from(
    (async function* () {
      let first = true;
      for await (const item of items) {
        yield `${first ? '[\n' : ',\n'}${JSON.stringify(item, null, 2).replace(/^/gm, '  ')}`;
        first = false;
      }
      yield first ? '[]\n' : '\n]\n';
    })(),
  );
}

/** The selection in words, for the report's first page. */
function describeSelection(selection: ExportSelection): string {
  if (isWholeCase(selection)) return 'the whole case / уся справа';
  const parts: string[] = [];
  if (selection.evidenceIds?.length) parts.push(`${selection.evidenceIds.length} evidence item(s) by id`);
  if (selection.incidentIds?.length) parts.push(`${selection.incidentIds.length} incident(s) by id, with the evidence they cite`);
  if (selection.from !== undefined || selection.to !== undefined) parts.push(`captured or starting from ${selection.from ?? '…'} to ${selection.to ?? '…'}`);
  return parts.join('; ');
}

/**
 * Builds a court package (exports.md, PACKAGE-FORMAT.md): streams the bag into the export store
 * through one pass over the originals, checking each against its SHA-256 on the way, and records
 * `export.created` with the package's SHA-256 once it is durable.
 */
@Injectable()
export class PackageBuilder {
  private readonly logger = new Logger('Exports');

  constructor(
    private readonly db: DataSource,
    private readonly custody: CustodyLog,
    private readonly heads: TreeHeads,
    private readonly keys: SigningKeys,
    private readonly evidence: EvidenceService,
    private readonly records: RecordsService,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(EXPORT_STORE) private readonly packages: BlobStore,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {}

  /** The job: builds the export once; a repeated or concurrent run of a finished export does nothing. */
  async run(exportId: string): Promise<void> {
    // TypeORM answers an UPDATE with [rows, affected count].
    const [[row]]: [ExportRow[], number] = await this.db.query(
      `UPDATE exports SET status = 'running', started_at = coalesce(started_at, clock_timestamp())
        WHERE id = $1 AND status IN ('pending', 'running') RETURNING *`,
      [exportId],
    );
    if (!row) return;
    try {
      await this.build(row);
    } catch (error) {
      this.logger.error(`export ${exportId} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      const message =
        error instanceof PackageIntegrityError ? error.message : 'The package could not be built because of an internal error; the server log has the cause';
      await this.db.query(
        `UPDATE exports SET status = 'failed', error = $2, finished_at = clock_timestamp() WHERE id = $1 AND status = 'running'`,
        [exportId, message],
      );
    }
  }

  private async build(row: ExportRow): Promise<void> {
    const bagTime = new Date();
    const [creator] = await this.db.query(`SELECT id, email, display_name, role FROM users WHERE id = $1`, [row.created_by]);
    const viewer: Actor = { id: creator.id, email: creator.email, displayName: creator.display_name, role: creator.role as Role, tokenId: '' };
    const [caseRow] = await this.db.query(`SELECT title FROM cases WHERE id = $1`, [row.case_id]);
    const court = row.purpose === 'court';
    const selection = await resolveSelection(this.db.manager, row.case_id, row.selection);
    const records = await this.records.packageRecords(row.case_id, selection.incidentIds, court && row.include_names);
    // The log as it is now: the package's events are those below this size. The head the package
    // carries is signed after its seal (below), and covers these and the seal.
    const listed = await this.heads.publish();
    let head: KeptTreeHead = listed;
    const totalBytes = await this.packedBytes(row.case_id, selection.evidenceIds, court);
    const bagName = `custodia-${row.case_id.slice(0, 8)}-${compactTime(bagTime)}`;
    await this.db.query(`UPDATE exports SET items = $2, bytes = $3, bag_name = $4, tree_size = $5 WHERE id = $1`, [
      row.id,
      selection.evidenceIds.length,
      totalBytes,
      bagName,
      listed.treeSize,
    ]);

    let bytesDone = 0;
    let itemsDone = 0;
    let lastProgress = 0;
    const progress = (force = false): Promise<unknown> | undefined => {
      const now = Date.now();
      if (!force && now - lastProgress < PROGRESS_INTERVAL_MS) return undefined;
      lastProgress = now;
      return this.db
        .query(`UPDATE exports SET items_done = $2, bytes_done = $3 WHERE id = $1 AND status = 'running'`, [row.id, itemsDone, Math.min(bytesDone, totalBytes)])
        .catch((error: unknown) => this.logger.warn(`export ${row.id}: progress not saved: ${String(error)}`));
    };

    const writer = await BagWriter.open(bagName, { date: bagTime, onPayloadBytes: (n) => (bytesDone += n) });
    const ingest = this.packages.ingest(writer.output, { maxBytes: Number.MAX_SAFE_INTEGER });
    // A failing store (disk full) must stop the packing, which would otherwise wait on it forever.
    const storeFailed = ingest.then(
      () => new Promise<never>(() => undefined),
      (error: unknown) => {
        throw error;
      },
    );
    const packed = new Map<string, PackedItem>();
    let eventCount = 0;
    let eventsWithheld = 0;
    let eventsNamingWithheld = 0;
    const counts = () => ({
      evidence: selection.evidenceIds.length,
      incidents: records.incidents.length,
      casualties: records.casualties.length,
      damage: records.damage.length,
      remnants: records.remnants.length,
      events: eventCount,
      eventsWithheld,
      eventsNamingWithheld,
    });

    // What a partner copy's records may name as an item's copies (redact.ts).
    const inCopy: ReadonlySet<string> = new Set(selection.evidenceIds);
    const pack = async (): Promise<void> => {
      // 1. Evidence: each file checked against the hash the log holds for it as it streams.
      for (let i = 0; i < selection.evidenceIds.length; i += BATCH) {
        for (const { row: item, view } of await this.evidence.packageViews(viewer, row.case_id, selection.evidenceIds.slice(i, i + BATCH))) {
          packed.set(item.id, await this.packItem(writer, item, view, court));
          await writer.addPayload(`evidence/${item.id}/record.json`, prettyJson(court ? view : partnerEvidenceView(view, inCopy)));
          itemsDone++;
          await progress();
        }
      }
      // 2. Records. A partner copy has no street address or place name finer than its rounded positions.
      const redact = <T>(value: T): T => (court ? value : roundPositions(value));
      await writer.addPayload('incidents.json', jsonArray(records.incidents.map((i) => (court ? i : partnerIncidentView(i)))));
      await writer.addPayload(
        'casualties.json',
        jsonArray(records.casualties.map(({ fullName: _n, nameVariants: _v, ...rest }) => redact(rest))),
      );
      await writer.addPayload('damage.json', jsonArray(records.damage.map((d) => (court ? d : partnerDamageView(d)))));
      // Munition remnants, each with the hand-overs of the object itself (physicalCustody); a
      // partner copy names no holder.
      await writer.addPayload('remnants.json', jsonArray(records.remnants.map((r) => (court ? r : partnerRemnantView(r)))));
      if (court && row.include_names) {
        await writer.addPayload(
          'records/names.json',
          jsonArray(records.casualties.map((c) => ({ casualtyId: c.id, incidentId: c.incidentId, fullName: c.fullName ?? null, nameVariants: c.nameVariants ?? [] }))),
        );
      }
      // 3. Custody: events, then (after the seal) proofs, the head they lead to, the keys, the time-stamp.
      // A partner copy leaves out the events whose signed bytes may name someone (see redact.ts).
      const subjects = {
        evidence: selection.evidenceIds,
        incident: selection.incidentIds,
        casualty: records.casualties.map((c) => c.id),
        damage: records.damage.map((d) => d.id),
        remnant: records.remnants.map((r) => r.id),
      };
      const withhold = court ? null : EVENTS_PARTNERS_DO_NOT_GET;
      const { leafIndexes, withheld } = await this.custody.leafIndexesAbout(row.case_id, subjects, listed.treeSize, withhold);
      // A partner copy also leaves out the events about incidents, damage records and remnants:
      // each holds the SHA-256 of the whole record, which gives back its exact position, address
      // or holder to whoever tries the likely values completing the copy's rounded record (an
      // outside audit did, in seconds). It keeps the events about its items, casualty records
      // (their names only as a hash of ciphertext) and the case.
      const carried = court
        ? leafIndexes
        : (await this.custody.leafIndexesAbout(row.case_id, { evidence: subjects.evidence, casualty: subjects.casualty }, listed.treeSize, withhold)).leafIndexes;
      eventCount = carried.length;
      eventsWithheld = withheld;
      eventsNamingWithheld = leafIndexes.length - carried.length;
      await writer.addPayload('custody/events.jsonl', this.eventLines(carried));
      // 4. The seal: every payload file so far (originals, records, names, events) in one
      // manifest, whose hash the log records (export.sealed) before the head the package carries
      // is signed. The manifests are signed by nobody; this ties the records and the list of
      // events to the signed log, so a changed record or a dropped event is caught offline.
      const sealedManifest = await writer.payloadManifest('sha256');
      await writer.addPayload(SEALED_MANIFEST, sealedManifest);
      const sealed = await this.seal(row, viewer, sealedManifest, eventCount, listed.treeSize);
      // A head signed while the time-stamping authority was unreachable is stamped now, if it answers.
      head = await this.heads.stampLate(sealed.head);
      await this.db.query(`UPDATE exports SET tree_size = $2 WHERE id = $1`, [row.id, head.treeSize]);
      await writer.addPayload('custody/seal.json', prettyJson(sealed.entry));
      await writer.addPayload('custody/proofs.json', jsonArray(this.proofs(carried, head)));
      const keys = await this.keys.published();
      await this.packHead(writer, head, keys);
      await writer.addPayload('custody/handovers.json', prettyJson(await this.handovers(head, keys)));
      // 5. Tag files: the reader's guide, the report, the script.
      const token = head.timestampToken ? Buffer.from(head.timestampToken, 'base64') : null;
      await writer.addTag(
        'README.txt',
        readmeText({
          bagName,
          exportId: row.id,
          caseId: row.case_id,
          organization: this.config.organization,
          purpose: row.purpose,
          baggingTime: bagTime.toISOString(),
          treeSize: head.treeSize,
          rootHash: head.rootHash,
          keyId: head.keyId,
          hasTimestamp: token !== null,
          evidenceCount: selection.evidenceIds.length,
          eventCount,
          eventsWithheld,
          eventsNamingWithheld,
        }),
      );
      const header: ReportHeader = {
        exportId: row.id,
        caseId: row.case_id,
        caseTitle: caseRow?.title ?? '',
        purpose: row.purpose,
        includeNames: row.include_names,
        note: row.note,
        baggingTime: bagTime.toISOString(),
        createdBy: { id: creator.id, displayName: creator.display_name },
        organization: this.config.organization,
        selection: describeSelection(row.selection),
        counts: counts(),
        treeHead: { treeSize: head.treeSize, rootHash: head.rootHash, timestamp: head.timestamp, keyId: head.keyId, signature: head.signature },
        timestamp: token ? timestampSummary(token) : null,
      };
      const model: ReportModel = { header, items: () => this.reportItems(viewer, row.case_id, selection.evidenceIds, packed, head, listed.treeSize, court, inCopy) };
      await addReportTags(writer, model);
      await writer.addTag('verify_proofs.py', await readFile(VERIFY_PROOFS_PY));
      // 6. bag-info.txt, the manifests and the tag manifests, then the ZIP's directory.
      await writer.finish([
        ['Source-Organization', this.config.organization],
        ['Bagging-Date', bagTime.toISOString().slice(0, 10)],
        ['Bag-Software-Agent', `Custodia ${VERSION}`],
        ['External-Identifier', row.id],
        ['External-Description', court ? 'Custodia court package' : 'Custodia partner working copy'],
        ...(row.note ? [['Internal-Sender-Description', row.note] as const] : []),
        ['Custodia-Case-Id', row.case_id],
        ['Custodia-Purpose', row.purpose],
        ['Custodia-Tree-Size', String(head.treeSize)],
        ['Custodia-Root-Hash', head.rootHash],
        ['Custodia-Key-Id', head.keyId],
        ['Custodia-Timestamp-Token', token ? 'yes' : 'no'],
      ]);
    };

    const packing = pack();
    try {
      await Promise.race([packing, storeFailed]);
    } catch (error) {
      writer.abort(error instanceof Error ? error : new Error(String(error)));
      await Promise.allSettled([packing, ingest.then((r) => r.discard())]);
      throw error;
    }
    const stored = await ingest;
    try {
      await stored.commit();
      await progress(true);
      await this.db.transaction(async (tx) => {
        const [locked] = await tx.query(`SELECT status FROM exports WHERE id = $1 FOR UPDATE`, [row.id]);
        if (locked?.status !== 'running') return;
        await tx.query(
          `UPDATE exports SET status = 'ready', sha256 = $2, size_bytes = $3, items_done = items, bytes_done = bytes, finished_at = clock_timestamp()
            WHERE id = $1`,
          [row.id, stored.sha256, stored.sizeBytes],
        );
        const actor = { id: viewer.id, role: viewer.role };
        await this.custody.append(tx, {
          action: 'export.created',
          actor,
          caseId: row.case_id,
          subject: { type: 'export', id: row.id, sha256: stored.sha256 },
          details: {
            sha256: stored.sha256,
            sizeBytes: stored.sizeBytes,
            purpose: row.purpose,
            includeNames: row.include_names,
            selection: isWholeCase(row.selection) ? { wholeCase: true } : { ...row.selection },
            counts: counts(),
            bagName,
            treeSize: head.treeSize,
            rootHash: head.rootHash,
          },
          reason: row.note,
        });
        for (const evidenceId of selection.evidenceIds) {
          const item = packed.get(evidenceId);
          await this.custody.append(tx, {
            action: 'evidence.exported',
            actor,
            caseId: row.case_id,
            subject: { type: 'evidence', id: evidenceId, ...(item?.kind === 'original' && item.sha256 ? { sha256: item.sha256 } : {}) },
            details: { exportId: row.id, purpose: row.purpose, packageSha256: stored.sha256, packed: item?.kind ?? null },
          });
        }
      });
    } finally {
      await stored.discard();
    }
    this.logger.log(`export ${row.id}: ${stored.sizeBytes} bytes, ${selection.evidenceIds.length} items, ${eventCount} events`);
  }

  /** Bytes of the files the package will hold: originals for a court, previews for a partner. */
  private async packedBytes(caseId: string, ids: string[], court: boolean): Promise<number> {
    if (court) {
      const [row] = await this.db.query(`SELECT coalesce(sum(size_bytes), 0)::bigint AS total FROM evidence_items WHERE case_id = $1 AND id = ANY ($2::uuid[])`, [caseId, ids]);
      return Number(row.total);
    }
    const rows: { preview_sha256: string }[] = await this.db.query(
      `SELECT preview_sha256 FROM evidence_items WHERE case_id = $1 AND id = ANY ($2::uuid[]) AND preview_sha256 IS NOT NULL`,
      [caseId, ids],
    );
    let total = 0;
    for (const r of rows) total += (await this.blobs.stat(r.preview_sha256))?.sizeBytes ?? 0;
    return total;
  }

  /** Packs an item's file (original, or preview for a partner), refusing bytes that are not what the archive recorded. */
  private async packItem(writer: BagWriter, item: EvidenceRow, view: EvidenceView, court: boolean): Promise<PackedItem> {
    const expected = court ? item.sha256 : item.preview_sha256;
    if (!expected) return { path: null, kind: null, sha256: null, sha512: null };
    const name = court ? `original/${sanitiseFileName(view.originalFileName, `original${extensionOf(item.media_type)}`)}` : 'preview.jpg';
    const file = await writer.addPayload(`evidence/${item.id}/${name}`, await this.blobs.open(expected), { store: true, sizeHint: court ? Number(item.size_bytes) : 0 });
    if (file.sha256 !== expected) {
      throw new PackageIntegrityError(
        `The stored ${court ? 'original' : 'preview'} of evidence ${item.id} no longer hashes to its recorded SHA-256 ${expected} (it hashes to ${file.sha256}); no package was made. Check the store's integrity.`,
      );
    }
    return { path: file.path, kind: court ? 'original' : 'preview', sha256: file.sha256, sha512: file.sha512 };
  }

  /** events.jsonl: each event's exact stored RFC 8785 bytes and a line feed, in log order. */
  private eventLines(leafIndexes: number[]): Readable {
    const custody = this.custody;
    return Readable.from(
      (async function* () {
        for (let i = 0; i < leafIndexes.length; i += EVENT_PAGE) {
          const events = await custody.eventsAt(leafIndexes.slice(i, i + EVENT_PAGE));
          yield Buffer.concat(events.flatMap((e) => [e.bytes, Buffer.from('\n')]));
        }
      })(),
    );
  }

  /**
   * Records export.sealed with the sealed manifest's SHA-256, has a head signed over it, and
   * answers that head with seal.json's content: the event and its inclusion proof under the head.
   */
  private async seal(row: ExportRow, viewer: Actor, manifest: string, events: number, listedTreeSize: number): Promise<{ head: KeptTreeHead; entry: SealEntry }> {
    const manifestSha256 = createHash('sha256').update(manifest).digest('hex');
    const [queued] = await this.db.transaction((tx) =>
      this.custody.appendAll(tx, [
        {
          action: 'export.sealed',
          actor: { id: viewer.id, role: viewer.role },
          caseId: row.case_id,
          subject: { type: 'export', id: row.id, sha256: manifestSha256 },
          // listedTreeSize: the log's size when the package's events were listed (its events lie below it).
          details: { manifest: `data/${SEALED_MANIFEST}`, manifestSha256, files: manifest.split('\n').length - 1, events, listedTreeSize },
        },
      ]),
    );
    const head = await this.heads.publish();
    const recorded = await this.custody.integratedAs(queued!.queueId);
    if (!recorded || recorded.leafIndex >= head.treeSize) throw new PackageIntegrityError(`The package's seal is not under the head signed after it (size ${head.treeSize})`);
    const inclusionProof = (await this.custody.inclusionProofs([recorded.leafIndex], head.treeSize)).get(recorded.leafIndex)!;
    if (!verifyInclusion(recorded.leafIndex, head.treeSize, parseHash(recorded.leafHash), inclusionProof.map(parseHash), parseHash(head.rootHash))) {
      throw new PackageIntegrityError(`The log's proof for the seal (leaf ${recorded.leafIndex}) does not lead to the signed head; run \`custodia log verify\``);
    }
    return { head, entry: { leafIndex: recorded.leafIndex, leafHash: recorded.leafHash, inclusionProof, event: recorded.event } };
  }

  /** proofs.json's elements, each proof checked against the head before it is written. */
  private async *proofs(leafIndexes: number[], head: SignedTreeHead): AsyncGenerator<{ leafIndex: number; leafHash: string; inclusionProof: string[] }> {
    const root = parseHash(head.rootHash);
    for (let i = 0; i < leafIndexes.length; i += EVENT_PAGE) {
      const page = leafIndexes.slice(i, i + EVENT_PAGE);
      const proofs = await this.custody.inclusionProofs(page, head.treeSize);
      for (const e of await this.custody.eventsAt(page)) {
        const inclusionProof = proofs.get(e.leafIndex)!;
        if (!verifyInclusion(e.leafIndex, head.treeSize, parseHash(e.leafHash), inclusionProof.map(parseHash), root)) {
          throw new PackageIntegrityError(`The log's proof for leaf ${e.leafIndex} does not lead to the signed head at size ${head.treeSize}; run \`custodia log verify\``);
        }
        yield { leafIndex: e.leafIndex, leafHash: e.leafHash, inclusionProof };
      }
    }
  }

  /**
   * handovers.json: each retired key's handover under the head, with the proof that the head
   * extends it, so a court that pinned an older key can follow the rotations to the head's.
   */
  private async handovers(head: SignedTreeHead, keys: LogKeyView[]): Promise<CarriedHandover[]> {
    const carried: CarriedHandover[] = [];
    for (const handover of await this.keys.handovers(head.treeSize)) {
      carried.push({ ...handover, consistencyProof: await this.custody.consistencyProof(handover.head.treeSize, head.treeSize) });
    }
    const { problems } = followHandovers([], carried, keys, head);
    if (problems.length) throw new PackageIntegrityError(`A key handover does not lead to the signed head: ${problems[0]}; run \`custodia log verify\``);
    return carried;
  }

  private async packHead(writer: BagWriter, head: KeptTreeHead, keys: LogKeyView[]): Promise<void> {
    const signed: SignedTreeHead = { treeSize: head.treeSize, rootHash: head.rootHash, timestamp: head.timestamp, keyId: head.keyId, signature: head.signature };
    await writer.addPayload('custody/tree-head.json', canonicalBytes(signed));
    await writer.addPayload('custody/tree-head.tbs', treeHeadBytes(signed));
    await writer.addPayload('custody/tree-head.sig', Buffer.from(signed.signature, 'base64'));
    await writer.addPayload('custody/keys.json', prettyJson(keys.map((k) => ({ keyId: k.keyId, algorithm: 'Ed25519', publicKeyPem: k.publicKeyPem, activeFrom: k.activeFrom, activeTo: k.activeTo, compromisedAt: k.compromisedAt }))));
    for (const key of keys) await writer.addPayload(`custody/keys/${key.keyId}.pem`, key.publicKeyPem);
    if (head.timestampToken) await writer.addPayload('custody/tree-head.tsr', Buffer.from(head.timestampToken, 'base64'));
  }

  /** The report's pages, read again from the database a batch at a time. */
  private async *reportItems(
    viewer: Actor,
    caseId: string,
    ids: string[],
    packed: Map<string, PackedItem>,
    head: SignedTreeHead,
    /** The log's size when the package's events were listed: the report shows the same events. */
    eventsUpTo: number,
    court: boolean,
    inCopy: ReadonlySet<string>,
  ): AsyncGenerator<ReportItem> {
    const withhold = court ? null : EVENTS_PARTNERS_DO_NOT_GET;
    const names = new Map<string, string>(
      court ? (await this.db.query(`SELECT id, display_name FROM users`)).map((u: { id: string; display_name: string }) => [u.id, u.display_name]) : [],
    );
    for (let i = 0; i < ids.length; i += BATCH) {
      for (const { row: item, view } of await this.evidence.packageViews(viewer, caseId, ids.slice(i, i + BATCH))) {
        const file = packed.get(item.id) ?? { path: null, kind: null, sha256: null, sha512: null };
        const shown = court ? view : partnerEvidenceView(view, inCopy);
        // The file is tied to the log: an original through the submission event, a preview through its derivative event.
        const binding = file.kind === 'original' ? 'evidence.submitted' : 'evidence.derivative_created';
        const bound =
          file.kind === null ||
          (await this.custody.eventsAbout('evidence', item.id, binding)).some(
            (e) =>
              e.leafIndex < head.treeSize &&
              (file.kind === 'original'
                ? e.event.subject.sha256 === file.sha256
                : e.event.details['kind'] === 'preview' && e.event.details['sha256'] === file.sha256),
          );
        yield {
          evidenceId: item.id,
          title: view.title,
          packedPath: file.path,
          packedKind: file.kind,
          originalFileName: shown.originalFileName,
          mediaType: view.mediaType,
          sizeBytes: view.sizeBytes,
          sha256: view.sha256,
          packedSha512: file.sha512,
          packedSha256: file.kind === 'preview' ? file.sha256 : null,
          receivedAt: view.receivedAt,
          submittedBy: { id: view.submittedBy.id, displayName: court ? view.submittedBy.displayName : null },
          sourceType: view.sourceType,
          clientSha256Matched: item.client_sha256_matched,
          status: view.status,
          declared: shown.declared,
          extracted: shown.extracted,
          flags: view.flags,
          incidentId: view.incidentId,
          // Read page by page as the report is written: an item read every day for years has
          // many thousands of events, and the report is written twice (HTML, PDF).
          // A partner copy's report leaves out the events its events.jsonl leaves out.
          events: {
            count: await this.custody.countAbout('evidence', item.id, eventsUpTo, withhold),
            read: () => this.reportEvents(item.id, eventsUpTo, names, withhold),
          },
          proofStatus: bound ? 'verified' : 'failed',
          ...(bound ? {} : { proofProblem: `no custody event records the packed ${file.kind}'s SHA-256` }),
        };
      }
    }
  }

  /**
   * An item's events below the head, in log order, a page at a time, as the report shows them;
   * for a partner copy, without those it leaves out (`withhold`).
   */
  private async *reportEvents(evidenceId: string, treeSize: number, names: ReadonlyMap<string, string>, withhold: EventsWithheld | null): AsyncGenerator<ReportEvent> {
    for (let after: number | null = null; ; ) {
      const page = await this.custody.eventsAboutPage('evidence', evidenceId, { after, limit: EVENT_PAGE, ownerOf: null, withhold });
      for (const e of page) {
        if (e.leafIndex >= treeSize) return;
        yield {
          leafIndex: e.leafIndex,
          leafHash: e.leafHash,
          at: e.event.at,
          action: e.event.action,
          actor: { id: e.event.actor.id, role: e.event.actor.role, displayName: names.get(e.event.actor.id) ?? null },
          reason: e.event.reason ?? null,
          summary: summariseEvent(e.event),
          // Every proof in proofs.json was checked against the head while packing; a failure stopped the package.
          included: true,
        };
      }
      if (page.length < EVENT_PAGE) return;
      after = page[page.length - 1]!.leafIndex;
    }
  }
}

/** The time-stamp as the report's first page shows it. */
function timestampSummary(token: Buffer): ReportHeader['timestamp'] {
  try {
    const t = readTimeStampToken(token);
    return { genTime: t.genTimeDate.toISOString(), authority: t.tsaName, serialNumber: t.serialNumber, policy: t.policy };
  } catch {
    return null;
  }
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/heic': '.heic',
  'image/webp': '.webp',
  'image/tiff': '.tif',
  'video/mp4': '.mp4',
  'video/quicktime': '.mov',
  'application/pdf': '.pdf',
  'application/rtf': '.rtf',
  'application/msword': '.doc',
  'application/vnd.ms-excel': '.xls',
  'application/vnd.ms-powerpoint': '.ppt',
  'application/vnd.ms-outlook': '.msg',
  'message/rfc822': '.eml',
  'multipart/related': '.mhtml',
  'audio/mpeg': '.mp3',
};
export const extensionOf = (mediaType: string): string => EXTENSIONS[mediaType] ?? '';
