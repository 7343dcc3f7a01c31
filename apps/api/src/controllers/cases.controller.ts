import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Allow, CurrentActor, type Actor } from '#custodia/auth';
import { CasesService } from '#custodia/cases';
import { uuidParam as uuid } from '../http/params.js';
import { AddMemberDto, CaseDto, CaseMemberDto, CreateCaseDto } from './dto.js';

@ApiTags('cases')
@ApiBearerAuth()
@Controller('cases')
export class CasesController {
  constructor(private readonly cases: CasesService) {}

  @Post()
  @Allow('admin', 'investigator')
  @ApiCreatedResponse({ type: CaseDto })
  create(@CurrentActor() actor: Actor, @Body() body: CreateCaseDto): Promise<CaseDto> {
    return this.cases.create(actor, body);
  }

  @Get()
  @Allow()
  @ApiOkResponse({ type: [CaseDto] })
  list(@CurrentActor() actor: Actor): Promise<CaseDto[]> {
    return this.cases.listFor(actor);
  }

  @Get(':caseId')
  @Allow()
  @ApiOkResponse({ type: CaseDto })
  get(@CurrentActor() actor: Actor, @Param('caseId', uuid('caseId')) caseId: string): Promise<CaseDto> {
    return this.cases.getFor(actor, caseId);
  }

  @Get(':caseId/members')
  @Allow()
  @ApiOkResponse({ type: [CaseMemberDto] })
  members(@CurrentActor() actor: Actor, @Param('caseId', uuid('caseId')) caseId: string): Promise<CaseMemberDto[]> {
    return this.cases.members(actor, caseId);
  }

  @Post(':caseId/members')
  @Allow('admin', 'investigator')
  @ApiCreatedResponse({ type: CaseMemberDto })
  addMember(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuid('caseId')) caseId: string,
    @Body() body: AddMemberDto,
  ): Promise<CaseMemberDto> {
    return this.cases.addMember(actor, caseId, body);
  }

  @Delete(':caseId/members/:userId')
  @HttpCode(204)
  @Allow('admin', 'investigator')
  removeMember(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuid('caseId')) caseId: string,
    @Param('userId', uuid('userId')) userId: string,
  ): Promise<void> {
    return this.cases.removeMember(actor, caseId, userId);
  }
}
