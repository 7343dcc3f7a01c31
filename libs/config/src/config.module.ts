import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { CustodiaConfig } from './config.js';

/** Injection token of the validated configuration. */
export const CUSTODIA_CONFIG = Symbol('CUSTODIA_CONFIG');

/** Provides the configuration loaded once at start-up by the app shell. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: CustodiaConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: CUSTODIA_CONFIG, useValue: config }], exports: [CUSTODIA_CONFIG] };
  }
}
