import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { OpenWhilePasswordChangeDue, Permit } from '#custodia/auth';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { z } from '#custodia/schema';
import { Endpoint } from '../http/endpoint.js';

const ClientSettings = z
  .strictObject({
    mapTileUrl: z.string().nullable().describe("The operator's map tile server (a {z}/{x}/{y} template, CUSTODIA_MAP_TILE_URL); null: draw the bundled offline boundaries only"),
  })
  .meta({ id: 'ClientSettings' });

/** What a client (the web console, a capture app) needs to know of this archive's setup: nothing secret. */
@ApiTags('config')
@ApiBearerAuth()
@Controller('config')
export class ConsoleController {
  constructor(@Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig) {}

  @Get()
  @Permit('self')
  @OpenWhilePasswordChangeDue()
  @Endpoint({ operationId: 'getClientSettings', summary: "This archive's settings for clients (the map tile server)", response: ClientSettings })
  settings(): z.output<typeof ClientSettings> {
    return { mapTileUrl: this.config.mapTileUrl };
  }
}
