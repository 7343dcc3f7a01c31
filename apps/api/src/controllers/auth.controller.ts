import { Controller, Delete, Get, Param, Patch, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import {
  ApiToken,
  AuthService,
  ChangePasswordBody,
  CreateApiTokenBody,
  CreatedApiToken,
  CurrentActor,
  LoginBody,
  LoginResult,
  Me,
  MePreferencesBody,
  OpenWhilePasswordChangeDue,
  Permit,
  Public,
  type Actor,
} from '#custodia/auth';
import { z } from '#custodia/schema';
import { Endpoint, ValidBody } from '../http/endpoint.js';
import { uuidParam } from '../http/params.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @Public()
  @Endpoint({
    operationId: 'login',
    summary: 'Exchange an email and password for a session token',
    description: 'Failed logins slow later attempts for that account from that address (429 with Retry-After), never lock it for everyone.',
    body: LoginBody,
    response: LoginResult,
    problems: [401, 429],
  })
  login(@ValidBody() body: z.output<typeof LoginBody>, @Req() req: Request): Promise<LoginResult> {
    return this.auth.login(body.email, body.password, req.ip ?? 'unknown');
  }

  @Post('logout')
  @Permit('self')
  @OpenWhilePasswordChangeDue()
  @Endpoint({ operationId: 'logout', summary: 'End the session whose token makes this call', status: 204 })
  logout(@CurrentActor() actor: Actor): Promise<void> {
    return this.auth.logout(actor);
  }

  @Get('me')
  @Permit('self')
  @OpenWhilePasswordChangeDue()
  @Endpoint({ operationId: 'getMe', summary: 'The signed-in caller', response: Me })
  me(@CurrentActor() actor: Actor): z.output<typeof Me> {
    const { id, email, displayName, role } = actor;
    return { id, email, displayName, role, mustChangePassword: actor.mustChangePassword ?? false, language: actor.language ?? null };
  }

  /** The caller's own preferences; today the web console's language, so it follows them across devices. */
  @Patch('me')
  @Permit('self')
  @OpenWhilePasswordChangeDue()
  @Endpoint({ operationId: 'updateMe', summary: "Set the caller's own preferences (the console's language)", body: MePreferencesBody, status: 204 })
  async updateMe(@CurrentActor() actor: Actor, @ValidBody() body: z.output<typeof MePreferencesBody>): Promise<void> {
    await this.auth.setLanguage(actor, body.language);
  }

  /**
   * The caller changes their own password: a wrong current password answers 422 naming
   * `currentPassword` (and counts as a failed login from this address); the caller's other
   * sessions end, this one stays; device tokens stay. 409 when the password was changed (by an
   * administrator's reset, say) while this one was being checked.
   */
  @Post('password')
  @Permit('self')
  @OpenWhilePasswordChangeDue()
  @Endpoint({
    operationId: 'changeOwnPassword',
    summary: "Change the caller's password; their other sessions end",
    body: ChangePasswordBody,
    status: 204,
    problems: [409, 422, 429],
  })
  changePassword(@CurrentActor() actor: Actor, @ValidBody() body: z.output<typeof ChangePasswordBody>, @Req() req: Request): Promise<void> {
    return this.auth.changeOwnPassword(actor, body.currentPassword, body.newPassword, req.ip ?? 'unknown');
  }

  @Post('tokens')
  @Permit('self')
  @Endpoint({
    operationId: 'createApiToken',
    summary: 'A long-lived token for a capture device, acting as its owner (shown once)',
    body: CreateApiTokenBody,
    description: 'An account holds at most 100 live device tokens (409 beyond: revoke one first).',
    response: CreatedApiToken,
    status: 201,
    problems: [409, 422],
  })
  createToken(@CurrentActor() actor: Actor, @ValidBody() body: z.output<typeof CreateApiTokenBody>): Promise<z.output<typeof CreatedApiToken>> {
    return this.auth.createApiToken(actor, body.name, body.expiresAt === undefined ? undefined : new Date(body.expiresAt));
  }

  @Get('tokens')
  @Permit('self')
  @Endpoint({ operationId: 'listApiTokens', summary: "The caller's device tokens: the live ones, newest first, then the 100 that ended last (revoked or expired)", response: z.array(ApiToken) })
  listTokens(@CurrentActor() actor: Actor): Promise<z.output<typeof ApiToken>[]> {
    return this.auth.listApiTokens(actor);
  }

  @Delete('tokens/:id')
  @Permit('self')
  @Endpoint({
    operationId: 'revokeApiToken',
    summary: "Revoke one of the caller's device tokens (an administrator: anyone's)",
    status: 204,
    problems: [404],
  })
  revokeToken(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string): Promise<void> {
    return this.auth.revokeApiToken(actor, id);
  }
}
