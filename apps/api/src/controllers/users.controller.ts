import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Allow, CurrentActor, UsersService, type Actor } from '#custodia/auth';
import { uuidParam } from '../http/params.js';
import {
  CreateUserDto,
  RevokedTokensDto,
  RevokeTokensQuery,
  SetPasswordDto,
  UpdateUserDto,
  UserTokenDto,
  UserViewDto,
} from './dto.js';

/** Account administration; every change is a system event of the custody log. */
@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
@Allow('admin')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiCreatedResponse({ type: UserViewDto })
  create(@CurrentActor() actor: Actor, @Body() body: CreateUserDto): Promise<UserViewDto> {
    const { mustChange, ...input } = body;
    return this.users.create({ ...input, mustChangePassword: mustChange ?? false }, actor);
  }

  @Get()
  @ApiOkResponse({ type: [UserViewDto] })
  list(): Promise<UserViewDto[]> {
    return this.users.list();
  }

  @Patch(':id')
  @ApiOkResponse({ type: UserViewDto })
  update(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Body() body: UpdateUserDto): Promise<UserViewDto> {
    return this.users.update(actor, id, body);
  }

  @Post(':id/password')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Set; the user\'s sessions have ended (device tokens stay)' })
  setPassword(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Body() body: SetPasswordDto): Promise<void> {
    return this.users.setPassword(actor, id, body.password, body.mustChange ?? false);
  }

  @Get(':id/tokens')
  @Allow()
  @ApiOkResponse({ type: [UserTokenDto], description: 'For an administrator or the user themselves (others: 404)' })
  tokens(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string): Promise<UserTokenDto[]> {
    return this.users.tokens(actor, id);
  }

  @Delete(':id/tokens')
  @ApiOkResponse({ type: RevokedTokensDto, description: 'Every live session and device token of the user is revoked' })
  revokeTokens(
    @CurrentActor() actor: Actor,
    @Param('id', uuidParam('id')) id: string,
    @Query() query: RevokeTokensQuery,
  ): Promise<RevokedTokensDto> {
    return this.users.revokeAllTokens(actor, id, query.reason);
  }
}
