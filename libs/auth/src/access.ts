import {
  applyDecorators,
  BadRequestException,
  createParamDecorator,
  ForbiddenException,
  Inject,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiExtension, ApiQuery } from '@nestjs/swagger';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { unknownParameters } from '#custodia/errors';
import { AuthService } from './auth.service.js';
import { DownloadLinks } from './download-links.js';
import { rolesFor, type Purpose } from './policy.js';
import { ROLES, type Actor, type Role } from './roles.js';

const ACCESS_RULE = 'custodia:access';
const OPEN_WHILE_PASSWORD_CHANGE_DUE = 'custodia:open-while-password-change-due';
const BY_DOWNLOAD_LINK = 'custodia:by-download-link';

type AccessRule = { kind: 'public' } | { kind: 'public-log' } | { kind: 'roles'; roles: readonly Role[] };

/** Anyone may call this route, signed in or not. */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ACCESS_RULE, { kind: 'public' } satisfies AccessRule), ApiExtension('x-custodia-access', 'public'));

/**
 * The custody log's public face (tree heads, keys, leaf hashes, proofs): open to anyone, as
 * Certificate Transparency logs are, unless CUSTODIA_PUBLIC_LOG=false, then to any signed-in user.
 * Both mark the OpenAPI operation (`x-custodia-access`), so the document lists no security for it.
 */
export const PublicLog = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ACCESS_RULE, { kind: 'public-log' } satisfies AccessRule), ApiExtension('x-custodia-access', 'public-log'));

/** Signed-in callers with one of these global roles may call this route (any role when none is named). */
export const Allow = (...roles: Role[]): MethodDecorator & ClassDecorator =>
  SetMetadata(ACCESS_RULE, { kind: 'roles', roles: roles.length ? roles : ROLES } satisfies AccessRule);

/**
 * Signed-in callers whose role may do `purpose` somewhere (policy.ts) may call this route; the
 * service then applies the purpose's scope (membership, own items). The purpose is written into
 * the OpenAPI operation as `x-custodia-purpose`, so the role x route matrix test reads the
 * expected answers from the document itself.
 */
export const Permit = (purpose: Purpose): MethodDecorator =>
  applyDecorators(SetMetadata(ACCESS_RULE, { kind: 'roles', roles: rolesFor(purpose) } satisfies AccessRule), ApiExtension('x-custodia-purpose', purpose));

/**
 * One of the few routes a user whose password must be changed may still call (changing it,
 * `GET /auth/me`, logout); every other route answers 403 until they change it.
 */
export const OpenWhilePasswordChangeDue = (): MethodDecorator => SetMetadata(OPEN_WHILE_PASSWORD_CHANGE_DUE, true);

/**
 * A file download a browser may also follow as a one-time link (`?link=`, from
 * `POST /auth/download-links`) in place of the Authorization header: the link acts as the caller who
 * asked for it, and this route's own rule and scope apply as for them.
 */
export const ByDownloadLink = (): MethodDecorator =>
  applyDecorators(
    SetMetadata(BY_DOWNLOAD_LINK, true),
    ApiQuery({
      name: 'link',
      required: false,
      schema: { type: 'string', pattern: '^cdl_[A-Za-z0-9_-]{43}$' },
      description: 'A one-time download link from POST /auth/download-links, for a browser that cannot send the Authorization header (used up when followed; lasts a minute)',
    }),
  );

/** Whether the route takes a one-time download link (`link`, its only query parameter). */
export const takesDownloadLink = (reflector: Reflector, handler: object): boolean => reflector.get<boolean | undefined>(BY_DOWNLOAD_LINK, handler as never) === true;

/** The message of the 403 a user with a password to change gets everywhere else. */
export const PASSWORD_CHANGE_DUE = 'Change your password first (POST /auth/password)';

interface RequestWithActor {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
  query?: Record<string, unknown>;
  originalUrl?: string;
  url?: string;
  actor?: Actor;
}

/** The signed-in caller of a route guarded by `@Allow`. */
export const CurrentActor = createParamDecorator((_: unknown, context: ExecutionContext): Actor => {
  const actor = context.switchToHttp().getRequest<RequestWithActor>().actor;
  if (!actor) throw new UnauthorizedException('Sign in first');
  return actor;
});

/** The route's declared access rule, or undefined when it declares none. */
export function accessRuleOf(reflector: Reflector, handler: object, controller: object): AccessRule | undefined {
  return reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [handler as never, controller as never]);
}

/**
 * The global guard: a route is denied unless it declares who may call it (`@Public` or
 * `@Allow`), so a forgotten decorator fails closed. A user whose password an administrator
 * set with `mustChange` gets 403 everywhere but `@OpenWhilePasswordChangeDue` routes.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
    private readonly links: DownloadLinks,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = accessRuleOf(this.reflector, context.getHandler(), context.getClass());
    if (!rule) throw new ForbiddenException('This route declares no access rule and is closed');
    if (rule.kind === 'public' || (rule.kind === 'public-log' && this.config.publicLog)) return true;
    const roles = rule.kind === 'roles' ? rule.roles : ROLES;
    const request = context.switchToHttp().getRequest<RequestWithActor>();
    const header = request.headers['authorization'];
    // A link opens a GET only: a HEAD first (a download manager's, a scanner's) would use it up.
    const link = header === undefined && request.method === 'GET' && takesDownloadLink(this.reflector, context.getHandler()) ? request.query?.['link'] : undefined;
    let actor: Actor | null;
    if (link !== undefined) {
      if (typeof link !== 'string') throw new BadRequestException('Give one download link');
      // Refused before the link is used up, as the route's check of parameters would refuse it after.
      const others = Object.keys(request.query ?? {}).filter((name) => name !== 'link');
      if (others.length) throw unknownParameters('A download link comes alone: this operation takes no other query parameter', others);
      actor = await this.links.redeem(link, (request.originalUrl ?? request.url ?? '').split('?')[0]!);
      if (!actor) throw new UnauthorizedException('The download link is unknown, used, expired or made for another file; ask for a new one');
    } else {
      const match = typeof header === 'string' ? /^Bearer +([^\s]+)$/i.exec(header.trim()) : null;
      if (!match) throw new UnauthorizedException('Send a bearer token in the Authorization header');
      actor = await this.auth.authenticate(match[1]!);
      if (!actor) throw new UnauthorizedException('The token is unknown, expired or revoked');
    }
    request.actor = actor;
    if (actor.mustChangePassword && !this.reflector.get<boolean | undefined>(OPEN_WHILE_PASSWORD_CHANGE_DUE, context.getHandler())) {
      throw new ForbiddenException(PASSWORD_CHANGE_DUE);
    }
    if (!roles.includes(actor.role)) throw new ForbiddenException(`The ${actor.role} role may not do this`);
    return true;
  }
}
