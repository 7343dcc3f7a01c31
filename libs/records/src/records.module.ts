import { Module } from '@nestjs/common';
import { CasesModule } from '#custodia/cases';
import { CustodyModule } from '#custodia/custody';
import { RecordsService } from './records.service.js';
import { Vocabularies } from './vocabularies.js';

@Module({
  imports: [CustodyModule, CasesModule],
  providers: [
    Vocabularies,
    RecordsService,
  ],
  exports: [RecordsService, Vocabularies],
})
export class RecordsModule {}
