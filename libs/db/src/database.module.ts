import { Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** Holds the process-wide database handle, opened and migrated before Nest starts (API and worker alike). */
@Module({})
export class DatabaseModule {
  static forRoot(dataSource: DataSource): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [{ provide: DataSource, useValue: dataSource }],
      exports: [DataSource],
    };
  }
}
