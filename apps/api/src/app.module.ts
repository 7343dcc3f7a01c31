import { Module, type DynamicModule } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { DatabaseModule } from '#custodia/db';
import { AuthModule } from '#custodia/auth';
import { CasesModule } from '#custodia/cases';
import { CustodyModule } from '#custodia/custody';
import { EvidenceModule } from '#custodia/evidence';
import { ExportsModule } from '#custodia/exports';
import { RecordsModule } from '#custodia/records';
import { UploadsModule } from '#custodia/uploads';
import { ConfigModule, type CustodiaConfig } from '#custodia/config';
import { AuthController } from './controllers/auth.controller.js';
import { CasesController } from './controllers/cases.controller.js';
import { ConsoleController } from './controllers/console.controller.js';
import { DownloadLinksController } from './controllers/download-links.controller.js';
import { EvidenceController } from './controllers/evidence.controller.js';
import { ExportsController } from './controllers/exports.controller.js';
import { HealthController } from './controllers/health.controller.js';
import { LogController } from './controllers/log.controller.js';
import { RecordsController, VocabulariesController } from './controllers/records.controller.js';
import { RemnantsController } from './controllers/remnants.controller.js';
import { UploadsController } from './controllers/uploads.controller.js';
import { UsersController } from './controllers/users.controller.js';

/** Every HTTP controller; tests walk this list to prove each route declares its access rule. */
export const CONTROLLERS = [HealthController, AuthController, DownloadLinksController, UsersController, CasesController, LogController, EvidenceController, RecordsController, RemnantsController, VocabulariesController, ExportsController, UploadsController, ConsoleController];

@Module({})
export class AppModule {
  static register(config: CustodiaConfig, dataSource: DataSource): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot(dataSource), AuthModule, CasesModule, CustodyModule, EvidenceModule, RecordsModule, ExportsModule, UploadsModule],
      controllers: CONTROLLERS,
    };
  }
}
