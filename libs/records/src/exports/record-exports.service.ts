import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { assertMay, type Actor } from '#custodia/auth';
import { CasesService } from '#custodia/cases';
import { CustodyLog } from '#custodia/custody';
import { CasualtiesRepository } from '../casualties/casualties.repository.js';
import type { CasualtyView } from '../casualties/casualty.schema.js';
import { CasualtiesService } from '../casualties/casualties.service.js';
import type { DamageView } from '../damage/damage.schema.js';
import { DamageRepository } from '../damage/damage.repository.js';
import { damageView } from '../damage/damage.service.js';
import type { IncidentView } from '../incidents/incident.schema.js';
import { IncidentsRepository } from '../incidents/incidents.repository.js';
import { IncidentsService } from '../incidents/incidents.service.js';
import { toCsv } from './csv.js';
import { incidentsFeatureCollection, type FeatureCollection } from './geojson.js';

const CSV_HEADER = [
  'id', 'incidentId', 'incidentCode', 'countingUnit', 'groupSizeMin', 'groupSizeMax', 'harmStatus', 'sex', 'age', 'ageMin',
  'ageMax', 'ageGroup', 'civilianStatus', 'specialCategories', 'dateOfHarm', 'dateOfDeath', 'causeOfDeath',
  'identificationStatus', 'status', 'sourceCount', 'unsourced', 'consentToPublishName',
];

/** A case's records in the formats other tools read: GeoJSON, CSV, and a court package's records. */
@Injectable()
export class RecordExports {
  constructor(
    private readonly db: DataSource,
    private readonly custody: CustodyLog,
    private readonly cases: CasesService,
    private readonly incidents: IncidentsRepository,
    private readonly incidentViews: IncidentsService,
    private readonly casualties: CasualtiesRepository,
    private readonly casualtyViews: CasualtiesService,
    private readonly damage: DamageRepository,
  ) {}

  /** RFC 7946 FeatureCollection of a case's incidents, for QGIS and web maps. */
  async incidentsGeoJson(actor: Actor, caseId: string): Promise<FeatureCollection> {
    await this.cases.assertMay(actor, caseId, 'records.export');
    return incidentsFeatureCollection(await this.incidentViews.viewsOf(await this.incidents.ofCase(caseId)));
  }

  /**
   * RFC 4180 CSV of a case's casualty records. Names only for who may see them and asks for
   * them; that download is recorded in the custody log (the names themselves never are).
   */
  async casualtiesCsv(actor: Actor, caseId: string, includeNames: boolean): Promise<string> {
    await this.cases.assertMay(actor, caseId, 'records.export');
    if (includeNames) assertMay(actor, 'casualty.names');
    const rows = await this.casualties.ofCase(caseId);
    const lines = rows.map((row) => {
      const v = this.casualtyViews.viewOf(row, includeNames);
      return [
        v.id, v.incidentId, row.incidentCode, v.countingUnit, v.groupSize?.min ?? null, v.groupSize?.max ?? null,
        v.harmStatus, v.sex, v.age, v.ageRange?.min ?? null, v.ageRange?.max ?? null, v.ageGroup, v.civilianStatus,
        v.specialCategories.join(';'), v.dateOfHarm, v.dateOfDeath, v.causeOfDeath, v.identificationStatus, v.status,
        v.sources.length, v.unsourced, v.consentToPublishName,
        ...(includeNames ? [v.fullName ?? null, (v.nameVariants ?? []).join(';')] : []),
      ];
    });
    if (includeNames) {
      await this.db.transaction((tx) =>
        this.custody.append(tx, {
          action: 'export.downloaded',
          actor,
          caseId,
          subject: { type: 'case', id: caseId },
          details: { export: 'casualties.csv', includeNames: true, rows: rows.length },
        }),
      );
    }
    return toCsv([...CSV_HEADER, ...(includeNames ? ['fullName', 'nameVariants'] : [])], lines);
  }

  /**
   * The records of a court package: the incidents, their casualty records (names only when
   * `withNames`) and damage records. No access check: the export checked access to the case.
   */
  async packageRecords(
    caseId: string,
    incidentIds: readonly string[],
    withNames: boolean,
  ): Promise<{ incidents: IncidentView[]; casualties: CasualtyView[]; damage: DamageView[] }> {
    const rows = await this.incidents.ofCase(caseId, incidentIds);
    const ids = rows.map((row) => row.id);
    return {
      incidents: await this.incidentViews.viewsOf(rows),
      casualties: (await this.casualties.ofIncidents(ids)).map((row) => this.casualtyViews.viewOf(row, withNames)),
      damage: (await this.damage.ofIncidents(ids)).map(damageView),
    };
  }
}

/** The name libs/exports knows the package's records by. */
export { RecordExports as RecordsService };
