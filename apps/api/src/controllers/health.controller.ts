import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { Public } from '#custodia/auth';
import { BLOB_STORE } from '#custodia/evidence';
import { z } from '#custodia/schema';
import type { BlobStore } from '#custodia/storage';
import { Endpoint } from '../http/endpoint.js';

const Live = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Live' });
const Ready = z.strictObject({ status: z.literal('ok'), database: z.literal('ok'), storage: z.literal('ok') }).meta({ id: 'Ready' });

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly db: DataSource,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
  ) {}

  @Get()
  @Endpoint({ operationId: 'getLiveness', summary: 'Answers while the process runs', response: Live })
  live(): z.output<typeof Live> {
    return { status: 'ok' };
  }

  /** Ready when the database answers and the blob store takes writes. */
  @Get('ready')
  @Endpoint({ operationId: 'getReadiness', summary: 'Ready when the database answers and the blob store takes writes (else 503)', response: Ready, problems: [503] })
  async ready(): Promise<z.output<typeof Ready>> {
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
