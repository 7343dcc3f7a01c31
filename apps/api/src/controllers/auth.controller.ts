import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiCreatedResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Allow, AuthService, CurrentActor, Public, type Actor } from '#custodia/auth';
import { uuidParam } from '../http/params.js';
import { ApiTokenDto, CreateApiTokenDto, CreatedApiTokenDto, LoginDto, LoginResultDto, UserDto } from './dto.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @HttpCode(200)
  @Public()
  @ApiOkResponse({ type: LoginResultDto })
  login(@Body() body: LoginDto, @Req() req: Request): Promise<LoginResultDto> {
    return this.auth.login(body.email, body.password, req.ip ?? 'unknown');
  }

  @Post('logout')
  @HttpCode(204)
  @Allow()
  @ApiBearerAuth()
  logout(@CurrentActor() actor: Actor): Promise<void> {
    return this.auth.logout(actor);
  }

  @Get('me')
  @Allow()
  @ApiBearerAuth()
  @ApiOkResponse({ type: UserDto })
  me(@CurrentActor() actor: Actor): UserDto {
    return { id: actor.id, email: actor.email, displayName: actor.displayName, role: actor.role };
  }

  @Post('tokens')
  @Allow()
  @ApiBearerAuth()
  @ApiCreatedResponse({ type: CreatedApiTokenDto })
  createToken(@CurrentActor() actor: Actor, @Body() body: CreateApiTokenDto): Promise<CreatedApiTokenDto> {
    return this.auth.createApiToken(actor, body.name, body.expiresAt);
  }

  @Get('tokens')
  @Allow()
  @ApiBearerAuth()
  @ApiOkResponse({ type: [ApiTokenDto] })
  listTokens(@CurrentActor() actor: Actor): Promise<ApiTokenDto[]> {
    return this.auth.listApiTokens(actor);
  }

  @Delete('tokens/:id')
  @HttpCode(204)
  @Allow()
  @ApiBearerAuth()
  revokeToken(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string): Promise<void> {
    return this.auth.revokeApiToken(actor, id);
  }
}
