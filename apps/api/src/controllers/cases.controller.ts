import { Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentActor, Permit, type Actor } from '#custodia/auth';
import { AddMemberBody, Case, CaseMember, CasesService, CreateCaseBody, type CaseMemberView, type CaseView } from '#custodia/cases';
import { z } from '#custodia/schema';
import { Endpoint, ValidBody } from '../http/endpoint.js';
import { uuidParam as uuid } from '../http/params.js';

@ApiTags('cases')
@ApiBearerAuth()
@Controller('cases')
export class CasesController {
  constructor(private readonly cases: CasesService) {}

  @Post()
  @Permit('case.create')
  @Endpoint({ operationId: 'createCase', summary: 'Open a case; its creator becomes a member', body: CreateCaseBody, response: Case, status: 201 })
  create(@CurrentActor() actor: Actor, @ValidBody() body: z.output<typeof CreateCaseBody>): Promise<CaseView> {
    return this.cases.create(actor, body);
  }

  @Get()
  @Permit('case.read')
  @Endpoint({ operationId: 'listCases', summary: "The caller's cases (every case, for administrators)", response: z.array(Case) })
  list(@CurrentActor() actor: Actor): Promise<CaseView[]> {
    return this.cases.listFor(actor);
  }

  @Get(':caseId')
  @Permit('case.read')
  @Endpoint({ operationId: 'getCase', summary: 'One case', response: Case, problems: [404] })
  get(@CurrentActor() actor: Actor, @Param('caseId', uuid('caseId')) caseId: string): Promise<CaseView> {
    return this.cases.getFor(actor, caseId);
  }

  @Get(':caseId/members')
  @Permit('case.members.read')
  @Endpoint({ operationId: 'listCaseMembers', summary: "The case's members (emails for administrators and investigators only)", response: z.array(CaseMember), problems: [404] })
  members(@CurrentActor() actor: Actor, @Param('caseId', uuid('caseId')) caseId: string): Promise<CaseMemberView[]> {
    return this.cases.members(actor, caseId);
  }

  @Post(':caseId/members')
  @Permit('case.members.manage')
  @Endpoint({ operationId: 'addCaseMember', summary: 'Add a member by user id or email', body: AddMemberBody, response: CaseMember, status: 201, problems: [404, 409, 422] })
  addMember(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuid('caseId')) caseId: string,
    @ValidBody() body: z.output<typeof AddMemberBody>,
  ): Promise<CaseMemberView> {
    return this.cases.addMember(actor, caseId, body);
  }

  @Delete(':caseId/members/:userId')
  @Permit('case.members.manage')
  @Endpoint({ operationId: 'removeCaseMember', summary: 'Remove a member', status: 204, problems: [404] })
  removeMember(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuid('caseId')) caseId: string,
    @Param('userId', uuid('userId')) userId: string,
  ): Promise<void> {
    return this.cases.removeMember(actor, caseId, userId);
  }
}
