import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { Public } from '#custodia/auth';
import { BLOB_STORE } from '#custodia/evidence';
import type { BlobStore } from '#custodia/storage';

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly db: DataSource,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
  ) {}

  @Get()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready when the database answers and the blob store takes writes. */
  @Get('ready')
  async ready(): Promise<{ status: 'ok'; database: 'ok'; storage: 'ok' }> {
    const database = await this.db.query('SELECT 1').then(
      () => true,
      () => false,
    );
    const storage = await this.store.check().then(
      () => true,
      () => false,
    );
    if (!database || !storage) {
      throw new ServiceUnavailableException(
        `Not ready: ${[!database && 'the database does not answer', !storage && 'the blob store does not take writes'].filter(Boolean).join(' and ')}`,
      );
    }
    return { status: 'ok', database: 'ok', storage: 'ok' };
  }
}
