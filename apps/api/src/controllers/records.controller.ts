import { Body, Controller, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Allow, CurrentActor, type Actor } from '#custodia/auth';
import { badRequest } from '#custodia/errors';
import { RecordsService, Vocabularies } from '#custodia/records';
import { uuidParam } from '../http/params.js';

// Bodies are checked field by field in the records library (vocabulary codes need the database),
// so the routes take plain objects; these schemas document them.
const incidentBody = {
  schema: {
    type: 'object',
    required: ['title', 'type', 'startAt'],
    description:
      'data-model.md: code, title, description, type, startAt, endAt, datePrecision, location {lat, lon}, geoPrecision, placeName, ' +
      'admin1-3, weapons [{weaponType, identificationBasis, confidence}], attributions [{actor, basis, confidence}], grade, ' +
      'verificationStatus, killed/injured/civilianKilled {min, max}, breakdown {killed, injured}, relatedIncidents ' +
      '[{incidentId, relation}], evidence [{evidenceId, role}], reason (required on PATCH)',
  },
};
const casualtyBody = {
  schema: {
    type: 'object',
    required: ['harmStatus'],
    description:
      'countingUnit (individual | group with groupSize {min, max}), harmStatus, fullName, nameVariants (sealed at rest), sex, age, ' +
      'ageRange, ageGroup, civilianStatus, civilianStatusBasis, specialCategories, dateOfHarm, dateOfDeath, causeOfDeath, ' +
      'identificationStatus, status, sources [{evidenceId, reliability}], consentToPublishName, reason (required on PATCH)',
  },
};
const damageBody = {
  schema: {
    type: 'object',
    description:
      'objectName, address, location, footprint (GeoJSON Polygon), objectCategory, ihlProtection, damageLevel, assessmentMethod, ' +
      'assessedAt, imageryDate, fieldValidated, functionality, serviceImpact {description, counts}, occupancyAtTime, ' +
      'militaryUseIndicators, status, sources [{evidenceId, reliability}], reason (required on PATCH)',
  },
};

@ApiTags('records')
@ApiBearerAuth()
@Controller()
export class RecordsController {
  constructor(private readonly records: RecordsService) {}

  @Post('cases/:caseId/incidents')
  @Allow('admin', 'investigator', 'documenter')
  @ApiBody(incidentBody)
  createIncident(@CurrentActor() actor: Actor, @Param('caseId', uuidParam('caseId')) caseId: string, @Body() body: Record<string, unknown>) {
    return this.records.createIncident(actor, caseId, body);
  }

  @Get('cases/:caseId/incidents')
  @Allow('admin', 'investigator', 'documenter')
  listIncidents(@CurrentActor() actor: Actor, @Param('caseId', uuidParam('caseId')) caseId: string, @Query() query: Record<string, unknown>) {
    return this.records.listIncidents(actor, caseId, query);
  }

  @Get('cases/:caseId/incidents.geojson')
  @Allow('admin', 'investigator', 'documenter')
  @ApiProduces('application/geo+json')
  async incidentsGeoJson(@CurrentActor() actor: Actor, @Param('caseId', uuidParam('caseId')) caseId: string, @Res() res: Response): Promise<void> {
    const collection = await this.records.incidentsGeoJson(actor, caseId);
    res.setHeader('Content-Type', 'application/geo+json; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="incidents-${caseId}.geojson"`);
    res.setHeader('Cache-Control', 'private, no-store');
    res.send(JSON.stringify(collection));
  }

  @Get('cases/:caseId/casualties.csv')
  @Allow('admin', 'investigator', 'documenter')
  @ApiProduces('text/csv')
  async casualtiesCsv(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuidParam('caseId')) caseId: string,
    @Query('includeNames') includeNames: unknown,
    @Res() res: Response,
  ): Promise<void> {
    if (includeNames !== undefined && includeNames !== 'true' && includeNames !== 'false') {
      throw badRequest('includeNames must be true or false', [{ field: 'includeNames', message: 'must be true or false' }]);
    }
    const csv = await this.records.casualtiesCsv(actor, caseId, includeNames === 'true');
    res.setHeader('Content-Type', 'text/csv; charset=utf-8; header=present');
    res.setHeader('Content-Disposition', `attachment; filename="casualties-${caseId}.csv"`);
    res.setHeader('Cache-Control', 'private, no-store');
    res.send(csv);
  }

  @Get('incidents/:id')
  @Allow('admin', 'investigator', 'documenter')
  getIncident(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string) {
    return this.records.getIncident(actor, id);
  }

  @Patch('incidents/:id')
  @Allow('admin', 'investigator')
  @ApiBody(incidentBody)
  patchIncident(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Body() body: Record<string, unknown>) {
    return this.records.patchIncident(actor, id, body);
  }

  @Post('incidents/:id/casualties')
  @Allow('admin', 'investigator')
  @ApiBody(casualtyBody)
  recordCasualty(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Body() body: Record<string, unknown>) {
    return this.records.recordCasualty(actor, id, body);
  }

  @Get('incidents/:id/casualties')
  @Allow('admin', 'investigator', 'documenter')
  listCasualties(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string) {
    return this.records.listCasualties(actor, id);
  }

  @Patch('casualties/:id')
  @Allow('admin', 'investigator')
  @ApiBody(casualtyBody)
  patchCasualty(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Body() body: Record<string, unknown>) {
    return this.records.patchCasualty(actor, id, body);
  }

  @Post('incidents/:id/damage')
  @Allow('admin', 'investigator')
  @ApiBody(damageBody)
  recordDamage(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Body() body: Record<string, unknown>) {
    return this.records.recordDamage(actor, id, body);
  }

  @Get('incidents/:id/damage')
  @Allow('admin', 'investigator', 'documenter')
  listDamage(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string) {
    return this.records.listDamage(actor, id);
  }

  @Patch('damage/:id')
  @Allow('admin', 'investigator')
  @ApiBody(damageBody)
  patchDamage(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Body() body: Record<string, unknown>) {
    return this.records.patchDamage(actor, id, body);
  }
}

@ApiTags('records')
@ApiBearerAuth()
@Controller('vocabularies')
export class VocabulariesController {
  constructor(private readonly vocabularies: Vocabularies) {}

  @Get(':name')
  @Allow()
  get(@Param('name') name: string) {
    if (!/^[a-z_]{1,60}$/.test(name)) throw badRequest('Unknown vocabulary name', [{ field: 'name', message: 'must be a vocabulary name such as weapon_type' }]);
    return this.vocabularies.terms(name);
  }
}
