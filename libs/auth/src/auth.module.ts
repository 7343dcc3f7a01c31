import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessGuard } from './access.js';
import { AuthService } from './auth.service.js';
import { UsersService } from './users.service.js';

/** Accounts, tokens and the global access guard. */
@Module({
  providers: [AuthService, UsersService, { provide: APP_GUARD, useClass: AccessGuard }],
  exports: [AuthService, UsersService],
})
export class AuthModule {}
