import { Module } from '@nestjs/common';
import { CasesModule } from '#custodia/cases';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CustodyModule, SigningKeys } from '#custodia/custody';
import { loadMasterKey } from '#custodia/keyring';
import { RECORDS_KEY, RecordsService } from './records.service.js';
import { Vocabularies } from './vocabularies.js';

@Module({
  imports: [CustodyModule, CasesModule],
  providers: [
    {
      provide: RECORDS_KEY,
      // After SigningKeys: that factory generates the key file when none exists, so the two
      // never race to create it.
      inject: [CUSTODIA_CONFIG, SigningKeys],
      useFactory: async (config: CustodiaConfig) => (await loadMasterKey(config.masterKey, config.dataDir)).key,
    },
    Vocabularies,
    RecordsService,
  ],
  exports: [RecordsService, Vocabularies],
})
export class RecordsModule {}
