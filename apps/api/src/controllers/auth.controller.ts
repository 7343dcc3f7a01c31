import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiCreatedResponse, ApiNoContentResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Allow, AuthService, CurrentActor, OpenWhilePasswordChangeDue, Public, type Actor } from '#custodia/auth';
import { uuidParam } from '../http/params.js';
import { ApiTokenDto, ChangePasswordDto, CreateApiTokenDto, CreatedApiTokenDto, LoginDto, LoginResultDto, UserDto } from './dto.js';

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
  @OpenWhilePasswordChangeDue()
  @ApiBearerAuth()
  logout(@CurrentActor() actor: Actor): Promise<void> {
    return this.auth.logout(actor);
  }

  @Get('me')
  @Allow()
  @OpenWhilePasswordChangeDue()
  @ApiBearerAuth()
  @ApiOkResponse({ type: UserDto })
  me(@CurrentActor() actor: Actor): UserDto {
    const { id, email, displayName, role } = actor;
    return { id, email, displayName, role, mustChangePassword: actor.mustChangePassword ?? false };
  }

  /**
   * The caller changes their own password: a wrong current password answers 422 naming
   * `currentPassword` (and counts as a failed login from this address); the caller's other
   * sessions end, this one stays; device tokens stay.
   */
  @Post('password')
  @HttpCode(204)
  @Allow()
  @OpenWhilePasswordChangeDue()
  @ApiBearerAuth()
  @ApiNoContentResponse({ description: 'Changed; the caller\'s other sessions have ended' })
  changePassword(@CurrentActor() actor: Actor, @Body() body: ChangePasswordDto, @Req() req: Request): Promise<void> {
    return this.auth.changeOwnPassword(actor, body.currentPassword, body.newPassword, req.ip ?? 'unknown');
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
