import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Actor } from '#custodia/auth';
import { DomainError } from '#custodia/errors';
import { AllTagsReader, type TagGroups } from '#custodia/media';
import type { BlobStore } from '#custodia/storage';
import type { EvidenceTags } from './evidence.schema.js';
import { BLOB_STORE, EvidenceService } from './evidence.service.js';

/**
 * Reads an item's every embedded tag with ExifTool, on demand, for investigators who want the
 * whole list (the evidence resource's `extracted` is the short reading). A read is an
 * `evidence.viewed` custody event with `details.part: "metadata"`: the tags hold the position.
 */
@Injectable()
export class EvidenceTagsService implements OnModuleDestroy {
  private reader: AllTagsReader | undefined;

  constructor(
    private readonly evidence: EvidenceService,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
  ) {}

  async read(actor: Actor, id: string, headersOnly = false): Promise<EvidenceTags> {
    // The policy first: non-members and items outside an `own` scope are "not found".
    const item = await this.evidence.itemFor(actor, id, 'evidence.metadata');
    this.reader ??= new AllTagsReader();
    const reader = this.reader;
    let groups: TagGroups;
    let version: string;
    try {
      version = await reader.version();
      groups = await this.store.withLocalFile(item.sha256, (path) => reader.read(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || /perl/i.test(String(error))) {
        throw new DomainError('unavailable', 'ExifTool cannot run on this server: it needs Perl 5 (Debian: apt-get install perl)');
      }
      throw error;
    }
    await this.evidence.recordView(actor, item, 'metadata', headersOnly);
    return { evidenceId: id, sha256: item.sha256, reader: `ExifTool ${version}`, groups };
  }

  async onModuleDestroy(): Promise<void> {
    await this.reader?.end();
  }
}
