import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { Public } from '#custodia/auth';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { BLOB_STORE, FixityJob } from '#custodia/evidence';
import { timestamp, z } from '#custodia/schema';
import type { BlobStore } from '#custodia/storage';
import { Endpoint } from '../http/endpoint.js';

/**
 * The blob store's check creates, fsyncs, links and removes a file; the route answers anyone
 * without a token, so one check serves every caller for this long.
 */
const STORAGE_CHECK_MS = 2000;

const Live = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Live' });
const Fixity = z
  .strictObject({
    status: z.enum(['ok', 'failed', 'disabled']).describe('failed while any item\'s last fixity check failed; disabled when this process schedules none'),
    failures: z.int().min(0).describe('Items whose last fixity check found a blob altered or missing'),
    lastCheckedAt: timestamp().nullable().describe('When the last fixity check of any item ended (null: none yet)'),
  })
  .meta({ id: 'FixityHealth' });
const Ready = z
  .strictObject({
    status: z.enum(['ok', 'degraded']).describe('degraded (still 200) when a fixity check failed: the archive serves, an operator must look'),
    database: z.literal('ok'),
    storage: z.literal('ok'),
    fixity: Fixity,
  })
  .meta({ id: 'Ready' });

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly db: DataSource,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    private readonly fixity: FixityJob,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {}

  private storageCheck: { at: number; writable: Promise<boolean> } | null = null;

  private storageWritable(): Promise<boolean> {
    if (!this.storageCheck || Date.now() - this.storageCheck.at > STORAGE_CHECK_MS) {
      this.storageCheck = { at: Date.now(), writable: this.store.check().then(() => true, () => false) };
    }
    return this.storageCheck.writable;
  }

  @Get()
  @Endpoint({ operationId: 'getLiveness', summary: 'Answers while the process runs', response: Live })
  live(): z.output<typeof Live> {
    return { status: 'ok' };
  }

  /**
   * Ready when the database answers and the blob store takes writes. A failed fixity check does
   * not make the process unready (a load balancer would then take every instance out for one bad
   * blob): it answers 200 with `status: degraded` and the count, for monitoring to alert on.
   */
  @Get('ready')
  @Endpoint({
    operationId: 'getReadiness',
    summary: 'Ready when the database answers and the blob store takes writes (else 503); failed fixity checks show as degraded, still 200',
    description: 'The blob store is tried (a file created, synced, linked and removed) at most once every 2 s, whoever asks.',
    response: Ready,
    problems: [503],
  })
  async ready(): Promise<z.output<typeof Ready>> {
    const database = await this.db.query('SELECT 1').then(
      () => true,
      () => false,
    );
    const storage = await this.storageWritable();
    if (!database || !storage) {
      throw new ServiceUnavailableException(
        `Not ready: ${[!database && 'the database does not answer', !storage && 'the blob store does not take writes'].filter(Boolean).join(' and ')}`,
      );
    }
    const fixity = await this.fixity.summary();
    return {
      status: fixity.failures ? 'degraded' : 'ok',
      database: 'ok',
      storage: 'ok',
      fixity: {
        status: fixity.failures ? 'failed' : this.config.fixityEnabled ? 'ok' : 'disabled',
        failures: fixity.failures,
        lastCheckedAt: fixity.lastCheckedAt?.toISOString() ?? null,
      },
    };
  }
}
