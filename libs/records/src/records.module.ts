import { Module } from '@nestjs/common';
import { CasesModule } from '#custodia/cases';
import { CustodyModule } from '#custodia/custody';
import { EvidenceModule } from '#custodia/evidence';
import { CasualtiesRepository } from './casualties/casualties.repository.js';
import { CasualtiesService } from './casualties/casualties.service.js';
import { DamageRepository } from './damage/damage.repository.js';
import { DamageService } from './damage/damage.service.js';
import { RecordExports } from './exports/record-exports.service.js';
import { IncidentsRepository } from './incidents/incidents.repository.js';
import { IncidentsService } from './incidents/incidents.service.js';
import { RecordChanges } from './record-change.js';
import { RemnantsRepository } from './remnants/remnants.repository.js';
import { RemnantsService } from './remnants/remnants.service.js';
import { Vocabularies } from './vocabularies/vocabularies.repository.js';

/** Incidents, casualty and damage records, munition remnants, their vocabularies and exports. Evidence links live in EvidenceModule. */
@Module({
  imports: [CustodyModule, CasesModule, EvidenceModule],
  providers: [
    Vocabularies,
    RecordChanges,
    IncidentsRepository,
    CasualtiesRepository,
    DamageRepository,
    IncidentsService,
    CasualtiesService,
    DamageService,
    RemnantsRepository,
    RemnantsService,
    RecordExports,
  ],
  exports: [IncidentsService, CasualtiesService, DamageService, RemnantsService, RecordExports, Vocabularies],
})
export class RecordsModule {}
