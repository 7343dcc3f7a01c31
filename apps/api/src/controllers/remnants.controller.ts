import { Controller, Get, Param, Patch, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentActor, Permit, type Actor } from '#custodia/auth';
import {
  CreateRemnantBody,
  PatchRemnantBody,
  RecordExports,
  Remnant,
  RemnantCustody,
  RemnantList,
  RemnantPage,
  RemnantQuery,
  RemnantsService,
  SerialAnalysis,
  SerialsQuery,
  TransferRemnantBody,
  type RemnantCustody as RemnantCustodyView,
  type RemnantPage as RemnantPageView,
  type RemnantView,
  type SerialAnalysis as SerialAnalysisView,
} from '#custodia/records';
import type { z } from '#custodia/schema';
import { textDownload } from '../http/download.js';
import { Endpoint, ValidBody, ValidQuery } from '../http/endpoint.js';
import { uuidParam } from '../http/params.js';

/** Munition remnants (issue 14): records, the object's hand-overs, search, serial analysis, CSV. */
@ApiTags('records')
@ApiBearerAuth()
@Controller()
export class RemnantsController {
  constructor(
    private readonly remnants: RemnantsService,
    private readonly exports: RecordExports,
  ) {}

  @Post('incidents/:id/remnants')
  @Permit('remnant.report')
  @Endpoint({
    summary: 'Record a munition remnant found at an incident (a documenter’s starts as reported, on an incident they reported); the serial is parsed where a known scheme applies',
    body: CreateRemnantBody,
    response: Remnant,
    status: 201,
    problems: [403, 404, 422],
  })
  recordRemnant(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidBody() body: z.output<typeof CreateRemnantBody>): Promise<RemnantView> {
    return this.remnants.record(actor, id, body);
  }

  @Get('incidents/:id/remnants')
  @Permit('remnant.read')
  @Endpoint({ summary: "An incident's munition remnants (a documenter's: those they reported)", response: RemnantList, problems: [404] })
  listRemnants(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string): Promise<{ items: RemnantView[] }> {
    return this.remnants.list(actor, id);
  }

  @Get('remnants/:id')
  @Permit('remnant.read')
  @Endpoint({ summary: 'One munition remnant, with where the object has been kept', response: Remnant, problems: [404] })
  getRemnant(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string): Promise<RemnantView> {
    return this.remnants.get(actor, id);
  }

  @Patch('remnants/:id')
  @Permit('remnant.write')
  @Endpoint({ summary: 'Amend a munition remnant: fields given replace (null clears); a reason is required', body: PatchRemnantBody, response: Remnant, problems: [404, 422] })
  amendRemnant(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidBody() body: z.output<typeof PatchRemnantBody>): Promise<RemnantView> {
    return this.remnants.amend(actor, id, body);
  }

  @Post('remnants/:id/transfers')
  @Permit('remnant.write')
  @Endpoint({
    summary: 'Record a hand-over of the object itself (a remnant.transferred custody event); hand-overs are recorded in the order they happened',
    body: TransferRemnantBody,
    response: RemnantCustody,
    status: 201,
    problems: [404, 422],
  })
  transferRemnant(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidBody() body: z.output<typeof TransferRemnantBody>): Promise<RemnantCustodyView> {
    return this.remnants.transfer(actor, id, body);
  }

  @Get('remnants/:id/transfers')
  @Permit('remnant.custody')
  @Endpoint({ summary: "The object's chain of custody: who held it, where, from when, and its custody events (auditors too)", response: RemnantCustody, problems: [404] })
  remnantCustody(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string): Promise<RemnantCustodyView> {
    return this.remnants.custodyOf(actor, id);
  }

  @Get('cases/:caseId/remnants')
  @Permit('remnant.read')
  @Endpoint({ summary: "A case's munition remnants by weapon type, component, serial prefix and marking text, latest first", query: RemnantQuery, response: RemnantPage, problems: [404] })
  searchRemnants(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuidParam('caseId')) caseId: string,
    @ValidQuery() query: z.output<typeof RemnantQuery>,
  ): Promise<RemnantPageView> {
    return this.remnants.search(actor, caseId, query);
  }

  @Get('cases/:caseId/remnants/serials')
  @Permit('remnant.read')
  @Endpoint({
    summary: 'Per weapon type, serial scheme and series: the serial numbers seen over time and a production estimate (German tank, with its interval), as a whole and per month, with the method',
    query: SerialsQuery,
    response: SerialAnalysis,
    problems: [404],
  })
  remnantSerials(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuidParam('caseId')) caseId: string,
    @ValidQuery() query: z.output<typeof SerialsQuery>,
  ): Promise<SerialAnalysisView> {
    return this.remnants.serials(actor, caseId, query);
  }

  @Get('cases/:caseId/remnants.csv')
  @Permit('records.export')
  @Endpoint({ summary: "The case's munition remnants as RFC 4180 CSV, with who holds each object now", produces: 'text/csv', problems: [404] })
  async remnantsCsv(@CurrentActor() actor: Actor, @Param('caseId', uuidParam('caseId')) caseId: string, @Res() res: Response): Promise<void> {
    await textDownload(res, 'text/csv; charset=utf-8; header=present', `remnants-${caseId}.csv`, await this.exports.remnantsCsv(actor, caseId));
  }
}
