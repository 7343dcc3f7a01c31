import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { assertMay, type Actor } from '#custodia/auth';
import { CasesService } from '#custodia/cases';
import { CustodyLog } from '#custodia/custody';
import { CasualtiesRepository } from '../casualties/casualties.repository.js';
import type { CasualtyView } from '../casualties/casualty.schema.js';
import type { StoredCasualty } from '../casualties/casualties.repository.js';
import { CasualtiesService } from '../casualties/casualties.service.js';
import type { DamageView } from '../damage/damage.schema.js';
import { DamageRepository } from '../damage/damage.repository.js';
import { damageView } from '../damage/damage.service.js';
import type { IncidentView } from '../incidents/incident.schema.js';
import { IncidentsRepository } from '../incidents/incidents.repository.js';
import { IncidentsService } from '../incidents/incidents.service.js';
import type { FullRemnantView as RemnantView } from '../remnants/remnant.schema.js';
import { RemnantsRepository } from '../remnants/remnants.repository.js';
import { RemnantsService } from '../remnants/remnants.service.js';
import { csvText } from './csv.js';
import { featureCollectionText, type GeoJsonLayer } from './geojson.js';

const CSV_HEADER = [
  'id', 'incidentId', 'incidentCode', 'countingUnit', 'groupSizeMin', 'groupSizeMax', 'harmStatus', 'sex', 'age', 'ageMin',
  'ageMax', 'ageGroup', 'civilianStatus', 'specialCategories', 'dateOfHarm', 'dateOfHarmPrecision', 'dateOfDeath',
  'dateOfDeathPrecision', 'causeOfDeath',
  'identificationStatus', 'status', 'sourceCount', 'unsourced', 'consentToPublishName',
];

const REMNANTS_CSV_HEADER = [
  'id', 'incidentId', 'incidentCode', 'weaponType', 'component', 'serialNumber', 'serialScheme', 'serialPrefix', 'serialSeries',
  'serialSequence', 'markings', 'markingMethods', 'manufacturer', 'manufacturerBasis', 'manufacturerConfidence', 'countryOfOrigin',
  'countryBasis', 'countryConfidence', 'producer', 'attributionBasis', 'attributionConfidence', 'condition', 'recoveredAt',
  'recoveredBy', 'lat', 'lon', 'status', 'sourceCount', 'unsourced', 'currentHolder', 'currentPlace', 'heldSince', 'transfers',
];

/** Records read for a download at a time: a few hundred, whatever the case holds. */
const EXPORT_PAGE = 500;

/** Each page of `ids` (EXPORT_PAGE at a time) loaded, in order. */
async function* inPages<T>(ids: readonly string[], load: (page: readonly string[]) => Promise<T[]>): AsyncGenerator<T[]> {
  for (let start = 0; start < ids.length; start += EXPORT_PAGE) yield await load(ids.slice(start, start + EXPORT_PAGE));
}

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
    private readonly remnants: RemnantsRepository,
    private readonly remnantViews: RemnantsService,
  ) {}

  /**
   * RFC 7946 FeatureCollection of a case's incidents and, as their own layer, its munition
   * remnants, for QGIS and web maps: text made a page at a time (the access check is done first).
   */
  async incidentsGeoJson(actor: Actor, caseId: string, layers: readonly GeoJsonLayer[] = ['incidents', 'remnants']): Promise<AsyncIterable<string>> {
    await this.cases.assertMay(actor, caseId, 'records.export');
    const remnantIds = layers.includes('remnants') ? await this.remnants.idsOfCase(caseId) : [];
    const incidentIds = layers.includes('incidents') || remnantIds.length > 0 ? await this.incidents.idsOfCase(caseId) : [];
    return featureCollectionText(
      inPages(incidentIds, async (ids) => this.incidentViews.viewsOf(await this.incidents.ofCase(caseId, ids))),
      inPages(remnantIds, async (ids) => this.remnantViews.viewsOf(await this.remnants.byIds(ids))),
      layers.includes('incidents'),
    );
  }

  /** RFC 4180 CSV of a case's munition remnants, one row each, with who holds the object now: text made a page at a time. */
  async remnantsCsv(actor: Actor, caseId: string): Promise<AsyncIterable<string>> {
    await this.cases.assertMay(actor, caseId, 'records.export');
    const codes = await this.incidents.codesOfCase(caseId);
    const rows = (v: RemnantView) => {
      const now = v.physicalCustody[v.physicalCustody.length - 1];
      return [
        v.id, v.incidentId, codes.get(v.incidentId) ?? null, v.weaponType, v.component, v.serialNumber, v.serialParts?.scheme ?? null,
        v.serialParts?.prefix ?? null, v.serialParts?.series ?? null, v.serialParts?.number ?? null, v.markings.map((m) => m.text).join(';'),
        v.markings.map((m) => m.method ?? '').join(';'), v.manufacturer?.name ?? null, v.manufacturer?.basis ?? null,
        v.manufacturer?.confidence ?? null, v.countryOfOrigin?.country ?? null, v.countryOfOrigin?.basis ?? null,
        v.countryOfOrigin?.confidence ?? null, v.attribution?.producer ?? null, v.attribution?.basis ?? null,
        v.attribution?.confidence ?? null, v.condition, v.recoveredAt, v.recoveredBy, v.location?.lat ?? null, v.location?.lon ?? null,
        v.status, v.sources.length, v.unsourced, now?.holder ?? null, now?.place ?? null, now?.from ?? null, v.physicalCustody.length,
      ];
    };
    const ids = await this.remnants.idsOfCase(caseId);
    return csvText(REMNANTS_CSV_HEADER, inPages(ids, async (page) => (await this.remnantViews.viewsOf(await this.remnants.byIds(page))).map(rows)));
  }

  /**
   * RFC 4180 CSV of a case's casualty records, text made a page at a time. Names only for who
   * may see them and asks for them; that download is recorded in the custody log before it
   * begins (the names themselves never are).
   */
  async casualtiesCsv(actor: Actor, caseId: string, includeNames: boolean): Promise<AsyncIterable<string>> {
    await this.cases.assertMay(actor, caseId, 'records.export');
    if (includeNames) assertMay(actor, 'casualty.names');
    const ids = await this.casualties.idsOfCase(caseId);
    const line = (row: StoredCasualty & { incidentCode: string }) => {
      const v = this.casualtyViews.viewOf(row, includeNames);
      return [
        v.id, v.incidentId, row.incidentCode, v.countingUnit, v.groupSize?.min ?? null, v.groupSize?.max ?? null,
        v.harmStatus, v.sex, v.age, v.ageRange?.min ?? null, v.ageRange?.max ?? null, v.ageGroup, v.civilianStatus,
        v.specialCategories.join(';'), v.dateOfHarm, v.dateOfHarmPrecision, v.dateOfDeath, v.dateOfDeathPrecision, v.causeOfDeath, v.identificationStatus, v.status,
        v.sources.length, v.unsourced, v.consentToPublishName,
        ...(includeNames ? [v.fullName ?? null, (v.nameVariants ?? []).join(';')] : []),
      ];
    };
    if (includeNames) {
      await this.db.transaction((tx) =>
        this.custody.append(tx, {
          action: 'export.downloaded',
          actor,
          caseId,
          subject: { type: 'case', id: caseId },
          details: { export: 'casualties.csv', includeNames: true, rows: ids.length },
        }),
      );
    }
    const header = [...CSV_HEADER, ...(includeNames ? ['fullName', 'nameVariants'] : [])];
    return csvText(header, inPages(ids, async (page) => (await this.casualties.withIncidentCodes(page)).map(line)));
  }

  /**
   * The records of a court package: the incidents, their casualty records (names only when
   * `withNames`), damage records and munition remnants (with the object's chain of custody). No access check: the export checked access to the case.
   */
  async packageRecords(
    caseId: string,
    incidentIds: readonly string[],
    withNames: boolean,
  ): Promise<{ incidents: IncidentView[]; casualties: CasualtyView[]; damage: DamageView[]; remnants: RemnantView[] }> {
    const rows = await this.incidents.ofCase(caseId, incidentIds);
    const ids = rows.map((row) => row.id);
    return {
      incidents: await this.incidentViews.viewsOf(rows),
      casualties: (await this.casualties.ofIncidents(ids)).map((row) => this.casualtyViews.viewOf(row, withNames)),
      damage: (await this.damage.ofIncidents(ids)).map(damageView),
      remnants: await this.remnantViews.viewsOf(await this.remnants.ofIncidents(ids)),
    };
  }
}

/** The name libs/exports knows the package's records by. */
export { RecordExports as RecordsService };
