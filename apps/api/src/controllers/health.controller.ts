import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { access, constants } from 'node:fs/promises';
import { DataSource } from 'typeorm';
import { Public } from '#custodia/auth';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly db: DataSource,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {}

  @Get()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready when the database answers and the blob folder is writable. */
  @Get('ready')
  async ready(): Promise<{ status: 'ok'; database: 'ok'; storage: 'ok' }> {
    const database = await this.db.query('SELECT 1').then(
      () => true,
      () => false,
    );
    const storage = await access(this.config.dataDir, constants.W_OK).then(
      () => true,
      () => false,
    );
    if (!database || !storage) {
      throw new ServiceUnavailableException(
        `Not ready: ${[!database && 'the database does not answer', !storage && 'the data folder is not writable'].filter(Boolean).join(' and ')}`,
      );
    }
    return { status: 'ok', database: 'ok', storage: 'ok' };
  }
}
