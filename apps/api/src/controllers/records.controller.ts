import { Controller, Get, Param, Patch, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentActor, Permit, type Actor } from '#custodia/auth';
import { badRequest } from '#custodia/errors';
import {
  CasualtiesService,
  Casualty,
  CasualtyList,
  CreateCasualtyBody,
  CreateDamageBody,
  CreateIncidentBody,
  Damage,
  DamageList,
  DamageService,
  GEOJSON_LAYERS,
  Incident,
  IncidentPage,
  IncidentQuery,
  IncidentsService,
  PatchCasualtyBody,
  PatchDamageBody,
  PatchIncidentBody,
  RecordExports,
  Vocabularies,
  Vocabulary,
  type CasualtyView,
  type DamageView,
  type GeoJsonLayer,
  type IncidentPage as IncidentPageView,
  type IncidentView,
} from '#custodia/records';
import { z } from '#custodia/schema';
import { textDownload } from '../http/download.js';
import { Endpoint, ValidBody, ValidQuery } from '../http/endpoint.js';
import { uuidParam } from '../http/params.js';

const GeoJsonQuery = z.strictObject({
  layers: z
    .string({ message: 'must be given once' })
    .refine((value) => value.split(',').every((layer) => (GEOJSON_LAYERS as readonly string[]).includes(layer)), `must be layers among ${GEOJSON_LAYERS.join(', ')}, separated by commas`)
    .optional()
    .describe('Which layers, comma-separated (default incidents,remnants); each feature names its layer in properties.layer'),
});

const CasualtiesCsvQuery = z.strictObject({
  includeNames: z.enum(['true', 'false']).optional().describe("Add fullName and nameVariants (investigators of the case only); the download is logged"),
});

@ApiTags('records')
@ApiBearerAuth()
@Controller()
export class RecordsController {
  constructor(
    private readonly incidents: IncidentsService,
    private readonly casualties: CasualtiesService,
    private readonly damage: DamageService,
    private readonly exports: RecordExports,
  ) {}

  @Post('cases/:caseId/incidents')
  @Permit('incident.report')
  @Endpoint({
    summary: 'Report an incident (a documenter’s starts as reported); `evidence` links items of the case',
    body: CreateIncidentBody,
    response: Incident,
    status: 201,
    problems: [403, 404, 409, 422],
  })
  reportIncident(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuidParam('caseId')) caseId: string,
    @ValidBody() body: z.output<typeof CreateIncidentBody>,
  ): Promise<IncidentView> {
    return this.incidents.report(actor, caseId, body);
  }

  @Get('cases/:caseId/incidents')
  @Permit('incident.read')
  @Endpoint({ summary: "A case's incidents, latest first (a documenter's: those they reported)", query: IncidentQuery, response: IncidentPage, problems: [404, 422] })
  listIncidents(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuidParam('caseId')) caseId: string,
    @ValidQuery() query: z.output<typeof IncidentQuery>,
  ): Promise<IncidentPageView> {
    return this.incidents.list(actor, caseId, query);
  }

  @Get('cases/:caseId/incidents.geojson')
  @Permit('records.export')
  @Endpoint({
    summary: "The case's incidents as an RFC 7946 FeatureCollection (one Point per incident, flat properties), and its munition remnants as a layer of their own",
    query: GeoJsonQuery,
    produces: 'application/geo+json',
    producesSchema: {
      type: 'object',
      required: ['type', 'features'],
      properties: { type: { type: 'string', enum: ['FeatureCollection'] }, features: { type: 'array', items: { type: 'object' } } },
    },
    problems: [404],
  })
  async incidentsGeoJson(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuidParam('caseId')) caseId: string,
    @ValidQuery() query: z.output<typeof GeoJsonQuery>,
    @Res() res: Response,
  ): Promise<void> {
    const layers = (query.layers?.split(',') as GeoJsonLayer[] | undefined) ?? [...GEOJSON_LAYERS];
    await textDownload(res, 'application/geo+json; charset=utf-8', `incidents-${caseId}.geojson`, await this.exports.incidentsGeoJson(actor, caseId, layers));
  }

  @Get('cases/:caseId/casualties.csv')
  @Permit('records.export')
  @Endpoint({ summary: "The case's casualty records as RFC 4180 CSV", query: CasualtiesCsvQuery, produces: 'text/csv', problems: [404] })
  async casualtiesCsv(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuidParam('caseId')) caseId: string,
    @ValidQuery() query: z.output<typeof CasualtiesCsvQuery>,
    @Res() res: Response,
  ): Promise<void> {
    const csv = await this.exports.casualtiesCsv(actor, caseId, query.includeNames === 'true');
    await textDownload(res, 'text/csv; charset=utf-8; header=present', `casualties-${caseId}.csv`, csv);
  }

  @Get('incidents/:id')
  @Permit('incident.read')
  @Endpoint({ summary: 'One incident, with figures derived from its casualty records and its evidence links', response: Incident, problems: [404] })
  getIncident(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string): Promise<IncidentView> {
    return this.incidents.get(actor, id);
  }

  @Patch('incidents/:id')
  @Permit('incident.write')
  @Endpoint({
    summary: 'Amend an incident: fields given replace (null clears), `evidence` replaces its links; a reason is required',
    body: PatchIncidentBody,
    response: Incident,
    problems: [404, 409, 422],
  })
  amendIncident(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidBody() body: z.output<typeof PatchIncidentBody>): Promise<IncidentView> {
    return this.incidents.amend(actor, id, body);
  }

  @Post('incidents/:id/casualties')
  @Permit('casualty.write')
  @Endpoint({ summary: 'Record a casualty (a person, or a group); names are sealed at rest', body: CreateCasualtyBody, response: Casualty, status: 201, problems: [404, 422] })
  recordCasualty(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidBody() body: z.output<typeof CreateCasualtyBody>): Promise<CasualtyView> {
    return this.casualties.record(actor, id, body);
  }

  @Get('incidents/:id/casualties')
  @Permit('casualty.read')
  @Endpoint({ summary: "An incident's casualty records (names for investigators of the case only)", response: CasualtyList, problems: [404] })
  listCasualties(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string): Promise<{ items: CasualtyView[] }> {
    return this.casualties.list(actor, id);
  }

  @Patch('casualties/:id')
  @Permit('casualty.write')
  @Endpoint({ summary: 'Amend a casualty record: fields given replace (null clears); a reason is required', body: PatchCasualtyBody, response: Casualty, problems: [404, 422] })
  amendCasualty(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidBody() body: z.output<typeof PatchCasualtyBody>): Promise<CasualtyView> {
    return this.casualties.amend(actor, id, body);
  }

  @Post('incidents/:id/damage')
  @Permit('damage.write')
  @Endpoint({ summary: 'Record the damage to one object (one assessment, UNOSAT levels)', body: CreateDamageBody, response: Damage, status: 201, problems: [404, 422] })
  recordDamage(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidBody() body: z.output<typeof CreateDamageBody>): Promise<DamageView> {
    return this.damage.record(actor, id, body);
  }

  @Get('incidents/:id/damage')
  @Permit('damage.read')
  @Endpoint({ summary: "An incident's damage records", response: DamageList, problems: [404] })
  listDamage(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string): Promise<{ items: DamageView[] }> {
    return this.damage.list(actor, id);
  }

  @Patch('damage/:id')
  @Permit('damage.write')
  @Endpoint({ summary: 'Amend a damage record: fields given replace (null clears); a reason is required', body: PatchDamageBody, response: Damage, problems: [404, 422] })
  amendDamage(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidBody() body: z.output<typeof PatchDamageBody>): Promise<DamageView> {
    return this.damage.amend(actor, id, body);
  }
}

@ApiTags('records')
@ApiBearerAuth()
@Controller('vocabularies')
export class VocabulariesController {
  constructor(private readonly vocabularies: Vocabularies) {}

  @Get()
  @Permit('vocabularies.read')
  @Endpoint({ summary: 'Every controlled vocabulary with its terms (codes, en and uk labels, parent codes, deprecated flags)', response: z.array(Vocabulary) })
  listVocabularies(): Promise<Vocabulary[]> {
    return this.vocabularies.all();
  }

  @Get(':name')
  @Permit('vocabularies.read')
  @Endpoint({ summary: 'One controlled vocabulary with its terms', response: Vocabulary, problems: [400, 404] })
  getVocabulary(@Param('name') name: string): Promise<Vocabulary> {
    if (!/^[a-z_]{1,60}$/.test(name)) throw badRequest('Unknown vocabulary name', [{ field: 'name', message: 'must be a vocabulary name such as weapon_type' }]);
    return this.vocabularies.terms(name);
  }
}
