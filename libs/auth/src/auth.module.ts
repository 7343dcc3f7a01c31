import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CustodyModule } from '#custodia/custody';
import { AccessGuard } from './access.js';
import { AuthService } from './auth.service.js';
import { DownloadLinks } from './download-links.js';
import { TokenCache } from './token-cache.js';
import { UsersService } from './users.service.js';

/** Accounts, tokens and the global access guard; account changes are custody events. */
@Module({
  imports: [CustodyModule],
  providers: [AuthService, UsersService, TokenCache, DownloadLinks, { provide: APP_GUARD, useClass: AccessGuard }],
  exports: [AuthService, UsersService, TokenCache, DownloadLinks],
})
export class AuthModule {}
