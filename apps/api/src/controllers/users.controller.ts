import { Controller, Delete, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  AuthService,
  CreateApiTokenBody,
  CreatedApiToken,
  CreateUserBody,
  CurrentActor,
  Permit,
  RevokedTokens,
  RevokeTokensQuery,
  SetPasswordBody,
  UpdateUserBody,
  User,
  UsersService,
  UserToken,
  type Actor,
  type UserView,
} from '#custodia/auth';
import { z } from '#custodia/schema';
import { Endpoint, ValidBody, ValidQuery } from '../http/endpoint.js';
import { uuidParam } from '../http/params.js';

/** Account administration; every change is a system event of the custody log. */
@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly auth: AuthService,
  ) {}

  @Post()
  @Permit('users.manage')
  @Endpoint({ operationId: 'createUser', summary: 'Create an account (recorded as user.created)', body: CreateUserBody, response: User, status: 201, problems: [409] })
  create(@CurrentActor() actor: Actor, @ValidBody() body: z.output<typeof CreateUserBody>): Promise<UserView> {
    const { mustChange, ...input } = body;
    return this.users.create({ ...input, mustChangePassword: mustChange ?? false }, actor);
  }

  @Get()
  @Permit('users.manage')
  @Endpoint({ operationId: 'listUsers', summary: 'Every account, oldest first', response: z.array(User) })
  list(): Promise<UserView[]> {
    return this.users.list();
  }

  @Patch(':id')
  @Permit('users.manage')
  @Endpoint({
    operationId: 'updateUser',
    summary: "Change a user's display name, role or disabled state, saying why",
    description: 'Disabling ends every session and device token of the user at once. A change that would leave no active administrator is refused (409).',
    body: UpdateUserBody,
    response: User,
    problems: [404, 409, 422],
  })
  update(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidBody() body: z.output<typeof UpdateUserBody>): Promise<UserView> {
    return this.users.update(actor, id, body);
  }

  @Post(':id/password')
  @Permit('users.manage')
  @Endpoint({
    operationId: 'setUserPassword',
    summary: "Set a user's password; their sessions end (device tokens stay)",
    body: SetPasswordBody,
    status: 204,
    problems: [404],
  })
  setPassword(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidBody() body: z.output<typeof SetPasswordBody>): Promise<void> {
    return this.users.setPassword(actor, id, body.password, body.mustChange ?? false);
  }

  @Get(':id/tokens')
  @Permit('self')
  @Endpoint({
    operationId: 'listUserTokens',
    summary: "A user's sessions and device tokens: the live ones (at most 200), newest first, then the 100 that ended last; for an administrator or the user (others: 404)",
    response: z.array(UserToken),
    problems: [404],
  })
  tokens(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string): Promise<z.output<typeof UserToken>[]> {
    return this.users.tokens(actor, id);
  }

  @Post(':id/tokens')
  @Permit('users.manage')
  @Endpoint({
    operationId: 'issueUserToken',
    summary: 'Issue a device token for a user, acting as them (shown once; recorded as tokens.created)',
    description: 'What POST /auth/tokens does for the caller, done by an administrator for another account (a phone handed out set up). 409 for a disabled account or one holding 100 live device tokens.',
    body: CreateApiTokenBody,
    response: CreatedApiToken,
    status: 201,
    problems: [404, 409, 422],
  })
  issueToken(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidBody() body: z.output<typeof CreateApiTokenBody>): Promise<z.output<typeof CreatedApiToken>> {
    return this.auth.issueApiToken(actor, id, body.name, body.expiresAt === undefined ? undefined : new Date(body.expiresAt));
  }

  @Delete(':id/tokens')
  @Permit('users.manage')
  @Endpoint({
    operationId: 'revokeUserTokens',
    summary: 'Revoke every live session and device token of a user at once (a phone was seized)',
    query: RevokeTokensQuery,
    response: RevokedTokens,
    problems: [404],
  })
  revokeTokens(
    @CurrentActor() actor: Actor,
    @Param('id', uuidParam('id')) id: string,
    @ValidQuery() query: z.output<typeof RevokeTokensQuery>,
  ): Promise<RevokedTokens> {
    return this.users.revokeAllTokens(actor, id, query.reason);
  }
}
