import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Actor } from '#custodia/auth';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { DomainError, unprocessable } from '#custodia/errors';
import { AllTagsReader, TagsTimeout, TagsTooLarge, type TagGroups } from '#custodia/media';
import type { BlobStore } from '#custodia/storage';
import type { EvidenceTags } from './evidence.schema.js';
import { BLOB_STORE, EvidenceService } from './evidence.service.js';

/** How many files' tags one process keeps (each tens of KB: a camera's maker notes). */
const TAGS_KEPT = 64;

interface Reading {
  version: string;
  groups: TagGroups;
}

/**
 * Reads an item's every embedded tag with ExifTool, on demand, for investigators who want the
 * whole list (the evidence resource's `extracted` is the short reading). A read is an
 * `evidence.viewed` custody event with `details.part: "metadata"`: the tags hold the position.
 *
 * Stored bytes never change, so neither do their tags: the last TAGS_KEPT readings are kept by
 * SHA-256, and callers asking for the same bytes at once share one. Each reading needs the
 * whole file locally: with S3 storage a download of the object (gigabytes for a video), which
 * every refresh of the page repeated.
 */
@Injectable()
export class EvidenceTagsService implements OnModuleDestroy {
  private reader: AllTagsReader | undefined;
  private readonly readings = new Map<string, Promise<Reading>>();

  constructor(
    private readonly evidence: EvidenceService,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {}

  async read(actor: Actor, id: string, headersOnly = false): Promise<EvidenceTags> {
    // The policy first: non-members and items outside an `own` scope are "not found".
    const item = await this.evidence.itemFor(actor, id, 'evidence.metadata');
    const { version, groups } = await this.tagsOf(item.sha256);
    await this.evidence.recordView(actor, item, 'metadata', headersOnly);
    return { evidenceId: id, sha256: item.sha256, reader: `ExifTool ${version}`, groups };
  }

  private tagsOf(sha256: string): Promise<Reading> {
    let reading = this.readings.get(sha256);
    if (reading) {
      // The most recently asked for goes last, so the oldest is the one dropped.
      this.readings.delete(sha256);
    } else {
      reading = this.readTags(sha256);
      // A failed reading is not kept, the next ask tries again; but one that ran out of time is:
      // the same bytes would again, holding a reader for as long.
      reading.catch((error: unknown) => error instanceof DomainError && error.kind === 'unprocessable' ? undefined : this.readings.delete(sha256));
      if (this.readings.size >= TAGS_KEPT) this.readings.delete(this.readings.keys().next().value!);
    }
    this.readings.set(sha256, reading);
    return reading;
  }

  private async readTags(sha256: string): Promise<Reading> {
    this.reader ??= new AllTagsReader({ timeoutMs: this.config.metadataTimeLimitMs });
    const reader = this.reader;
    try {
      const version = await reader.version();
      return { version, groups: await this.store.withLocalFile(sha256, (path) => reader.read(path)) };
    } catch (error) {
      // Both hold for these bytes whenever they are read: tagsOf keeps the refusal.
      if (error instanceof TagsTimeout) {
        throw unprocessable(
          `ExifTool did not finish reading this file within ${error.timeoutMs / 1000} s (CUSTODIA_METADATA_TIME_LIMIT_MS), as with a block that inflates to hundreds of megabytes; the item's own reading (extracted, with its notes) stands`,
        );
      }
      if (error instanceof TagsTooLarge) {
        throw unprocessable(
          `ExifTool's reading of this file passes ${error.limitBytes / 1024 / 1024} MiB (a text block that inflates to hundreds of megabytes, or the like); it is not sent. The item's own reading (extracted, with its notes) stands`,
        );
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || /perl/i.test(String(error))) {
        throw new DomainError('unavailable', 'ExifTool cannot run on this server: it needs Perl 5 (Debian: apt-get install perl)');
      }
      throw error;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.reader?.end();
  }
}
